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

from collections.abc import Mapping
from typing import Any, ClassVar

from .base import Adapter, MalformedEvent, dumps_json, get_int, get_obj, get_str, new_delta
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
        self._inputs: dict[str, str] = {}  # tool block msg_id -> its start ``input``, as JSON
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
        kind = get_str(obj, "type") or event or ""
        if kind == "message_start":
            if self.message_id is None:
                self.message_id = get_str(get_obj(obj, "message"), "id", "message")
        elif kind == "content_block_start":
            block = get_obj(obj, "content_block")
            btype = get_str(block, "type", "content_block") or ""
            index = get_int(obj, "index")
            msg_id = self._block_id(index)
            meta = {"message_id": self.message_id, "block_index": index}
            if btype == "text":
                if self._start(out, msg_id, "text", **meta):
                    self._delta(out, msg_id, get_str(block, "text", "content_block"))
            elif btype.endswith("tool_use"):
                name = get_str(block, "name", "content_block")
                tool_id = get_str(block, "id", "content_block")
                start_input = block.get("input")
                if start_input is None:
                    start_input = {}
                elif not isinstance(start_input, Mapping):
                    raise MalformedEvent(("content_block", "input"), start_input, "an object")
                args = dumps_json(start_input, ("content_block", "input"))
                if self._start(out, msg_id, "tool_call", name, tool_use_id=tool_id, **meta):
                    self._inputs[msg_id] = args
        elif kind == "content_block_delta":
            delta = get_obj(obj, "delta")
            dtype = get_str(delta, "type", "delta")
            if dtype == "text_delta":
                text = get_str(delta, "text", "delta")
                self._delta(out, self._block_id(get_int(obj, "index")), text)
            elif dtype == "input_json_delta":
                text = get_str(delta, "partial_json", "delta")
                self._delta(out, self._block_id(get_int(obj, "index")), text)
        elif kind == "content_block_stop":
            msg_id = self._block_id(get_int(obj, "index"))
            args = self._inputs.pop(msg_id, None)
            if args is not None and self._open.get(msg_id) == 0:
                self._delta(out, msg_id, args)
            self._end(out, msg_id, "complete")
        elif kind == "message_delta":
            reason = get_str(get_obj(obj, "delta"), "stop_reason", "delta")
            self.stop_reason = reason or self.stop_reason
        elif kind == "message_stop":
            self.finished = True
            self._end_all(out, self.stop_reason or "complete")
        elif kind == "error":
            error = obj.get("error")
            if isinstance(error, Mapping):
                message = error.get("message") or "provider error"
                etype = error.get("type")
                self._fail(out, f"{etype}: {message}" if etype else str(message))
            else:
                self._fail(out, str(error) if error else "provider error")

    def _block_id(self, index: int) -> str:
        return f"{self.message_id or self.fallback_id}:block{index}"
