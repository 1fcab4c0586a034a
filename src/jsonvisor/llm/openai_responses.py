"""OpenAI Responses API streams (``client.responses.create(stream=True)``).

Text parts (``response.output_text.delta``) go to ``"{response id}:out{output_index}:part
{content_index}"`` and function-call arguments (``response.function_call_arguments.delta``)
to ``"{response id}:out{output_index}"``.  The matching ``.done`` event ends a message
(anything its full text has beyond the deltas is sent first); ``response.completed`` ends
the stream, ``response.incomplete`` ends what is open with its reason (for example
``"max_output_tokens"``), ``response.failed`` and ``error`` are provider errors.  Other
events (reasoning, refusals, built-in tools) are ignored.

A response cut short by ``max_output_tokens`` still sends each item's ``.done`` events first,
so the messages it holds end with ``"complete"``; only the ``response.incomplete`` after them
says why the response stopped.  That reason is kept in :attr:`OpenAIResponsesAdapter.
stop_reason` (``None`` while the response has not ended that way), as Anthropic's is in
``AnthropicAdapter.stop_reason``: read it once the stream has ended to know whether a message
that ended ``"complete"`` belongs to a response that was cut.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from .base import NO_OBJECT, Adapter, get_int, get_obj, get_str, new_delta
from .items import Item

__all__ = ["OpenAIResponsesAdapter"]

_STARTED = ("response.created", "response.in_progress", "response.queued")


class OpenAIResponsesAdapter(Adapter):
    """Responses API events (SSE bytes or SDK ``ResponseStreamEvent``) into items."""

    format = "openai-responses"
    terminal = "response.completed"
    projection: ClassVar[dict[str, Any]] = {
        "type": None,
        "response": {"id": None, "error": None, "incomplete_details": None},
        "item": {"type": None, "arguments": None, "name": None, "id": None, "call_id": None},
        "part": {"type": None, "text": None},
        "output_index": None,
        "content_index": None,
        "item_id": None,
        "delta": None,
        "text": None,
        "arguments": None,
        "name": None,
        "error": None,
        "message": None,  # an ``error`` event's own fields
        "code": None,
    }
    hot: ClassVar[tuple[dict[str, Any], ...]] = (
        # a function call's next arguments, and a text part's next piece
        {
            "type": "response.function_call_arguments.delta",
            "output_index": ...,
            "item_id": (...,),
            "delta": ...,
        },
        {
            "type": "response.output_text.delta",
            "output_index": ...,
            "content_index": (...,),
            "item_id": (...,),
            "delta": ...,
        },
    )

    def __init__(self, *, fallback_id: str | None = None) -> None:
        super().__init__(fallback_id=fallback_id)
        self.response_id: str | None = None
        #: Why the response ended short (``response.incomplete``'s reason, e.g.
        #: ``"max_output_tokens"``); None unless it did.
        self.stop_reason: str | None = None
        # (response id, output index, content index or None for a call) -> msg_id
        self._names: dict[tuple[str, int, int | None], str] = {}

    def _on_hot(self, caps: tuple[Any, ...], event: str, out: list[Item]) -> None:
        if caps[0] == 0:
            _, oi, _, text = caps
            ci = None
        else:
            _, oi, ci, _, text = caps
            if ci is None:
                ci = 0
        if oi.__class__ is int and (ci is None or ci.__class__ is int) and text.__class__ is str:
            rid = self.response_id or self.fallback_id
            msg_id = self._names.get((rid, oi, ci))
            if msg_id is None:
                tail = "" if ci is None else f":part{ci}"
                msg_id = self._names[rid, oi, ci] = f"{rid}:out{oi}{tail}"
            if msg_id in self._open:
                if text:
                    self._open[msg_id] += len(text)
                    out.append(new_delta(msg_id, text))
                return
        super()._on_hot(caps, event, out)

    def _rid(self) -> str:
        return self.response_id or self.fallback_id

    def _on_chunk(self, obj: dict[str, Any], event: str | None, out: list[Item]) -> None:
        kind = get_str(obj, "type") or event or ""
        if kind in _STARTED:
            if self.response_id is None:
                self.response_id = get_str(get_obj(obj, "response"), "id", "response")
        elif kind == "response.output_item.added":
            item = get_obj(obj, "item")
            if get_str(item, "type", "item") == "function_call":
                msg_id = self._call(out, obj, item)
                self._delta(out, msg_id, get_str(item, "arguments", "item"))
        elif kind == "response.content_part.added":
            part = get_obj(obj, "part")
            if get_str(part, "type", "part") == "output_text":
                self._delta(out, self._text(out, obj), get_str(part, "text", "part"))
        elif kind == "response.output_text.delta":
            self._delta(out, self._text(out, obj), get_str(obj, "delta"))
        elif kind == "response.output_text.done":
            msg_id = self._text(out, obj)
            self._top_up(out, msg_id, get_str(obj, "text"))
            self._end(out, msg_id, "complete")
        elif kind == "response.function_call_arguments.delta":
            self._delta(out, self._call(out, obj, NO_OBJECT), get_str(obj, "delta"))
        elif kind in ("response.function_call_arguments.done", "response.output_item.done"):
            item = get_obj(obj, "item")
            if kind == "response.output_item.done" and get_str(item, "type", "item") != (
                "function_call"
            ):
                return
            msg_id = self._call(out, obj, item)
            full = get_str(obj, "arguments") or get_str(item, "arguments", "item")
            self._top_up(out, msg_id, full)
            self._end(out, msg_id, "complete")
        elif kind == "response.completed":
            self.finished = True
            self._end_all(out, "complete")
        elif kind == "response.incomplete":
            response = get_obj(obj, "response")
            details = get_obj(response, "incomplete_details", "response")
            reason = get_str(details, "reason", "response", "incomplete_details")
            self.finished = True
            self.stop_reason = reason or "incomplete"
            self._end_all(out, self.stop_reason)
        elif kind == "response.failed":
            error = get_obj(obj, "response").get("error") or {}
            self._fail(out, _message(error, "response failed"))
        elif kind == "error":
            self._fail(out, _message(obj.get("error") or obj, "provider error"))

    def _text(self, out: list[Item], obj: Mapping[str, Any]) -> str:
        oi, ci = get_int(obj, "output_index"), get_int(obj, "content_index")
        msg_id = f"{self._rid()}:out{oi}:part{ci}"
        if msg_id not in self._open:  # (ids are only read for a message's start)
            self._start(
                out,
                msg_id,
                "text",
                response_id=self._rid(),
                item_id=get_str(obj, "item_id"),
                output_index=oi,
                content_index=ci,
            )
        return msg_id

    def _call(self, out: list[Item], obj: Mapping[str, Any], item: Mapping[str, Any]) -> str:
        oi = get_int(obj, "output_index")
        msg_id = f"{self._rid()}:out{oi}"
        if msg_id not in self._open:  # (names and ids are only read for a message's start)
            self._start(
                out,
                msg_id,
                "tool_call",
                get_str(item, "name", "item") or get_str(obj, "name"),
                response_id=self._rid(),
                item_id=get_str(obj, "item_id") or get_str(item, "id", "item"),
                call_id=get_str(item, "call_id", "item"),
                output_index=oi,
            )
        return msg_id


def _message(error: Any, default: str) -> str:
    if not isinstance(error, dict):
        return str(error) if error else default
    message = error.get("message") or default
    code = error.get("code") or error.get("type")
    if code == "error":
        code = None
    return f"{code}: {message}" if code else str(message)
