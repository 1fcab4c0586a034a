"""OpenAI Chat Completions streams (``stream=True``), and compatible servers.

Each ``choices[i].delta.content`` goes to the message ``"{id}:choice{i}:content"``; each
``choices[i].delta.tool_calls[j]`` to ``"{id}:choice{i}:tool{index}"``, keyed by the tool
call's ``index`` (only the first fragment carries its ``id`` and ``function.name``; the
fragments of parallel calls may interleave).  ``finish_reason`` ends a choice's messages;
a usage chunk with empty ``choices`` is ignored; ``data: [DONE]`` ends the stream; a chunk
with an ``error`` object (or an ``error`` event) is a provider error.  SDK chunks from
``create(stream=True)`` work, and so do the events of ``chat.completions.stream()`` (its
``chunk`` events are read, the derived ones ignored).  A chunk holding a value of the wrong
JSON type where the adapter reads (``"choices": 5``, ``"delta": 5``, a string ``index``) is
a malformed event (see :meth:`~jsonvisor.llm.base.Adapter._malformed`).
"""

from __future__ import annotations

from typing import Any, ClassVar

from .base import (
    Adapter,
    Where,
    get_int,
    get_list,
    get_obj,
    get_str,
    need_obj,
    new_delta,
)
from .items import Item

__all__ = ["OpenAIChatAdapter"]


class OpenAIChatAdapter(Adapter):
    """Chat Completions chunks (SSE bytes or SDK ``ChatCompletionChunk``) into items."""

    format = "openai-chat"
    terminal = "data: [DONE]"
    sdk_sends_terminal = False  # the SDK consumes [DONE] and just stops
    projection: ClassVar[dict[str, Any]] = {
        "type": None,
        "chunk": None,
        "error": None,
        "message": None,  # an ``error`` event's own fields
        "code": None,
        "id": None,
        "choices": [
            {
                "index": None,
                "finish_reason": None,
                "delta": {
                    "content": None,
                    "tool_calls": [
                        {"index": None, "id": None, "function": {"name": None, "arguments": None}}
                    ],
                },
            }
        ],
    }

    hot: ClassVar[tuple[dict[str, Any], ...]] = (
        # 0: the next fragment of a tool call's arguments
        {
            "id": ...,
            "choices": [
                {
                    "index": ...,
                    "finish_reason": None,
                    "delta": {"tool_calls": [{"index": ..., "function": {"arguments": ...}}]},
                }
            ],
        },
        # 1: the next piece of a choice's text
        {"id": ..., "choices": [{"index": ..., "finish_reason": None, "delta": {"content": ...}}]},
    )

    def __init__(self, *, fallback_id: str | None = None) -> None:
        super().__init__(fallback_id=fallback_id)
        self.response_id: str | None = None
        # (response id, choice) -> {tool call id: index}, for servers that omit ``index``
        self._tool_ids: dict[tuple[str, int], dict[str, int]] = {}
        # (rid, choice, tool index or None for the text) -> msg_id
        self._names: dict[tuple[str, int, int | None], str] = {}

    def _on_hot(self, caps: tuple[Any, ...], event: str, out: list[Item]) -> None:
        rid = self.response_id
        if rid and event != "error":
            if caps[0] == 0:
                _, _, i, j, text = caps
                ok = j.__class__ is int
            else:
                _, _, i, text = caps
                j, ok = None, True
                if (text is None or text == "") and i.__class__ is int:
                    return  # an empty or null content: nothing to do
            if ok and i.__class__ is int and text.__class__ is str:
                msg_id = self._names.get((rid, i, j))
                if msg_id is not None and msg_id in self._open:
                    if text:
                        self._open[msg_id] += len(text)
                        out.append(new_delta(msg_id, text))
                    return
        super()._on_hot(caps, event, out)

    def _on_sse(self, event: str, data: str, out: list[Item]) -> None:
        if data.strip() == "[DONE]":
            self.finished = True
            self._end_all(out, "done")
            return
        super()._on_sse(event, data, out)

    def _on_chunk(self, obj: dict[str, Any], event: str | None, out: list[Item]) -> None:
        if obj.get("type") == "chunk" and isinstance(obj.get("chunk"), dict):
            obj = obj["chunk"]  # the SDK's ``chat.completions.stream()`` ChunkEvent
        error = obj.get("error")
        if error or event == "error":
            self._fail(out, _error_message(error if error else obj))
            return
        choices = get_list(obj, "choices")
        if self.response_id is None and (choices or obj.get("id")):
            self.response_id = get_str(obj, "id") or self.fallback_id
        rid = self.response_id or self.fallback_id
        for n, choice in enumerate(choices):
            choice = need_obj(choice, ("choices", n))
            i = get_int(choice, "index", "choices", n)
            delta = get_obj(choice, "delta", "choices", n)
            content = get_str(delta, "content", "choices", n, "delta")
            if content:
                prefix = f"{rid}:choice{i}"
                msg_id = f"{prefix}:content"
                self._names[rid, i, None] = msg_id
                if self._start(out, msg_id, "text", None, prefix, response_id=rid, choice_index=i):
                    self._delta(out, msg_id, content)
            calls = get_list(delta, "tool_calls", "choices", n, "delta")
            for k, call in enumerate(calls):
                self._tool_call(out, rid, i, call, ("choices", n, "delta", "tool_calls", k))
            reason = get_str(choice, "finish_reason", "choices", n)
            if reason:
                self._end_group(out, f"{rid}:choice{i}", reason)

    def _tool_call(self, out: list[Item], rid: str, i: int, call: Any, where: Where) -> None:
        """One ``tool_calls`` fragment: open its message if new, send its arguments."""
        call = need_obj(call, where)
        index = call.get("index")
        if index is not None and index.__class__ is not int:
            index = get_int(call, "index", *where)
        call_id = get_str(call, "id", *where)
        fn = get_obj(call, "function", *where)
        text = get_str(fn, "arguments", *where, "function")
        if index is not None and not call_id:
            # the hot path: a fragment of a call already started
            msg_id = self._names.get((rid, i, index))
            if msg_id is not None and msg_id in self._open:
                if text:
                    self._open[msg_id] += len(text)
                    out.append(new_delta(msg_id, text))
                return
        name = get_str(fn, "name", *where, "function")
        j = self._tool_index(rid, i, index, call_id)
        prefix = f"{rid}:choice{i}"
        msg_id = f"{prefix}:tool{j}"
        self._names[rid, i, j] = msg_id
        started = self._start(
            out,
            msg_id,
            "tool_call",
            name or None,
            prefix,
            response_id=rid,
            choice_index=i,
            tool_call_index=j,
            tool_call_id=call_id or None,
        )
        if started:
            self._delta(out, msg_id, text)

    def _tool_index(self, rid: str, choice: int, index: int | None, call_id: str | None) -> int:
        """The tool call's ``index``; by its ``id`` (or the latest call) if missing."""
        ids = self._tool_ids.setdefault((rid, choice), {})
        if index is None:
            if call_id in ids:
                index = ids[call_id]  # type: ignore[index]
            elif call_id:
                index = len(ids)
            else:
                index = max(ids.values(), default=0)
        if call_id and call_id not in ids:
            ids[call_id] = index
        return index


def _error_message(error: Any) -> str:
    if isinstance(error, dict):
        message = error.get("message") or error.get("error") or "provider error"
        if isinstance(message, dict):
            return _error_message(message)
        kind = error.get("type") or error.get("code")
        return f"{kind}: {message}" if kind and isinstance(kind, str) else str(message)
    return str(error)
