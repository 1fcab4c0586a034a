"""Anthropic Messages streams (``client.messages.create(stream=True)``).

Each content block is a message ``"{message id}:block{index}"``: ``text`` blocks carry
``text_delta`` text, ``tool_use`` blocks (also ``server_tool_use``/``mcp_tool_use``) carry
``input_json_delta.partial_json``.  ``content_block_stop`` ends a block (reason
``"complete"``; a tool block that streamed no JSON gets its start ``input``, usually
``{}``, as its one delta); ``message_stop`` ends the stream; ``error`` is a provider
error; ``ping``, thinking blocks, signatures and citations are ignored.  SDK events from
``create(stream=True)`` and from ``messages.stream()`` work (the helper's derived ``text``
and ``input_json`` events are ignored: the raw deltas beside them carry the same text).

Anthropic gives its ``stop_reason`` (``"tool_use"``, ``"max_tokens"``, ...) only in
``message_delta``, after the blocks have stopped; it is kept in :attr:`stop_reason`.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from .base import Adapter, new_delta, text_of
from .items import Item

__all__ = ["AnthropicAdapter"]


class AnthropicAdapter(Adapter):
    """Messages API events (SSE bytes or SDK ``RawMessageStreamEvent``) into items."""

    format = "anthropic"
    terminal = "message_stop"
    exact_if = ('"input"',)  # a tool block's start input may be sent on as text
    projection: ClassVar[dict[str, Any]] = {
        "type": None,
        "index": None,
        "message": {"id": None},
        "content_block": {"type": None, "name": None, "id": None, "text": None, "input": None},
        "delta": {"type": None, "text": None, "partial_json": None, "stop_reason": None},
        "error": None,
    }
    hot: ClassVar[tuple[dict[str, Any], ...]] = (
        # a tool's next JSON fragment, and a text block's next piece
        {
            "type": "content_block_delta",
            "index": ...,
            "delta": {"type": "input_json_delta", "partial_json": ...},
        },
        {"type": "content_block_delta", "index": ..., "delta": {"type": "text_delta", "text": ...}},
    )

    def __init__(self, *, fallback_id: str | None = None) -> None:
        super().__init__(fallback_id=fallback_id)
        self.message_id: str | None = None
        self.stop_reason: str | None = None
        self._inputs: dict[str, Any] = {}  # tool block msg_id -> its start ``input``
        self._names: dict[tuple[str, int], str] = {}  # (message id, index) -> msg_id

    def _on_hot(self, caps: tuple[Any, ...], event: str, out: list[Item]) -> None:
        _, index, text = caps
        if index.__class__ is int and text.__class__ is str:
            mid = self.message_id or self.fallback_id
            msg_id = self._names.get((mid, index))
            if msg_id is None:
                msg_id = self._names[mid, index] = f"{mid}:block{index}"
            if text and msg_id in self._open:
                self._open[msg_id] += len(text)
                out.append(new_delta(msg_id, text))
            return
        super()._on_hot(caps, event, out)

    def _on_chunk(self, obj: dict[str, Any], event: str | None, out: list[Item]) -> None:
        kind = obj.get("type") or event or ""
        if kind == "message_start":
            message = obj.get("message") or {}
            self.message_id = self.message_id or message.get("id")
        elif kind == "content_block_start":
            block = obj.get("content_block") or {}
            btype = str(block.get("type") or "")
            msg_id = self._block_id(obj)
            if btype == "text":
                if self._start(out, msg_id, "text", **self._meta(obj)):
                    self._delta(out, msg_id, block.get("text"))
            elif btype.endswith("tool_use"):
                meta = self._meta(obj)
                name = block.get("name")
                if self._start(out, msg_id, "tool_call", name, tool_use_id=block.get("id"), **meta):
                    self._inputs[msg_id] = block.get("input")
        elif kind == "content_block_delta":
            delta = obj.get("delta") or {}
            dtype = delta.get("type")
            if dtype == "text_delta":
                self._delta(out, self._block_id(obj), delta.get("text"))
            elif dtype == "input_json_delta":
                self._delta(out, self._block_id(obj), delta.get("partial_json"))
        elif kind == "content_block_stop":
            msg_id = self._block_id(obj)
            if msg_id in self._inputs and self._open.get(msg_id) == 0:
                start_input = self._inputs[msg_id] or {}
                self._delta(out, msg_id, json.dumps(start_input, ensure_ascii=False))
            self._inputs.pop(msg_id, None)
            self._end(out, msg_id, "complete")
        elif kind == "message_delta":
            delta = obj.get("delta") or {}
            self.stop_reason = text_of(delta.get("stop_reason")) or self.stop_reason
        elif kind == "message_stop":
            self.finished = True
            self._end_all(out, self.stop_reason or "complete")
        elif kind == "error":
            error = obj.get("error") or {}
            message = error.get("message") or "provider error"
            etype = error.get("type")
            self._fail(out, f"{etype}: {message}" if etype else str(message))

    def _block_id(self, obj: dict[str, Any]) -> str:
        return f"{self.message_id or self.fallback_id}:block{int(obj.get('index') or 0)}"

    def _meta(self, obj: dict[str, Any]) -> dict[str, Any]:
        return {"message_id": self.message_id, "block_index": int(obj.get("index") or 0)}
