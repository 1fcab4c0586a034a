"""OpenAI Chat Completions: content, parallel tool calls, finish reasons, [DONE], errors."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from jsonvisor.llm import Delta, MessageEnd, MessageStart, OpenAIChatAdapter, StreamError
from llm_backends import sse_backend  # noqa: F401 -- the fixture pytestmark uses
from test_llm_adapters import EXPECTED, raw, run, texts

pytestmark = pytest.mark.usefixtures("sse_backend")

RID = "chatcmpl-B3kq9ZrD7xWcV1nYf0sJtLmHa2E8p"


def chunk(*choices: dict[str, Any], rid: str = "chatcmpl-1") -> dict[str, Any]:
    return {"id": rid, "object": "chat.completion.chunk", "choices": list(choices)}


def choice(i: int = 0, finish: str | None = None, **delta: Any) -> dict[str, Any]:
    return {"index": i, "delta": delta, "finish_reason": finish}


def test_parallel_interleaved_tool_calls_are_demultiplexed() -> None:
    items = run("openai-chat", [raw("openai_chat_parallel_tools")])
    deltas = [i for i in items if isinstance(i, Delta)]
    order = [int(d.msg_id[-1]) for d in deltas]
    assert order[:6] == [0, 1, 2, 2, 0, 0]  # interleaved, not one call after another
    assert sum(a != b for a, b in itertools.pairwise(order)) > 30
    got = {k: json.loads(v) for k, v in texts(items).items()}
    assert got[f"{RID}:choice0:tool0"]["location"] == "Zürich, Switzerland"
    assert got[f"{RID}:choice0:tool1"]["location"] == "São Paulo, Brazil"
    assert got[f"{RID}:choice0:tool2"]["preferred_airlines"] == ["LX", "LH", "TP"]
    want = EXPECTED["openai_chat_parallel_tools"]
    assert got == {k: json.loads(v["text"]) for k, v in want.items()}
    starts = [i for i in items if isinstance(i, MessageStart)]
    assert [s.meta["tool_call_id"] for s in starts] == [
        "call_Qm4bJ8pVx2TfK7nRzW1sHd3L",
        "call_7YcXe0LqNa5GvUo9Bi2MkPrS",
        "call_Hs1WdZ6tRy8JfA3nCe4VgXbO",
    ]
    assert starts[2].meta == {
        "response_id": RID,
        "choice_index": 0,
        "tool_call_index": 2,
        "tool_call_id": "call_Hs1WdZ6tRy8JfA3nCe4VgXbO",
    }
    # finish_reason ends all three, before the usage chunk and [DONE]
    assert [type(i) for i in items[-3:]] == [MessageEnd] * 3


def test_two_choices_stop_length_usage_and_done() -> None:
    adapter = OpenAIChatAdapter()
    items = adapter.feed(raw("openai_chat_two_choices"))
    rid = "chatcmpl-9xYzAbCdEfGh"
    assert texts(items) == {
        f"{rid}:choice0:content": '{"ok": true}',
        f"{rid}:choice1:content": '{"items": [1, 2',
        f"{rid}:choice1:tool0": '{"q": "x"}',
    }
    ends = [(i.msg_id, i.reason) for i in items if isinstance(i, MessageEnd)]
    assert ends == [
        (f"{rid}:choice0:content", "stop"),
        (f"{rid}:choice1:content", "length"),
        (f"{rid}:choice1:tool0", "length"),
    ]
    assert adapter.finished and adapter.close() == []


def test_role_chunk_with_empty_content_opens_nothing() -> None:
    adapter = OpenAIChatAdapter()
    assert adapter.feed(chunk(choice(role="assistant", content=""))) == []
    assert adapter.feed(chunk(choice(role="assistant", content=None, tool_calls=None))) == []
    assert adapter.feed(chunk(choice(finish="stop"))) == []
    assert adapter.close() == []


def test_error_object_mid_stream() -> None:
    items = run("openai-chat", [raw("openai_chat_error")])
    msg = "server_error: The server had an error processing your request. Sorry about that!"
    assert items[-2:] == [
        StreamError("chatcmpl-ErrErrErr01:choice0:content", msg, True),
        StreamError(None, msg, False),
    ]


def test_error_event_type() -> None:
    adapter = OpenAIChatAdapter()
    items = adapter.feed(b'event: error\ndata: {"message": "rate limited"}\n\n')
    assert items == [StreamError(None, "rate limited", False)]
    assert adapter.failed and adapter.close() == []


def test_done_before_finish_reason_ends_open_messages() -> None:
    adapter = OpenAIChatAdapter()
    body = json.dumps(chunk(choice(content="[1]")))
    items = adapter.feed(f"data: {body}\n\ndata: [DONE]\n\n".encode())
    assert items[-1] == MessageEnd("chatcmpl-1:choice0:content", "done")


def test_tool_calls_without_index_are_matched_by_id() -> None:
    # some compatible servers omit ``index``: the id (or the latest call) decides
    def call(**kw: Any) -> dict[str, Any]:
        return chunk(choice(tool_calls=[kw]))

    stream = [
        call(id="a", function={"name": "f", "arguments": '{"x"'}),
        call(id="b", function={"name": "g", "arguments": '{"y"'}),
        call(id="a", function={"arguments": ": 1}"}),
        call(function={"arguments": ": 2}"}),
        chunk(choice(finish="tool_calls")),
    ]
    items = run("openai-chat", stream)
    assert texts(items) == {
        "chatcmpl-1:choice0:tool0": '{"x": 1}',
        "chatcmpl-1:choice0:tool1": '{"y": 2}',
    }


def test_late_deltas_after_finish_are_ignored() -> None:
    adapter = OpenAIChatAdapter()
    adapter.feed(chunk(choice(content="a")))
    adapter.feed(chunk(choice(finish="stop")))
    assert adapter.feed(chunk(choice(content="b"))) == []


def test_response_id_is_pinned_by_the_first_chunk() -> None:
    adapter = OpenAIChatAdapter(fallback_id="fb")
    first = adapter.feed({"choices": [choice(content="x")]})
    assert first[0] == MessageStart(
        "fb:choice0:content", "text", None, {"response_id": "fb", "choice_index": 0}
    )
    assert adapter.feed(chunk(choice(content="y"), rid="other")) == [
        Delta("fb:choice0:content", "y")
    ]


def test_sdk_stream_helper_events_are_unwrapped() -> None:
    # ``client.chat.completions.stream()`` yields ChunkEvents and derived events
    chunks = [chunk(choice(content='{"a"')), chunk(choice(content=": 1}", finish="stop"))]
    helper = []
    for c in chunks:
        helper.append({"type": "chunk", "chunk": c, "snapshot": {}})
        helper.append({"type": "content.delta", "delta": "x", "snapshot": "x", "parsed": None})
    assert run("openai-chat", helper) == run("openai-chat", chunks)


def test_sdk_chunks_need_no_done_but_raw_bytes_do() -> None:
    adapter = OpenAIChatAdapter()
    adapter.feed(chunk(choice(content="{}", finish="stop")))
    assert adapter.close() == []  # the SDK consumed [DONE]
    raw_adapter = OpenAIChatAdapter()
    raw_adapter.feed(f"data: {json.dumps(chunk(choice(content='{}', finish='stop')))}\n\n")
    assert raw_adapter.close() == [StreamError(None, "stream ended before data: [DONE]", True)]
