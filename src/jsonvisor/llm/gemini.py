"""Google Gemini streams (``streamGenerateContent?alt=sse``, or google-genai SDK chunks).

Each SSE data is a ``GenerateContentResponse``.  The text parts of candidate ``i`` go to
``"{responseId}:cand{i}:text"`` (thought parts are skipped) and the candidate's
``finishReason`` (``"STOP"``, ``"MAX_TOKENS"``, ``"SAFETY"``, ...) ends it.  A
``functionCall`` part arrives whole: it becomes its own message
``"{responseId}:cand{i}:call{k}"`` (``k`` counts the candidate's calls) with its ``args``
as one JSON delta, ended at once (reason ``"complete"``).  An ``error`` object, or a prompt
blocked with no candidates, is a provider error.  Both camelCase (REST) and snake_case
(SDK ``model_dump()``) keys are read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from .base import (
    Adapter,
    MalformedEvent,
    Where,
    dumps_json,
    get_bool,
    get_int,
    get_list,
    get_obj,
    get_str,
    need_obj,
    new_delta,
)
from .items import Item

__all__ = ["GeminiAdapter"]


def _key(obj: Mapping[str, Any], camel: str, snake: str) -> str:
    """The key ``obj`` uses: REST camelCase, or the SDK's snake_case."""
    return snake if obj.get(camel) is None and obj.get(snake) is not None else camel


class GeminiAdapter(Adapter):
    """``GenerateContentResponse`` chunks (SSE bytes or SDK objects) into items."""

    format = "gemini"
    terminal = None  # the stream simply ends after the last finishReason
    exact_if = ('"functionCall"', '"function_call"')  # its args are sent on as text
    projection: ClassVar[dict[str, Any]] = {
        "error": None,
        "responseId": None,
        "response_id": None,
        "candidates": [
            {
                "index": None,
                "content": {
                    "parts": [
                        {"thought": None, "text": None, "functionCall": None, "function_call": None}
                    ]
                },
                "finishReason": None,
                "finish_reason": None,
            }
        ],
        "promptFeedback": {"blockReason": None, "block_reason": None},
        "prompt_feedback": {"blockReason": None, "block_reason": None},
    }
    hot: ClassVar[tuple[dict[str, Any], ...]] = (
        # a candidate's next piece of text
        {
            "responseId": (...,),
            "candidates": [
                {
                    "index": (...,),
                    "content": {"parts": [{"text": ...}]},
                    "finishReason": None,
                    "finish_reason": None,
                }
            ],
        },
    )

    def __init__(self, *, fallback_id: str | None = None) -> None:
        super().__init__(fallback_id=fallback_id)
        self.response_id: str | None = None
        self._calls: dict[int, int] = {}  # candidate index -> function calls seen
        self._names: dict[tuple[str, int], str] = {}  # (response id, candidate) -> msg_id

    def _on_hot(self, caps: tuple[Any, ...], event: str, out: list[Item]) -> None:
        _, _, i, text = caps
        rid = self.response_id
        if i is None:
            i = 0
        if rid is not None and i.__class__ is int and text.__class__ is str:
            msg_id = self._names.get((rid, i))
            if msg_id is None:
                msg_id = self._names[rid, i] = f"{rid}:cand{i}:text"
            if msg_id in self._open:
                if text:
                    self._open[msg_id] += len(text)
                    out.append(new_delta(msg_id, text))
                return
        super()._on_hot(caps, event, out)

    def _on_chunk(self, obj: dict[str, Any], event: str | None, out: list[Item]) -> None:
        error = obj.get("error")
        if error:
            self._fail(out, _message(error))
            return
        if self.response_id is None:
            rid_key = _key(obj, "responseId", "response_id")
            self.response_id = get_str(obj, rid_key) or self.fallback_id
        rid = self.response_id
        candidates = get_list(obj, "candidates")
        feedback = get_obj(obj, _key(obj, "promptFeedback", "prompt_feedback"))
        if feedback and not candidates:
            fkey = _key(obj, "promptFeedback", "prompt_feedback")
            blocked = get_str(feedback, _key(feedback, "blockReason", "block_reason"), fkey)
            if blocked:
                self._fail(out, f"prompt blocked: {blocked}")
                return
        for n, cand in enumerate(candidates):
            cand = need_obj(cand, ("candidates", n))
            i = get_int(cand, "index", "candidates", n)
            group = f"{rid}:cand{i}"
            content = get_obj(cand, "content", "candidates", n)
            for k, part in enumerate(get_list(content, "parts", "candidates", n, "content")):
                where: Where = ("candidates", n, "content", "parts", k)
                part = need_obj(part, where)
                if get_bool(part, "thought", *where):
                    continue
                text = get_str(part, "text", *where)
                if text:
                    msg_id = f"{group}:text"
                    if self._start(
                        out, msg_id, "text", None, group, response_id=rid, candidate_index=i
                    ):
                        self._delta(out, msg_id, text)
                call_key = _key(part, "functionCall", "function_call")
                call = get_obj(part, call_key, *where)
                if call:
                    self._call(out, rid, i, call, (*where, call_key))
            reason = get_str(cand, _key(cand, "finishReason", "finish_reason"), "candidates", n)
            if reason:
                self._end_group(out, group, reason)

    def _call(
        self, out: list[Item], rid: str, i: int, call: Mapping[str, Any], where: Where
    ) -> None:
        name = get_str(call, "name", *where)
        call_id = get_str(call, "id", *where)
        args = call.get("args")
        if args is None:
            args = {}
        elif not isinstance(args, Mapping):
            raise MalformedEvent((*where, "args"), args, "an object")
        text = dumps_json(args, (*where, "args"))
        k = self._calls.get(i, 0)
        self._calls[i] = k + 1
        msg_id = f"{rid}:cand{i}:call{k}"
        if self._start(
            out,
            msg_id,
            "tool_call",
            name,
            response_id=rid,
            candidate_index=i,
            call_index=k,
            call_id=call_id,
        ):
            self._delta(out, msg_id, text)
            self._end(out, msg_id, "complete")


def _message(error: Any) -> str:
    if not isinstance(error, dict):
        return str(error)
    status = error.get("status") or error.get("code")
    message = error.get("message") or "provider error"
    return f"{status}: {message}" if status else str(message)
