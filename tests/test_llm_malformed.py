"""Malformed provider events: every adapter turns them into StreamErrors, never exceptions.

Real recordings (and the test fixtures) are decoded into their events; a value anywhere in
an event is replaced by one of another JSON type (``"choices": 5``, ``"delta": 5``,
``"index": "x"``, ``parts: [5]``...), and the stream is fed again, as SSE bytes on every
path (pure Python, the C projection, the C hot templates; they must agree) and as SDK dict
chunks.  Only the four item kinds may come out, with fields of the right types, in the
per-message order; an event the adapter cannot read is reported by its own checks (a
``malformed <format> event N: <where> is <value>, expected <type>`` stream error), never by
the safety net that catches what those checks missed.
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import jsonvisor
from helpers import split_at
from jsonvisor.llm import (
    Delta,
    Item,
    MessageEnd,
    MessageStart,
    PlainAdapter,
    PureSSEDecoder,
    StreamError,
    adapter_for,
    aiter_items,
    drive,
)
from test_llm_adapters import FIXTURES, RECORDINGS, check_lifecycle, fmt, raw
from test_llm_projection import all_agree

Path = tuple[str | int, ...]
Event = tuple[str, Any]  # (SSE event type, decoded data; "[DONE]" stays a str)

NAMES = sorted(RECORDINGS) + sorted(FIXTURES)
SAFETY_NET = "unreadable ("  # the words of the catch-all: the adapters' checks missed one


def events_of(name: str) -> list[Event]:
    """A recording's events, their data decoded."""
    out: list[Event] = []
    for e in PureSSEDecoder().feed(raw(name)):
        out.append((e.event, e.data if e.data.strip() == "[DONE]" else json.loads(e.data)))
    return out


def encode(events: list[Event]) -> bytes:
    """Events back into SSE bytes."""
    parts = []
    for event, data in events:
        head = f"event: {event}\n" if event != "message" else ""
        body = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
        parts.append(f"{head}data: {body}\n\n")
    return "".join(parts).encode()


def paths(value: Any, here: Path = ()) -> Iterator[Path]:
    """Every key and array index path in ``value`` (not the root)."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield (*here, k)
            yield from paths(v, (*here, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield (*here, i)
            yield from paths(v, (*here, i))


def replaced(value: Any, path: Path, new: Any) -> Any:
    """A copy of ``value`` with ``new`` at ``path``."""
    out = copy.deepcopy(value)
    target = out
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = new
    return out


def at(value: Any, path: Path) -> Any:
    for part in path:
        value = value[part]
    return value


#: For a value of each JSON type, values of the other types to put in its place.
WRONG: dict[type, list[Any]] = {
    str: [5, -1, 1.5, True, [], ["x"], {}, {"a": 1}],
    int: ["x", "0", 1.5, True, [], {}],
    float: ["x", True, []],
    bool: ["true", 1, [], {}],
    type(None): [5, "x", True, [], {}],
    list: [5, "x", True, {}, [5], [None], [[]]],
    dict: [5, "x", True, [], [5]],
}


def shape(value: Any) -> Any:
    """An event's structure: scalar leaves as their type, ``type`` values kept."""
    if isinstance(value, dict):
        return {k: v if k == "type" else shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value]
    return type(value).__name__


def condensed(events: list[Event], keep: int = 2) -> list[Event]:
    """The recording with at most ``keep`` events of each shape (still a valid stream)."""
    seen: dict[str, int] = {}
    out = []
    for event, data in events:
        key = json.dumps([event, shape(data)])
        seen[key] = seen.get(key, 0) + 1
        if seen[key] <= keep:
            out.append((event, data))
    return out


def check_items(fmt_name: str, items: list[Any]) -> list[str]:
    """Only well-formed items, in order; returns the stream-level error messages."""
    state = items[-1] if items and isinstance(items[-1], dict) else None
    items = items[:-1] if state is not None else items
    stream_errors = []
    for item in items:
        assert isinstance(item, (MessageStart, Delta, MessageEnd, StreamError)), item
        if isinstance(item, MessageStart):
            assert isinstance(item.msg_id, str) and item.kind in ("text", "tool_call"), item
            assert item.name is None or isinstance(item.name, str), item
            assert all(isinstance(v, (str, int)) for v in item.meta.values()), item
        elif isinstance(item, Delta):
            assert isinstance(item.text, str) and item.text, item
        elif isinstance(item, MessageEnd):
            assert isinstance(item.reason, str) and item.reason, item
        else:
            assert isinstance(item.message, str) and item.message, item
            assert SAFETY_NET not in item.message, item
            if item.msg_id is None:
                stream_errors.append(item.message)
    check_lifecycle(items)
    for message in stream_errors:
        if message.startswith("malformed"):
            assert message.startswith(f"malformed {fmt_name} event "), message
    return stream_errors


def sdk_items(fmt_name: str, events: list[Event]) -> list[Item]:
    """The events fed as SDK dict chunks ([DONE] is consumed by SDKs)."""
    adapter = adapter_for(fmt_name, fallback_id="test")
    out: list[Item] = []
    for _, data in events:
        if isinstance(data, dict):
            out += adapter.feed(data)
    return out + adapter.close()


def feed_everywhere(name: str, events: list[Event], cuts: list[int] = ()) -> list[str]:
    """Feed ``events`` on every path (checked to agree) and as dicts; the stream errors."""
    data = encode(events)
    items = all_agree(fmt(name), split_at(data, list(cuts)))
    assert not any(isinstance(i, tuple) for i in items), items[-2:]  # no exception
    errors = check_items(fmt(name), items)
    check_items(fmt(name), sdk_items(fmt(name), events))
    return errors


# -- every key of every kind of event, each wrong type ---------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_a_wrong_type_anywhere_in_any_event_is_a_stream_error(name: str) -> None:
    events = condensed(events_of(name))
    shapes: set[str] = set()
    malformed = 0
    cases = 0
    for k, (event, data) in enumerate(events):
        if not isinstance(data, dict):
            continue
        key = json.dumps([event, shape(data)])
        if key in shapes:
            continue
        shapes.add(key)
        for path in paths(data):
            for new in WRONG[type(at(data, path))]:
                mutated = [*events[:k], (event, replaced(data, path, new)), *events[k + 1 :]]
                errors = feed_everywhere(name, mutated)
                cases += 1
                malformed += any(e.startswith("malformed") for e in errors)
    assert cases > 100 and malformed > 10, (cases, malformed)


@pytest.mark.parametrize(
    "fmt_name,events,where",
    [
        (
            "openai-chat",
            [{"id": "c1", "choices": 5}],
            "event 1: choices is 5 (a number), expected an array",
        ),
        (
            "openai-chat",
            [
                {"id": "c1", "choices": [{"index": 0, "delta": {"content": "Hi"}}]},
                {"id": "c1", "choices": [{"index": 0, "delta": 5}]},
            ],
            "event 2: choices[0].delta is 5 (a number), expected an object",
        ),
        (
            "anthropic",
            [
                {"type": "message_start", "message": {"id": "m1"}},
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "text", "text": "Hi"},
                },
                {
                    "type": "content_block_delta",
                    "index": "x",
                    "delta": {"type": "text_delta", "text": "!"},
                },
            ],
            'event 3 (content_block_delta): index is "x" (a string), expected an integer',
        ),
        (
            "gemini",
            [{"responseId": "r1", "candidates": [{"content": {"parts": [5]}}]}],
            "event 1: candidates[0].content.parts[0] is 5 (a number), expected an object",
        ),
        (
            "openai-responses",
            [
                {"type": "response.created", "response": {"id": "r1"}},
                {"type": "response.output_text.delta", "output_index": 0, "delta": "Hi"},
                {"type": "response.output_text.delta", "output_index": 0, "delta": ["x"]},
            ],
            'event 3 (response.output_text.delta): delta is ["x"] (an array), expected a string',
        ),
    ],
)
@pytest.mark.parametrize("how", ["pure", "projection", "templates", "dicts"])
def test_the_briefs_examples_name_the_provider_event_and_problem(
    fmt_name: str, events: list[dict[str, Any]], where: str, how: str
) -> None:
    if how == "dicts":
        items = sdk_items(fmt_name, [("message", e) for e in events])
    else:
        from test_llm_projection import C, items_of

        if C is None and how != "pure":
            pytest.skip("the C accelerator is not built")
        items = items_of(fmt_name, [encode([("message", e) for e in events])], how)[:-1]
    check_lifecycle(items)
    message = f"malformed {fmt_name} {where}"
    assert StreamError(None, message, False) in items
    # what was open when it came is cut, with the same words
    cut = [i for i in items if isinstance(i, StreamError) and i.msg_id is not None]
    opened = [i.msg_id for i in items if isinstance(i, MessageStart)]
    assert [i.msg_id for i in cut] == opened and all(
        i.truncated and i.message == message for i in cut
    )


# -- random mutations of whole recordings, split anywhere ------------------------------------

scalars = st.none() | st.booleans() | st.integers(-3, 10**20) | st.floats() | st.text(max_size=3)
garbage = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=6,
)
EVENTS = {name: events_of(name) for name in NAMES}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(NAMES),
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 10**6), garbage), max_size=3),
    st.lists(st.integers(0, 10**7), max_size=4),
)
def test_randomly_mutated_recordings_give_only_items(
    name: str, mutations: list[tuple[int, int, Any]], cuts: list[int]
) -> None:
    events = list(EVENTS[name])
    for k, p, new in mutations:
        k %= len(events)
        event, data = events[k]
        if not isinstance(data, dict):
            continue
        where = list(paths(data))
        if not where:
            continue
        events[k] = (event, replaced(data, where[p % len(where)], new))
    data_len = len(encode(events))
    feed_everywhere(name, events, [c % (data_len + 1) for c in cuts])


def test_an_event_nested_too_deeply_is_a_stream_error() -> None:
    deep = "[" * 5000 + "]" * 5000
    for fmt_name in ("openai-chat", "openai-responses", "anthropic", "gemini"):
        text = f'data: {{"type": "x", "choices": {deep}, "functionCall": 1, "input": 1}}\n\n'
        items = all_agree(fmt_name, [text.encode()])
        assert not any(isinstance(i, tuple) for i in items)
        check_items(fmt_name, items)


# -- through drive(), aiter_items() and jsonvisor.stream -------------------------------------

BAD_CHAT = (
    b'data: {"id": "c1", "choices": [{"index": 0, "delta": {"content": "{\\"a\\": "}}]}\n\n'
    b'data: {"id": "c1", "choices": [{"index": 0, "delta": 5}]}\n\n'
    b'data: {"id": "c1", "choices": [{"index": 0, "delta": {"content": "1}"}}]}\n\n'
    b"data: [DONE]\n\n"
)
BAD_WHY = "malformed openai-chat event 2: choices[0].delta is 5 (a number), expected an object"


class Recorder:
    def __init__(self) -> None:
        self.text: dict[str, str] = {}
        self.ended: list[str] = []

    async def send(self, msg_id: str, chunk: str) -> None:
        self.text[msg_id] = self.text.get(msg_id, "") + chunk

    async def end(self, msg_id: str) -> None:
        self.ended.append(msg_id)


def test_drive_reports_a_malformed_event_and_ends_the_cut_message() -> None:
    sup = Recorder()
    errors = trio.run(drive, adapter_for("openai-chat"), [BAD_CHAT[:70], BAD_CHAT[70:]], sup)
    assert errors == [
        StreamError("c1:choice0:content", BAD_WHY, True),
        StreamError(None, BAD_WHY, False),
    ]
    assert sup.text == {"c1:choice0:content": '{"a": '} and sup.ended == ["c1:choice0:content"]


def test_drive_ends_open_messages_when_given_what_is_no_chunk() -> None:
    sup = Recorder()
    first = {"id": "c1", "choices": [{"index": 0, "delta": {"content": "{"}}]}
    with pytest.raises(TypeError, match="cannot read a stream chunk of type int"):
        trio.run(drive, adapter_for("openai-chat"), [first, 42], sup)
    assert sup.text == {"c1:choice0:content": "{"} and sup.ended == ["c1:choice0:content"]


def test_aiter_items_yields_a_malformed_event_as_stream_errors() -> None:
    async def collect() -> list[Item]:
        return [item async for item in aiter_items(adapter_for("anthropic"), [sdk_chunk()])]

    def sdk_chunk() -> dict[str, Any]:  # an SDK object's dump: a string index
        return {"type": "content_block_stop", "index": "1"}

    items = trio.run(collect)
    why = (
        "malformed anthropic event 1 (content_block_stop): "
        'index is "1" (a string), expected an integer'
    )
    assert items == [
        StreamError(None, why, False),
        StreamError(None, "stream ended before message_stop", True),
    ]


@pytest.mark.parametrize("chunks", [[BAD_CHAT], [BAD_CHAT[i : i + 7] for i in range(0, 300, 7)]])
def test_jsonvisor_stream_sync_gives_the_error_as_updates(chunks: list[bytes]) -> None:
    updates = list(jsonvisor.stream_sync(chunks, format="openai-chat"))
    cut = [u for u in updates if u.done and u.msg_id == "c1:choice0:content"]
    assert len(cut) == 1 and cut[0].error == StreamError("c1:choice0:content", BAD_WHY, True)
    assert any(u.msg_id is None and u.error == StreamError(None, BAD_WHY) for u in updates)


def test_jsonvisor_stream_async_gives_the_error_as_updates() -> None:
    async def source() -> AsyncIterator[bytes]:
        for i in range(0, len(BAD_CHAT), 50):
            yield BAD_CHAT[i : i + 50]

    async def collect() -> list[Any]:
        return [u async for u in jsonvisor.stream(source(), format="openai-chat")]

    updates = trio.run(collect)
    assert [u.error for u in updates if u.error is not None] == [
        StreamError("c1:choice0:content", BAD_WHY, True),
        StreamError(None, BAD_WHY, False),
    ]


# -- plain input: bytes that are not UTF-8 ---------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=40), st.lists(st.integers(0, 40), max_size=5))
def test_plain_adapter_reports_invalid_utf8_at_its_byte(data: bytes, cuts: list[int]) -> None:
    adapter = PlainAdapter("doc")
    items = [i for chunk in split_at(data, cuts) for i in adapter.feed(chunk)]
    items += adapter.close()
    check_lifecycle(items)
    text = "".join(i.text for i in items if isinstance(i, Delta))
    try:
        want = data.decode("utf-8")
    except UnicodeDecodeError as err:
        good = data[: err.start].decode("utf-8").removeprefix("\ufeff")
        assert text == good
        why = f"malformed json input: invalid UTF-8 at byte {err.start} (0x{data[err.start]:02x})"
        errors = [i for i in items if isinstance(i, StreamError)]
        assert errors[-1].msg_id is None and errors[-1].message.startswith(why)
        assert [e.msg_id for e in errors] == (["doc", None] if good else [None])
    else:
        assert text == want.removeprefix("\ufeff")
        assert not any(isinstance(i, StreamError) for i in items)


def test_plain_adapter_rejects_what_is_not_bytes() -> None:
    with pytest.raises(TypeError, match="bytes or str, not int"):
        PlainAdapter().feed(5)  # bytes(5) would be five NULs


def test_plain_adapter_through_drive_with_invalid_utf8() -> None:
    sup = Recorder()
    errors = trio.run(drive, PlainAdapter("doc"), [b'{"a": "x', b"\xff\xfe", b'"}'], sup)
    assert [e.msg_id for e in errors] == ["doc", None] and errors[0].truncated
    assert sup.text == {"doc": '{"a": "x'} and sup.ended == ["doc"]


def test_mutation_helpers() -> None:
    data = {"a": [1, {"b": "x"}]}
    assert list(paths(data)) == [("a",), ("a", 0), ("a", 1), ("a", 1, "b")]
    assert replaced(data, ("a", 1, "b"), 5) == {"a": [1, {"b": 5}]} and data["a"][1]["b"] == "x"
