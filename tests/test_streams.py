"""jsonvisor.stream / stream_sync: one stream, one loop, under asyncio, Trio and plain code.

The async tests run one coroutine under ``trio.run`` and under ``asyncio.run`` (from sync
test functions, so no plugin decides the loop) and compare with the sync twin.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import gc
import io
import json
import random
import re
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydantic
import pytest
import trio
from anthropic.types import RawMessageStreamEvent
from openai.types.chat import ChatCompletionChunk

import jsonvisor
from jsonvisor import Update, WatchedValue
from jsonvisor.llm import (
    Delta,
    MessageEnd,
    MessageStart,
    SSEDecoder,
    StreamError,
    adapter_for,
    load_recording,
)
from jsonvisor.parsers import JsonStreamError, PurePythonParser, StreamingJsonParser

BACKENDS = [StreamingJsonParser, PurePythonParser]
LOOPS = ["trio", "asyncio"]

RECORDINGS = {
    "openai_chat_parallel_tools": "openai-chat",
    "openai_chat_fenced_json": "openai-chat",
    "openai_responses_function_call": "openai-responses",
    "anthropic_tool_use": "anthropic",
    "gemini_stream": "gemini",
}

PLAN = json.dumps(
    {
        "summary": "Three steps, ✓ done",
        "steps": [{"title": "plan", "minutes": 5}, {"title": "build"}, {"title": "ship"}],
    },
    ensure_ascii=False,
)


def run_on(loop: str, fn: Callable[..., Awaitable[Any]], *args: Any) -> Any:
    """Run ``fn(loop, *args)`` under Trio or asyncio."""
    if loop == "trio":
        return trio.run(fn, loop, *args)
    return asyncio.run(fn(loop, *args))  # type: ignore[arg-type]


async def checkpoint(loop: str) -> None:
    await (trio.sleep(0) if loop == "trio" else asyncio.sleep(0))


async def wait_forever(loop: str) -> None:
    if loop == "trio":
        await trio.sleep_forever()
    else:
        await asyncio.get_running_loop().create_future()


class Source:
    """An async iterable of chunks that records being closed; after ``block_after`` chunks
    it waits forever (for cancellation)."""

    def __init__(self, chunks: list[Any], loop: str = "trio", block_after: int | None = None):
        self.chunks = list(chunks)
        self.loop = loop
        self.block_after = block_after
        self.given = 0
        self.closed = 0

    def __aiter__(self) -> Source:
        return self

    async def __anext__(self) -> Any:
        if self.block_after is not None and self.given >= self.block_after:
            await wait_forever(self.loop)
        if self.given >= len(self.chunks):
            raise StopAsyncIteration
        self.given += 1
        return self.chunks[self.given - 1]

    async def aclose(self) -> None:
        self.closed += 1


class SyncSource:
    def __init__(self, chunks: list[Any]) -> None:
        self.it = iter(chunks)
        self.closed = 0

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        return next(self.it)

    def close(self) -> None:
        self.closed += 1


def frozen(updates: list[Update]) -> list[tuple[Any, ...]]:
    return [
        (u.msg_id, u.kind, u.name, u.value, u.events, u.watched, u.done, u.raw, u.text)
        for u in updates
    ]


async def collect(loop: str, chunks: list[Any], kw: dict[str, Any]) -> list[tuple[Any, ...]]:
    out = []
    async for u in jsonvisor.stream(Source(chunks, loop), **kw):
        out.append(copy.deepcopy(u))  # (the value is the parser's live one)
    return frozen(out)


def cut(data: Any, seed: int, most: int = 9) -> list[Any]:
    rng = random.Random(seed)
    out, i = [], 0
    while i < len(data):
        k = rng.randint(1, most)
        out.append(data[i : i + k])
        i += k
    return out


# -- one document ---------------------------------------------------------------------------


@pytest.mark.parametrize("cls", BACKENDS)
def test_an_update_after_each_chunk_and_the_result_last(cls: type) -> None:
    chunks = ['{"city": "Par', 'is", "tags": ["a"', ', "b"], "n": 0.', "5}"]
    updates = [copy.deepcopy(u) for u in jsonvisor.stream_sync(chunks, parser=cls)]
    assert [u.value for u in updates] == [
        {"city": "Par"},
        {"city": "Paris", "tags": ["a"]},
        {"city": "Paris", "tags": ["a", "b"]},  # 0. is held back
        {"city": "Paris", "tags": ["a", "b"], "n": 0.5},
        {"city": "Paris", "tags": ["a", "b"], "n": 0.5},
    ]
    assert [u.done for u in updates] == [False, False, False, False, True]
    assert all(u.result is None for u in updates[:-1])
    last = updates[-1]
    assert last.result is not None and last.complete and last.result.value == last.value
    assert (last.msg_id, last.kind, last.name, last.raw, last.error) == (None,) * 3 + (False, None)
    p = cls()
    events = [e for c in chunks for e in p.feed(c)] + list(p.finish().events)
    assert [e for u in updates for e in u.events] == events


@pytest.mark.parametrize("loop", LOOPS)
def test_async_stream_agrees_with_the_sync_twin(loop: str) -> None:
    data = PLAN.encode()
    for seed in range(3):
        chunks = cut(data, seed)
        kw = {"watch": ["$.steps[*]", "$.summary"], "watch_text": True}
        want = frozen([copy.deepcopy(u) for u in jsonvisor.stream_sync(chunks, **kw)])
        assert run_on(loop, collect, chunks, kw) == want
        assert len(want) == len(chunks) + 1


@pytest.mark.parametrize("cls", BACKENDS)
def test_a_cut_stream_ends_incomplete_not_in_an_exception(cls: type) -> None:
    s = jsonvisor.stream_sync(['{"a": [1, 2', ', "thr'], parser=cls)
    last = list(s)[-1]
    assert last.done and not last.complete
    assert last.value == {"a": [1, 2, "thr"]}
    kinds = [r.kind for r in last.result.repairs]
    assert kinds == ["closed_string", "closed_array", "closed_object"]
    assert s.result is last.result and s.results == {None: last.result}


def test_allow_partial_false_raises_for_a_cut_stream_and_closes_the_source() -> None:
    src = SyncSource(['{"a": [1, 2'])
    with pytest.raises(JsonStreamError) as info:
        list(jsonvisor.stream_sync(src, allow_partial=False))
    assert info.value.truncated and src.closed == 1
    assert list(jsonvisor.stream_sync(['{"a": 1}'], allow_partial=False))[-1].complete


@pytest.mark.parametrize("loop", LOOPS)
def test_invalid_json_raises_and_closes_the_source(loop: str) -> None:
    async def main(loop: str) -> tuple[int, int]:
        src = Source(['{"a": 1', "]"], loop)
        seen = 0
        with pytest.raises(JsonStreamError, match="found ']'"):
            async for _ in jsonvisor.stream(src):
                seen += 1
        return seen, src.closed

    assert run_on(loop, main) == (1, 1)


@pytest.mark.parametrize("loop", LOOPS)
def test_an_error_reading_the_source_propagates_and_closes_it(loop: str) -> None:
    class Broken(Source):
        async def __anext__(self) -> Any:
            if self.given == 1:
                raise ConnectionResetError("peer went away")
            return await super().__anext__()

    async def main(loop: str) -> tuple[list[Any], int]:
        src = Broken(['{"a": [1', ", 2]}"], loop)
        seen = []
        with pytest.raises(ConnectionResetError):
            async for u in jsonvisor.stream(src):
                seen.append(copy.deepcopy(u.value))
        return seen, src.closed

    assert run_on(loop, main) == ([{"a": []}], 1)  # (the 1 was held: it may go on)


def test_empty_source_gives_one_final_update() -> None:
    (only,) = list(jsonvisor.stream_sync([]))
    assert only.done and only.value is None and not only.complete
    assert [r.kind for r in only.result.repairs] == ["no_value"]


def test_bytes_split_inside_characters() -> None:
    data = PLAN.encode()
    updates = list(jsonvisor.stream_sync([data[i : i + 1] for i in range(len(data))]))
    assert updates[-1].value == json.loads(PLAN) and updates[-1].complete
    assert len(updates) == len(data) + 1


@dataclass
class Step:
    title: str
    minutes: int = 0


@dataclass
class Plan:
    summary: str
    steps: list[Step]


def test_schema_gives_field_states_and_typed_watched_values() -> None:
    updates = list(
        jsonvisor.stream_sync(cut(PLAN, 4), schema=Plan, watch="$.steps[*]", states=True)
    )
    assert updates[0].fields is not None and updates[0].fields["$.steps"] == "pending"
    assert updates[-1].fields is not None
    assert set(updates[-1].fields.values()) == {"complete"}
    found = [w for u in updates for w in u.watched]
    assert [w.model for w in found] == [Step("plan", 5), Step("build"), Step("ship")]
    assert all(isinstance(w, WatchedValue) for w in found)
    assert list(jsonvisor.stream_sync([PLAN], schema=Plan, states=False))[-1].fields is None
    assert list(jsonvisor.stream_sync([PLAN]))[-1].fields is None  # no schema


def test_watched_items_arrive_in_the_update_of_the_chunk_that_closes_them() -> None:
    chunks = ['{"steps": [{"title": "a"}', ', {"title": "b"', "}", "]}"]
    got = [[w.path for w in u.watched] for u in jsonvisor.stream_sync(chunks, watch="$.steps[*]")]
    assert got == [[("steps", 0)], [], [("steps", 1)], [], []]


def test_arguments_are_checked_at_once() -> None:
    with pytest.raises(TypeError, match="stream_sync"):
        jsonvisor.stream(['{"a": 1}'])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown stream format"):
        jsonvisor.stream_sync([], format="cohere")
    with pytest.raises(ValueError, match="text_messages"):
        jsonvisor.stream_sync([], text_messages="prose")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        jsonvisor.stream_sync([], no_such_option=True)
    with pytest.raises(ValueError, match="bad path"):
        jsonvisor.stream_sync([], watch="$.a[?]")
    assert list(jsonvisor.stream_sync('{"a": 1}'))[-1].value == {"a": 1}  # a str is one chunk


# -- choosing the format --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("chunks", "fmt"),
    [
        ([b"  \n", b'{"a": 1}'], "json"),
        (["[1, 2]"], "json"),
        ([b"d", b"ata: {", b'"choices": []}\n\n'], "openai-chat"),
        ([": keep-alive\n\n", 'event: message_start\ndata: {"type": "message_start"'], "anthropic"),
        ([b'data: {"candidates": []}\r\n\r\n'], "gemini"),
        (['event: response.created\ndata: {"type": "response.created"}\n\n'], "openai-responses"),
    ],
)
def test_format_is_guessed_from_the_first_bytes(chunks: list[Any], fmt: str) -> None:
    s = jsonvisor.stream_sync(chunks)
    list(s)
    assert s.format == fmt


def test_prose_is_json_to_guess_and_needs_lenient() -> None:
    with pytest.raises(JsonStreamError):
        list(jsonvisor.stream_sync(["Sure! ", '{"a": 1}']))
    updates = list(jsonvisor.stream_sync(["Sure! ", '{"a": 1}', " Enjoy."], lenient=True))
    assert len(updates) == 4  # the guess did not hold the prose back
    assert updates[-1].value == {"a": 1} and updates[-1].complete


def test_unknown_server_sent_events_are_refused() -> None:
    with pytest.raises(ValueError, match="no known provider"):
        list(jsonvisor.stream_sync([b'data: {"text": "hi"}\n\n']))
    with pytest.raises(ValueError, match="which provider"):
        list(jsonvisor.stream_sync([{"text": "hi"}]))
    with pytest.raises(TypeError, match="cannot read a stream chunk"):
        list(jsonvisor.stream_sync([object()]))


# -- provider streams -----------------------------------------------------------------------


def reference(name: str, cls: type = StreamingJsonParser, **options: Any) -> dict[str, Any]:
    """Each message's start and final value (through the adapter and a parser; the text
    itself for a message that is not JSON)."""
    adapter = adapter_for(RECORDINGS[name])
    out: dict[str, Any] = {}
    parsers: dict[str, Any] = {}
    texts: dict[str, str] = {}
    for item in adapter.feed(load_recording(name)) + adapter.close():
        if isinstance(item, MessageStart):
            parsers[item.msg_id] = cls(**options)
            out[item.msg_id] = [item, None]
            texts[item.msg_id] = ""
        elif isinstance(item, Delta):
            texts[item.msg_id] += item.text
        elif isinstance(item, (MessageEnd, StreamError)) and item.msg_id is not None:
            try:
                parsers[item.msg_id].feed(texts[item.msg_id])
                out[item.msg_id][1] = parsers[item.msg_id].finish().value
            except JsonStreamError:
                out[item.msg_id][1] = texts[item.msg_id]
    return out


def sdk_objects(name: str) -> list[Any]:
    """The recording as its SDK's chunk objects (as the SDK builds them: pings dropped)."""
    events = [e for e in SSEDecoder().feed(load_recording(name)) if e.data != "[DONE]"]
    datas = [json.loads(e.data) for e in events if e.event != "ping"]
    if name.startswith("openai_chat"):
        return [ChatCompletionChunk.model_validate(d) for d in datas]
    if name.startswith("anthropic"):
        ta = pydantic.TypeAdapter(RawMessageStreamEvent)
        return [ta.validate_python(d) for d in datas]
    return datas


def check_messages(updates: list[Update], name: str, cls: type, raw_text: bool) -> None:
    """Each message: one start, updates in order, exactly one done update (its last), and
    the final value of the adapter + parser pipeline."""
    ref = reference(name, cls)
    by_msg: dict[str, list[Update]] = {}
    for u in updates:
        assert u.msg_id is not None, u.error
        by_msg.setdefault(u.msg_id, []).append(u)
    assert list(by_msg) == list(ref)
    for msg_id, mine in by_msg.items():
        start, value = ref[msg_id]
        assert [u.done for u in mine] == [False] * (len(mine) - 1) + [True]
        assert all((u.kind, u.name, u.meta) == (start.kind, start.name, start.meta) for u in mine)
        last = mine[-1]
        if start.kind == "text" and raw_text:
            assert last.raw and last.result is None and last.value == value
            assert "".join(u.text for u in mine) == last.value
        else:
            assert not last.raw and last.complete and last.value == value


@pytest.mark.parametrize("cls", BACKENDS)
@pytest.mark.parametrize("name", sorted(RECORDINGS))
def test_provider_bytes_in_any_chunking(cls: type, name: str) -> None:
    data = load_recording(name)
    for chunks in ([data], cut(data, 1, 200), cut(data, 2, 7)):
        s = jsonvisor.stream_sync(chunks, parser=cls)
        updates = [copy.deepcopy(u) for u in s]
        assert s.format == RECORDINGS[name] and not s.errors
        # prose text blocks pass through as text (auto); Gemini's JSON-mode text is parsed
        check_messages(updates, name, cls, raw_text=name != "gemini_stream")


@pytest.mark.parametrize("name", sorted(RECORDINGS))
def test_sdk_objects_are_recognised(name: str) -> None:
    s = jsonvisor.stream_sync(sdk_objects(name))
    check_messages([copy.deepcopy(u) for u in s], name, StreamingJsonParser,
                   raw_text=name != "gemini_stream")  # fmt: skip
    assert s.format == RECORDINGS[name]


def test_parsed_sse_events_are_recognised() -> None:
    events = SSEDecoder().feed(load_recording("anthropic_tool_use"))
    s = jsonvisor.stream_sync(events)
    check_messages(list(s), "anthropic_tool_use", StreamingJsonParser, raw_text=True)
    assert s.format == "anthropic"


def test_text_messages_modes() -> None:
    data = load_recording("anthropic_tool_use")
    kinds = {
        mode: {(u.kind, u.raw) for u in jsonvisor.stream_sync([data], text_messages=mode)}
        for mode in ("raw", "skip")
    }
    assert kinds == {
        "raw": {("text", True), ("tool_call", False)},
        "skip": {("tool_call", False)},
    }
    with pytest.raises(JsonStreamError):  # prose is not JSON
        list(jsonvisor.stream_sync([data], text_messages="json"))
    # LLM mode looks for JSON in every text message: none in this prose
    text = [u for u in jsonvisor.stream_sync([data], lenient=True) if u.kind == "text"]
    assert not text[-1].raw and text[-1].value is None and not text[-1].complete
    # ... and finds the fenced block of this one
    fenced = load_recording("openai_chat_fenced_json")
    last = list(jsonvisor.stream_sync([fenced], lenient=True))[-1]
    assert last.kind == "text" and last.complete and last.value["city"] == "Kyoto"
    gemini = load_recording("gemini_stream")
    assert list(jsonvisor.stream_sync([gemini], text_messages="raw"))[-1].raw


def test_watchers_follow_each_message() -> None:
    data = load_recording("openai_chat_parallel_tools")
    found = [
        (u.name, w.value)
        for u in jsonvisor.stream_sync(cut(data, 3, 50), watch="$.location")
        for w in u.watched
    ]
    assert found == [
        ("get_weather", "Zürich, Switzerland"),
        ("get_weather", "São Paulo, Brazil"),
    ]


def test_a_cut_provider_stream_reports_where() -> None:
    data = load_recording("anthropic_tool_use")
    data = data[: data.index(rb"\",\"optional\":true}")]  # (the last attendee's)
    updates = list(jsonvisor.stream_sync([data]))
    tool = [u for u in updates if u.kind == "tool_call"][-1]
    assert tool.done and not tool.complete and tool.error is not None and tool.error.truncated
    assert tool.value["attendees"][-1] == {"email": "lotte.jansen@example.com"}
    stream_level = updates[-1]
    assert stream_level.msg_id is None and stream_level.value is None
    assert stream_level.error is not None and "message_stop" in stream_level.error.message
    with pytest.raises(JsonStreamError):
        list(jsonvisor.stream_sync([data], allow_partial=False))


# -- closing the source ---------------------------------------------------------------------


def test_sync_break_and_close_close_the_source() -> None:
    src = SyncSource(['{"a":', " 1}"])
    for _ in jsonvisor.stream_sync(src):
        break
    gc.collect()
    assert src.closed == 1
    src = SyncSource(['{"a":', " 1}"])
    with jsonvisor.stream_sync(src) as s:
        next(s)
        assert src.closed == 0
    assert src.closed == 1
    src = SyncSource([])
    jsonvisor.stream_sync(src).close()  # never iterated
    assert src.closed == 1


@pytest.mark.parametrize("loop", LOOPS)
def test_leaving_an_async_with_closes_the_source(loop: str) -> None:
    async def main(loop: str) -> tuple[int, int, int]:
        src = Source(['{"a":', " 1}"], loop)
        async with jsonvisor.stream(src) as updates:
            async for _ in updates:
                break
            before = src.closed
        unused = Source([], loop)
        await jsonvisor.stream(unused).aclose()
        return before, src.closed, unused.closed

    assert run_on(loop, main) == (0, 1, 1)


@pytest.mark.parametrize("loop", LOOPS)
def test_breaking_out_closes_the_source_when_the_stream_is_dropped(loop: str) -> None:
    async def main(loop: str) -> tuple[int, list[str]]:
        log: list[str] = []

        async def chunks() -> AsyncIterator[str]:
            try:
                for c in ['{"a":', " 1", "}"]:
                    yield c
            finally:
                log.append("source closed")

        src = Source(['{"a":', " 1}"], loop)
        async for _ in jsonvisor.stream(src):
            break
        async for _ in jsonvisor.stream(chunks()):
            break
        gc.collect()
        for _ in range(10):  # the loop's async-generator hooks close it in a task
            await checkpoint(loop)
        return src.closed, log

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)  # Trio's advice to use async with
        assert run_on(loop, main) == (1, ["source closed"])


@pytest.mark.parametrize("loop", LOOPS)
def test_cancelling_closes_the_source(loop: str) -> None:
    async def main_trio(loop: str) -> tuple[int, int]:
        src = Source(['{"a": [1', ", 2", "]}"], loop, block_after=2)
        seen = 0
        with trio.CancelScope() as scope:
            async for _ in jsonvisor.stream(src):
                seen += 1
                if seen == 2:
                    scope.cancel()
        return seen, src.closed

    async def main_asyncio(loop: str) -> tuple[int, int]:
        src = Source(['{"a": [1', ", 2", "]}"], loop, block_after=2)
        seen = 0
        two = asyncio.Event()

        async def consume() -> None:
            nonlocal seen
            async for _ in jsonvisor.stream(src):
                seen += 1
                if seen == 2:
                    two.set()

        task = asyncio.create_task(consume())
        await two.wait()
        await checkpoint(loop)  # let it reach the source's wait
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return seen, src.closed

    assert run_on(loop, main_trio if loop == "trio" else main_asyncio) == (2, 1)


def test_stream_makes_no_event_loop_calls() -> None:
    # driven by hand, outside any event loop: only the source is awaited
    async def chunks() -> AsyncIterator[str]:
        yield '{"a": '
        yield "1}"

    stream = jsonvisor.stream(chunks())
    values = []
    while True:
        try:
            stream.__anext__().send(None)
        except StopIteration as stop:
            values.append(copy.deepcopy(stop.value.value))
        except StopAsyncIteration:
            break
    assert values == [{}, {"a": 1}, {"a": 1}]


def test_docs_stream_example_runs_as_written() -> None:
    guide = Path(__file__).resolve().parent.parent / "docs" / "supervisor.md"
    section = guide.read_text(encoding="utf-8").split("## One stream: `jsonvisor.stream`", 1)[1]
    code = re.search(r"```python\n(.*?)\n```\n", section, re.S).group(1)  # type: ignore[union-attr]
    assert "asyncio.run(main())" in code
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "docs/supervisor.md, one stream", "exec"), {})
    tail = code.split("asyncio.run(main())", 1)[1].splitlines()[1:]
    assert out.getvalue().splitlines() == [line[2:] for line in tail if line.startswith("# ")]
