"""OpenAI Responses API: text and function-call deltas, .done events, completion, errors."""

from __future__ import annotations

import json
from typing import Any

import pytest

from jsonvisor.llm import Delta, MessageEnd, MessageStart, OpenAIResponsesAdapter, StreamError
from llm_backends import sse_backend  # noqa: F401 -- the fixture pytestmark uses
from test_llm_adapters import raw, run, texts

pytestmark = pytest.mark.usefixtures("sse_backend")

RID = "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b"


def ev(kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, **fields}


def created(rid: str = "resp_1") -> dict[str, Any]:
    return ev("response.created", response={"id": rid, "status": "in_progress"})


def test_recording_text_then_function_call() -> None:
    items = run("openai-responses", [raw("openai_responses_function_call")])
    starts = [i for i in items if isinstance(i, MessageStart)]
    assert [(s.msg_id, s.kind, s.name) for s in starts] == [
        (f"{RID}:out0:part0", "text", None),
        (f"{RID}:out1", "tool_call", "get_departures"),
    ]
    assert starts[1].meta["call_id"] == "call_unLAR8MvFNptuiZK6K6HCy5k"
    assert starts[1].meta["item_id"] == "fc_67ccd3b0d5a48190a8c9f1c5e6b2e34d0bb6a6b452d3795b"
    args = json.loads(texts(items)[f"{RID}:out1"])
    assert args["station"] == "Zürich HB" and args["max_results"] == 12
    # the text ends at response.output_text.done, before the function call starts
    end_text = items.index(MessageEnd(f"{RID}:out0:part0", "complete"))
    assert end_text < items.index(starts[1])


def test_failed_mid_function_call() -> None:
    items = run("openai-responses", [raw("openai_responses_failed")])
    msg = "server_error: The server had an error while processing your request."
    rid = "resp_6800a1b2c3d4e5f60718293a4b5c6d7e"
    assert texts(items) == {f"{rid}:out0": '{"query":"rate limits'}
    assert items[-2:] == [StreamError(f"{rid}:out0", msg, True), StreamError(None, msg, False)]


def test_error_event() -> None:
    adapter = OpenAIResponsesAdapter()
    adapter.feed(created())
    adapter.feed(
        ev("response.output_text.delta", item_id="m", output_index=0, content_index=0, delta="{")
    )
    items = adapter.feed(ev("error", code="rate_limit_exceeded", message="Slow down"))
    assert items == [
        StreamError("resp_1:out0:part0", "rate_limit_exceeded: Slow down", True),
        StreamError(None, "rate_limit_exceeded: Slow down", False),
    ]
    assert adapter.close() == []


def test_incomplete_ends_open_messages_with_its_reason() -> None:
    adapter = OpenAIResponsesAdapter()
    adapter.feed(created())
    adapter.feed(
        ev("response.output_text.delta", output_index=0, content_index=0, delta='{"a": [1, ')
    )
    items = adapter.feed(
        ev(
            "response.incomplete",
            response={
                "id": "resp_1",
                "status": "incomplete",
                "incomplete_details": {"reason": "max_output_tokens"},
            },
        )
    )
    assert items == [MessageEnd("resp_1:out0:part0", "max_output_tokens")]
    assert adapter.close() == []


def test_done_events_top_up_missing_deltas() -> None:
    # a consumer that joined late, or a proxy that drops deltas: .done has the full text
    stream = [
        created(),
        ev(
            "response.output_item.added",
            output_index=0,
            item={
                "id": "fc_1",
                "type": "function_call",
                "name": "f",
                "call_id": "c1",
                "arguments": "",
            },
        ),
        ev("response.function_call_arguments.delta", item_id="fc_1", output_index=0, delta='{"x":'),
        ev(
            "response.function_call_arguments.done",
            item_id="fc_1",
            output_index=0,
            arguments='{"x": 1}',
        ),
        ev(
            "response.output_text.done", item_id="m", output_index=1, content_index=0, text="[true]"
        ),
        ev("response.completed", response={"id": "resp_1", "status": "completed"}),
    ]
    items = run("openai-responses", stream)
    assert texts(items) == {"resp_1:out0": '{"x": 1}', "resp_1:out1:part0": "[true]"}
    assert Delta("resp_1:out0", " 1}") in items


def test_output_item_done_ends_a_call_without_arguments_done() -> None:
    item = {"id": "fc_1", "type": "function_call", "name": "f", "call_id": "c1", "arguments": "{}"}
    stream = [
        created(),
        ev("response.output_item.done", output_index=0, item=item),
        ev("response.completed", response={"id": "resp_1"}),
    ]
    items = run("openai-responses", stream)
    assert items == [
        MessageStart(
            "resp_1:out0",
            "tool_call",
            "f",
            {"response_id": "resp_1", "item_id": "fc_1", "call_id": "c1", "output_index": 0},
        ),
        Delta("resp_1:out0", "{}"),
        MessageEnd("resp_1:out0", "complete"),
    ]


def test_other_events_are_ignored() -> None:
    stream = [
        created(),
        ev("response.output_item.added", output_index=0, item={"id": "rs_1", "type": "reasoning"}),
        ev("response.reasoning_summary_text.delta", output_index=0, delta="thinking"),
        ev("response.refusal.delta", output_index=1, content_index=0, delta="no"),
        ev("response.web_search_call.in_progress", output_index=2),
        ev("response.completed", response={"id": "resp_1"}),
    ]
    assert run("openai-responses", stream) == []
