"""Anthropic Messages: text and tool_use blocks, ping, stop reason, errors."""

from __future__ import annotations

import json
from typing import Any

import pytest

from jsonvisor.llm import AnthropicAdapter, Delta, MessageEnd, MessageStart, StreamError
from llm_backends import sse_backend  # noqa: F401 -- the fixture pytestmark uses
from test_llm_adapters import raw, run, texts

pytestmark = pytest.mark.usefixtures("sse_backend")

MID = "msg_014p7gG3wDgGV9EUtLvnow3U"


def ev(kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, **fields}


START = ev("message_start", message={"id": "msg_1", "type": "message", "content": []})


def test_recording_text_block_then_tool_use() -> None:
    adapter = AnthropicAdapter()
    items = adapter.feed(raw("anthropic_tool_use")) + adapter.close()
    starts = [i for i in items if isinstance(i, MessageStart)]
    assert [(s.msg_id, s.kind, s.name) for s in starts] == [
        (f"{MID}:block0", "text", None),
        (f"{MID}:block1", "tool_call", "create_calendar_event"),
    ]
    assert starts[1].meta == {
        "message_id": MID,
        "block_index": 1,
        "tool_use_id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
    }
    args = json.loads(texts(items)[f"{MID}:block1"])
    assert args["attendees"][2] == {"email": "lotte.jansen@example.com", "optional": True}
    assert args["description"].startswith("Walk through the new checkout flow.\nAgenda:")
    assert adapter.stop_reason == "tool_use" and adapter.finished
    assert [i for i in items if isinstance(i, MessageEnd)] == [
        MessageEnd(f"{MID}:block0", "complete"),
        MessageEnd(f"{MID}:block1", "complete"),
    ]


def test_overloaded_error_mid_tool_use() -> None:
    items = run("anthropic", [raw("anthropic_overloaded")])
    mid = "msg_01XFDUDYJgAACzvnptvVoYEL:block0"
    assert texts(items) == {mid: '{"order_id": "A-10042", "include": ["items"'}
    assert items[-2:] == [
        StreamError(mid, "overloaded_error: Overloaded", True),
        StreamError(None, "overloaded_error: Overloaded", False),
    ]


def test_tool_use_without_json_deltas_gets_its_start_input() -> None:
    block = {"type": "tool_use", "id": "toolu_1", "name": "now", "input": {}}
    stream = [
        START,
        ev("content_block_start", index=0, content_block=block),
        ev("content_block_delta", index=0, delta={"type": "input_json_delta", "partial_json": ""}),
        ev("content_block_stop", index=0),
        ev("message_delta", delta={"stop_reason": "tool_use"}),
        ev("message_stop"),
    ]
    items = run("anthropic", stream)
    assert items[1:] == [Delta("msg_1:block0", "{}"), MessageEnd("msg_1:block0", "complete")]


def test_thinking_blocks_signatures_and_pings_are_ignored() -> None:
    stream = [
        START,
        ev("ping"),
        ev("content_block_start", index=0, content_block={"type": "thinking", "thinking": ""}),
        ev("content_block_delta", index=0, delta={"type": "thinking_delta", "thinking": "hm"}),
        ev("content_block_delta", index=0, delta={"type": "signature_delta", "signature": "x"}),
        ev("content_block_stop", index=0),
        ev("content_block_start", index=1, content_block={"type": "text", "text": ""}),
        ev("content_block_delta", index=1, delta={"type": "text_delta", "text": "[1]"}),
        ev("content_block_delta", index=1, delta={"type": "citations_delta", "citation": {}}),
        ev("content_block_stop", index=1),
        ev("message_stop"),
    ]
    assert texts(run("anthropic", stream)) == {"msg_1:block1": "[1]"}


def test_server_tool_use_blocks_stream_json_too() -> None:
    block = {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}}
    stream = [
        START,
        ev("content_block_start", index=0, content_block=block),
        ev(
            "content_block_delta",
            index=0,
            delta={"type": "input_json_delta", "partial_json": '{"query": "trio"}'},
        ),
        ev("content_block_stop", index=0),
        ev("message_stop"),
    ]
    items = run("anthropic", stream)
    assert items[0] == MessageStart(
        "msg_1:block0",
        "tool_call",
        "web_search",
        {"message_id": "msg_1", "block_index": 0, "tool_use_id": "srvtoolu_1"},
    )


def test_blocks_left_open_at_message_stop_end_with_the_stop_reason() -> None:
    stream = [
        START,
        ev("content_block_start", index=0, content_block={"type": "text", "text": "{"}),
        ev("message_delta", delta={"stop_reason": "max_tokens"}),
        ev("message_stop"),
    ]
    items = run("anthropic", stream)
    assert items[1:] == [Delta("msg_1:block0", "{"), MessageEnd("msg_1:block0", "max_tokens")]


def test_cut_before_message_stop() -> None:
    stream = [START, ev("content_block_start", index=0, content_block={"type": "text"})]
    adapter = AnthropicAdapter()
    for chunk in stream:
        adapter.feed(chunk)
    # SDK event streams end with message_stop too, so its absence is reported
    assert adapter.close() == [
        StreamError("msg_1:block0", "stream ended before the message was complete", True),
        StreamError(None, "stream ended before message_stop", True),
    ]
    raw_adapter = AnthropicAdapter()
    raw_adapter.feed(b"event: message_start\ndata: " + json.dumps(START).encode() + b"\n\n")
    assert raw_adapter.close() == [StreamError(None, "stream ended before message_stop", True)]


def test_empty_stream_is_reported() -> None:
    adapter = AnthropicAdapter()
    assert adapter.feed(b": nothing but a comment\n\n") == []
    assert adapter.close() == [StreamError(None, "stream ended before any event", True)]
