"""OpenAI Chat Completions streams (``stream=True``), and compatible servers.

Each ``choices[i].delta.content`` goes to the message ``"{id}:choice{i}:content"``; each
``choices[i].delta.tool_calls[j]`` to ``"{id}:choice{i}:tool{index}"``, keyed by the tool
call's ``index`` (only the first fragment carries its ``id`` and ``function.name``; the
fragments of parallel calls may interleave).  ``finish_reason`` ends a choice's messages;
a usage chunk with empty ``choices`` is ignored; ``data: [DONE]`` ends the stream; a chunk
with an ``error`` object (or an ``error`` event) is a provider error.  SDK chunks from
``create(stream=True)`` work, and so do the events of ``chat.completions.stream()`` (its
``chunk`` events are read, the derived ones ignored).
"""

from __future__ import annotations

from typing import Any

from .base import Adapter, text_of
from .items import Item

__all__ = ["OpenAIChatAdapter"]


class OpenAIChatAdapter(Adapter):
    """Chat Completions chunks (SSE bytes or SDK ``ChatCompletionChunk``) into items."""

    format = "openai-chat"
    terminal = "data: [DONE]"
    sdk_sends_terminal = False  # the SDK consumes [DONE] and just stops

    def __init__(self, *, fallback_id: str | None = None) -> None:
        super().__init__(fallback_id=fallback_id)
        self.response_id: str | None = None
        # (response id, choice) -> {tool call id: index}, for servers that omit ``index``
        self._tool_ids: dict[tuple[str, int], dict[str, int]] = {}

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
        if self.response_id is None and (obj.get("choices") or obj.get("id")):
            self.response_id = str(obj.get("id") or self.fallback_id)
        rid = self.response_id or self.fallback_id
        for choice in obj.get("choices") or ():
            i = int(choice.get("index") or 0)
            prefix = f"{rid}:choice{i}"
            delta = choice.get("delta") or {}
            content = delta.get("content")
            if content:
                msg_id = f"{prefix}:content"
                if self._start(out, msg_id, "text", None, prefix, response_id=rid, choice_index=i):
                    self._delta(out, msg_id, content)
            for call in delta.get("tool_calls") or ():
                j = self._tool_index(rid, i, call)
                fn = call.get("function") or {}
                msg_id = f"{prefix}:tool{j}"
                started = self._start(
                    out,
                    msg_id,
                    "tool_call",
                    fn.get("name") or None,
                    prefix,
                    response_id=rid,
                    choice_index=i,
                    tool_call_index=j,
                    tool_call_id=call.get("id") or None,
                )
                if started:
                    self._delta(out, msg_id, fn.get("arguments"))
            reason = text_of(choice.get("finish_reason"))
            if reason:
                self._end_group(out, prefix, reason)

    def _tool_index(self, rid: str, choice: int, call: dict[str, Any]) -> int:
        """The tool call's ``index``; by its ``id`` (or the latest call) if missing."""
        ids = self._tool_ids.setdefault((rid, choice), {})
        call_id = call.get("id")
        index = call.get("index")
        if index is None:
            if call_id in ids:
                index = ids[call_id]
            elif call_id:
                index = len(ids)
            else:
                index = max(ids.values(), default=0)
        if call_id and call_id not in ids:
            ids[call_id] = int(index)
        return int(index)


def _error_message(error: Any) -> str:
    if isinstance(error, dict):
        message = error.get("message") or error.get("error") or "provider error"
        if isinstance(message, dict):
            return _error_message(message)
        kind = error.get("type") or error.get("code")
        return f"{kind}: {message}" if kind and isinstance(kind, str) else str(message)
    return str(error)
