"""Properties every adapter must have, over every recording and fixture."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import split_at
from jsonvisor.llm import (
    Adapter,
    Delta,
    Item,
    MessageEnd,
    MessageStart,
    SSEDecoder,
    StreamError,
    adapter_for,
    load_recording,
    recording_names,
)
from llm_backends import sse_backend  # noqa: F401 -- the fixture pytestmark uses

pytestmark = pytest.mark.usefixtures("sse_backend")

DATA = Path(__file__).parent / "data" / "streams"
EXPECTED: dict[str, dict[str, Any]] = json.loads((DATA / "expected.json").read_text("utf-8"))
RECORDINGS = {
    "openai_chat_parallel_tools": "openai-chat",
    "openai_chat_fenced_json": "openai-chat",
    "openai_responses_function_call": "openai-responses",
    "anthropic_tool_use": "anthropic",
    "gemini_stream": "gemini",
}
FIXTURES = {
    "openai_chat_two_choices": "openai-chat",
    "openai_chat_error": "openai-chat",
    "openai_responses_failed": "openai-responses",
    "anthropic_overloaded": "anthropic",
    "gemini_function_call": "gemini",
}
NO_DONE = StreamError(None, "stream ended before data: [DONE]", True)


def raw(name: str) -> bytes:
    """A shipped recording or a test fixture, by name."""
    if name in RECORDINGS:
        return load_recording(name)
    return (DATA / f"{name}.sse").read_bytes()


def fmt(name: str) -> str:
    return RECORDINGS.get(name) or FIXTURES[name]


def run(fmt_name: str, chunks: Iterable[Any]) -> list[Item]:
    """Feed every chunk to a new adapter, then close it."""
    adapter = adapter_for(fmt_name, fallback_id="test")
    items = [item for chunk in chunks for item in adapter.feed(chunk)]
    return items + adapter.close()


def texts(items: list[Item]) -> dict[str, str]:
    """Each message's deltas, concatenated."""
    out: dict[str, str] = {}
    for item in items:
        if isinstance(item, MessageStart):
            out[item.msg_id] = ""
        elif isinstance(item, Delta):
            out[item.msg_id] += item.text
    return out


def check_lifecycle(items: list[Item]) -> None:
    """Start, deltas, then exactly one MessageEnd or StreamError, per message."""
    state: dict[str, str] = {}
    for item in items:
        if isinstance(item, MessageStart):
            assert item.msg_id not in state, item
            state[item.msg_id] = "open"
        elif isinstance(item, Delta):
            assert state.get(item.msg_id) == "open", item
            assert item.text
        elif isinstance(item, MessageEnd) or (isinstance(item, StreamError) and item.msg_id):
            assert state.get(item.msg_id) == "open", item
            state[item.msg_id] = "ended"
    assert all(s == "ended" for s in state.values()), state


def sdk_dicts(data: bytes) -> list[dict[str, Any]]:
    """What an SDK would yield for a raw stream: each event's JSON, ``[DONE]`` consumed."""
    decoder = SSEDecoder()
    events = decoder.feed(data) + decoder.close()
    return [json.loads(e.data) for e in events if e.data != "[DONE]"]


def test_the_recordings_are_shipped_and_sized_like_real_streams() -> None:
    assert sorted(RECORDINGS) == [n.removesuffix(".sse") for n in recording_names()]
    for name in RECORDINGS:
        events = SSEDecoder().feed(raw(name))
        assert 40 <= len(events) <= 1000, name


@pytest.mark.parametrize("name", sorted(RECORDINGS))
def test_recording_gives_the_expected_messages(name: str) -> None:
    items = run(fmt(name), [raw(name)])
    check_lifecycle(items)
    assert not [i for i in items if isinstance(i, StreamError)]
    expected = EXPECTED[name]
    assert texts(items) == {k: v["text"] for k, v in expected.items()}
    starts = {i.msg_id: i for i in items if isinstance(i, MessageStart)}
    ends = {i.msg_id: i.reason for i in items if isinstance(i, MessageEnd)}
    for msg_id, want in expected.items():
        assert starts[msg_id].kind == want["kind"]
        assert starts[msg_id].name == want["name"]
        assert ends[msg_id] == want["reason"]
        if want["kind"] == "tool_call":
            json.loads(texts(items)[msg_id])  # tool arguments are valid JSON


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(sorted(RECORDINGS) + sorted(FIXTURES)),
    st.lists(st.integers(0, 10**6), max_size=120),
)
def test_random_byte_splits_give_the_same_items(name: str, cuts: list[int]) -> None:
    data = raw(name)
    chunks = split_at(data, [c % (len(data) + 1) for c in cuts])
    assert run(fmt(name), chunks) == run(fmt(name), [data])


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_fixture_split_at_every_byte_position(name: str) -> None:
    data = raw(name)
    whole = run(fmt(name), [data])
    check_lifecycle(whole)
    for i in range(0, len(data) + 1, 3):
        assert run(fmt(name), [data[:i], data[i:]]) == whole, i


@pytest.mark.parametrize("name", sorted(RECORDINGS) + sorted(FIXTURES))
def test_sdk_dict_chunks_give_the_same_items_as_sse_bytes(name: str) -> None:
    data = raw(name)
    from_bytes = run(fmt(name), [data])
    from_dicts = run(fmt(name), sdk_dicts(data))
    if fmt(name) == "openai-chat":
        # raw bytes also check for [DONE]; an SDK consumes it and simply stops
        from_bytes = [i for i in from_bytes if i != NO_DONE]
    assert from_dicts == from_bytes


class Dumps:
    """Stands for an SDK's pydantic chunk (``model_dump(mode=..., exclude_none=...)``)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.calls: list[dict[str, Any]] = []

    def model_dump(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        return json.loads(json.dumps(self.data))


class OldDumps:
    """A ``model_dump`` that takes no arguments, and a ``to_dict``-only object."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def model_dump(self) -> dict[str, Any]:
        return self.data


class ToDict:
    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def to_dict(self) -> dict[str, Any]:
        return self.data


@pytest.mark.parametrize("wrap", [Dumps, OldDumps, ToDict])
@pytest.mark.parametrize("name", ["openai_chat_parallel_tools", "anthropic_tool_use"])
def test_sdk_objects_are_read_through_model_dump(name: str, wrap: type) -> None:
    chunks = sdk_dicts(raw(name))
    objects = [wrap(c) for c in chunks]
    assert run(fmt(name), objects) == run(fmt(name), chunks)
    if wrap is Dumps:
        assert objects[0].calls == [{"mode": "json", "exclude_none": True}]


def test_unreadable_chunk_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        adapter_for("anthropic").feed(42)


@pytest.mark.parametrize("name", sorted(RECORDINGS))
def test_stream_cut_midway_truncates_the_open_messages(name: str) -> None:
    data = raw(name)
    whole = run(fmt(name), [data])
    for fraction in (0.3, 0.6, 0.9):
        cut = data[: int(len(data) * fraction)]
        adapter = adapter_for(fmt(name), fallback_id="test")
        items = adapter.feed(cut)
        open_ids = adapter.open_messages
        assert open_ids, "a cut this deep leaves something open"
        tail = adapter.close()
        check_lifecycle(items + tail)
        errors = [i for i in tail if isinstance(i, StreamError)]
        assert [e.msg_id for e in errors if e.msg_id] == open_ids
        assert all(e.truncated for e in errors)
        if fmt(name) != "gemini":  # Gemini has no end-of-stream event to miss
            assert errors[-1].msg_id is None
        # what did arrive is a prefix of the full text
        full = texts(whole)
        for msg_id, text in texts(items).items():
            assert full[msg_id].startswith(text)
        assert adapter.close() == []
        with pytest.raises(RuntimeError):
            adapter.feed(b"data: {}\n\n")


@pytest.mark.parametrize("name", sorted(RECORDINGS))
def test_feeding_sse_event_objects_works_too(name: str) -> None:
    decoder = SSEDecoder()
    events = decoder.feed(raw(name))
    assert run(fmt(name), events) == run(fmt(name), [raw(name)])


class HttpxSseEvent:
    """Duck-types ``httpx_sse.ServerSentEvent`` (event, data, id, retry attributes)."""

    def __init__(self, event: str, data: str) -> None:
        self.event, self.data, self.id, self.retry = event, data, "", None


def test_foreign_parsed_sse_events_are_accepted() -> None:
    events = SSEDecoder().feed(raw("anthropic_tool_use"))
    foreign = [HttpxSseEvent(e.event, e.data) for e in events]
    assert run("anthropic", foreign) == run("anthropic", [raw("anthropic_tool_use")])


def test_fenced_json_answer_holds_the_expected_json() -> None:
    items = run("openai-chat", [raw("openai_chat_fenced_json")])
    (text,) = texts(items).values()
    match = re.search(r"```json\n(.*?)\n```", text, re.S)
    assert match is not None
    assert text[: match.start()].strip().endswith(":")  # a sentence before ...
    assert text[match.end() :].strip().endswith("!")  # ... and one after
    want = EXPECTED["openai_chat_fenced_json"]
    assert json.loads(match.group(1)) == next(iter(want.values()))["fenced_json"]


def test_invalid_json_event_data_is_reported_and_skipped() -> None:
    adapter = adapter_for("anthropic")
    items = adapter.feed(b'event: ping\ndata: {"type": "pi\n\ndata: [1]\n\n')
    assert [type(i) for i in items] == [StreamError, StreamError]
    assert all(i.msg_id is None and not i.truncated for i in items if isinstance(i, StreamError))


def test_adapters_are_independent_and_fallback_ids_unique() -> None:
    a, b = adapter_for("gemini"), adapter_for("gemini")
    assert isinstance(a, Adapter) and a.fallback_id != b.fallback_id
    chunk = {"candidates": [{"content": {"parts": [{"text": "{}"}]}, "index": 0}]}
    (start_a, _), (start_b, _) = a.feed(chunk), b.feed(chunk)
    assert isinstance(start_a, MessageStart) and isinstance(start_b, MessageStart)
    assert start_a.msg_id != start_b.msg_id
