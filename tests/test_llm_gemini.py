"""Google Gemini: text per candidate, finishReason, whole functionCall parts, errors."""

from __future__ import annotations

import enum
import json
import re
from typing import Any

import pytest

from jsonvisor.llm import Delta, GeminiAdapter, MessageEnd, MessageStart, StreamError
from llm_backends import sse_backend  # noqa: F401 -- the fixture pytestmark uses
from test_llm_adapters import raw, run, sdk_dicts, texts

pytestmark = pytest.mark.usefixtures("sse_backend")


class FinishReason(str, enum.Enum):
    """Like google-genai's enums, which ``model_dump()`` leaves as enum members."""

    STOP = "STOP"


def snake(obj: Any) -> Any:
    """A REST (camelCase) chunk as google-genai's ``model_dump()`` gives it (snake_case)."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            key = re.sub(r"(?<!^)([A-Z])", r"_\1", k).lower()
            out[key] = v if key == "args" else snake(v)
            if key == "finish_reason":
                out[key] = FinishReason(v)
        return out
    if isinstance(obj, list):
        return [snake(v) for v in obj]
    return obj


def test_text_then_whole_function_calls() -> None:
    items = run("gemini", [raw("gemini_function_call")])
    rid = "Jq3TZ9-0MaKz7IPwqnT8Ao"
    assert texts(items) == {
        f"{rid}:cand0:text": "Let me check the weather in both cities.",
        f"{rid}:cand0:call0": '{"city": "Lyon", "unit": "celsius"}',
        f"{rid}:cand0:call1": '{"city": "Kraków", "unit": "celsius"}',
    }
    # each call arrives whole: start, one delta, end at once; the text ends at STOP
    calls = [i for i in items if i.msg_id and ":call" in i.msg_id]
    assert [type(i) for i in calls] == [MessageStart, Delta, MessageEnd] * 2
    assert calls[0] == MessageStart(
        f"{rid}:cand0:call0",
        "tool_call",
        "get_weather",
        {"response_id": rid, "candidate_index": 0, "call_index": 0},
    )
    assert items[-1] == MessageEnd(f"{rid}:cand0:text", "STOP")


def test_sdk_snake_case_dumps_with_enums_give_the_same_items() -> None:
    for name in ("gemini_function_call", "gemini_stream"):
        chunks = sdk_dicts(raw(name))
        assert run("gemini", [snake(c) for c in chunks]) == run("gemini", [raw(name)])


def test_candidates_are_separate_messages() -> None:
    def chunk(i: int, text: str, finish: str | None = None) -> dict[str, Any]:
        cand = {"content": {"parts": [{"text": text}], "role": "model"}, "index": i}
        if finish:
            cand["finishReason"] = finish
        return {"candidates": [cand], "responseId": "r"}

    items = run(
        "gemini",
        [chunk(0, '{"a"'), chunk(1, "[1"), chunk(1, "]", "STOP"), chunk(0, ": 1", "MAX_TOKENS")],
    )
    assert texts(items) == {"r:cand0:text": '{"a": 1', "r:cand1:text": "[1]"}
    ends = [i for i in items if isinstance(i, MessageEnd)]
    assert ends == [MessageEnd("r:cand1:text", "STOP"), MessageEnd("r:cand0:text", "MAX_TOKENS")]


def test_thought_parts_are_skipped() -> None:
    parts = [{"text": "thinking...", "thought": True}, {"text": "{}"}]
    chunk = {
        "candidates": [{"content": {"parts": parts}, "finishReason": "STOP"}],
        "responseId": "r",
    }
    assert texts(run("gemini", [chunk])) == {"r:cand0:text": "{}"}


def test_error_object_mid_stream() -> None:
    ok = {"candidates": [{"content": {"parts": [{"text": '{"x": '}]}}], "responseId": "r"}
    err = {"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}
    body = "".join(f"data: {json.dumps(c)}\r\n\r\n" for c in (ok, err)).encode()
    items = run("gemini", [body])
    assert items[-2:] == [
        StreamError("r:cand0:text", "UNAVAILABLE: The model is overloaded.", True),
        StreamError(None, "UNAVAILABLE: The model is overloaded.", False),
    ]


def test_blocked_prompt_is_an_error() -> None:
    chunk = {"promptFeedback": {"blockReason": "SAFETY"}, "responseId": "r"}
    adapter = GeminiAdapter()
    assert adapter.feed(chunk) == [StreamError(None, "prompt blocked: SAFETY", False)]
    assert adapter.failed


def test_stream_cut_before_finish_reason() -> None:
    data = raw("gemini_stream")
    adapter = GeminiAdapter()
    items = adapter.feed(data[: len(data) // 2])
    (msg_id,) = adapter.open_messages
    assert adapter.close() == [
        StreamError(msg_id, "stream ended before the message was complete", True)
    ]
    assert texts(items)[msg_id].startswith('{\n  "recipe_name": "Shakshuka with feta"')
