"""One suite, every front end: the supervisor and the cluster are two ways of feeding one
message hub (:mod:`jsonvisor.hub`), so what a user sees of them must agree.

As ijson runs every test over every backend, each test here runs against the supervisor
on trio, the supervisor on asyncio, and -- in the actors environment, where
``tests_actors/test_frontends.py`` collects this module -- the cluster (one worker actor,
trio).  Only the public :class:`~jsonvisor.hub.FrontEnd` interface is used: nothing here
depends on the supervisor's local tasks.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from functools import partial
from typing import Any

import anyio
import pytest

from jsonvisor.hub import DEFAULTS, FrontEnd, Options
from jsonvisor.parsers import JsonStreamError, ValueBuilder
from jsonvisor.supervisor import (
    Cancelled,
    ClosedResourceError,
    Completed,
    Failed,
    MessageCancelledError,
    MessageEvent,
    ResultUnavailable,
    is_terminal,
    open_supervisor,
)

pytestmark = pytest.mark.anyio

FRONTS = [("supervisor", "trio"), ("supervisor", "asyncio"), ("cluster", "trio")]

OpenFront = Callable[..., AbstractAsyncContextManager[Any]]


@pytest.fixture(params=FRONTS, ids=[f"{kind}-{loop}" for kind, loop in FRONTS])
def front(request: pytest.FixtureRequest) -> tuple[str, str]:
    if request.param[0] == "cluster":
        pytest.importorskip("tractor", reason="the cluster needs the 'actors' extra")
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def anyio_backend(front: tuple[str, str]) -> str:
    return front[1]


@pytest.fixture
def open_front(front: tuple[str, str]) -> OpenFront:
    """``open_front(**options)``: an ``open_supervisor`` or an ``open_cluster``."""
    if front[0] == "supervisor":
        return open_supervisor
    from jsonvisor.cluster import open_cluster

    return partial(open_cluster, workers=1, loglevel="critical")


def doc(i: int) -> str:
    return json.dumps({"id": i, "name": f"item {i} é", "tags": ["a", "b"][: i % 3]})


def pieces(text: str, size: int = 3) -> list[str]:
    return [text[k : k + size] for k in range(0, len(text), size)]


async def send_all(front: Any, docs: dict[Any, str], *, end: bool = True) -> None:
    for msg_id, text in docs.items():
        for piece in pieces(text):
            await front.send(msg_id, piece)
        if end:
            await front.end(msg_id)


# ---------------------------------------------------------------------- the interface


async def test_both_are_front_ends_with_one_set_of_options(open_front: OpenFront) -> None:
    async with open_front() as front:
        assert isinstance(front, FrontEnd)
    fn = inspect.unwrap(open_front.func if isinstance(open_front, partial) else open_front)
    params = inspect.signature(fn).parameters
    for name in Options.names():
        if name in params:  # every option keyword defaults to the one set of defaults
            assert params[name].default == getattr(DEFAULTS, name), name
    assert "mailbox_size" in params and "mailbox_bytes" in params and "options" in params


async def test_options_object_or_keywords_not_both(open_front: OpenFront) -> None:
    with anyio.fail_after(60):
        async with open_front(options=Options(events_buffer=8)) as front:
            await front.send("a", "[1]")
            await front.end("a")
            assert (await front.result("a")).value == [1]
        with pytest.raises(TypeError, match="not both"):
            async with open_front(options=Options(), events_buffer=8):
                pass  # pragma: no cover
        with pytest.raises(ValueError, match="mailbox_size"):
            async with open_front(mailbox_size=0):
                pass  # pragma: no cover


# ---------------------------------------------------------------------- results


async def test_results_of_many_messages(open_front: OpenFront) -> None:
    docs = {f"m{i}": doc(i) for i in range(30)}
    with anyio.fail_after(60):
        async with open_front() as front:
            await send_all(front, docs)
            values = {m: (await front.result(m)).value for m in docs}
            stats = front.stats()
    assert values == {m: json.loads(t) for m, t in docs.items()}
    assert stats.messages_started == stats.messages_completed == 30
    assert stats.messages_finished == 30 and stats.open_mailboxes == 0
    assert stats.chunks_in == sum(len(pieces(t)) for t in docs.values())


async def test_bytes_and_text_chunks(open_front: OpenFront) -> None:
    with anyio.fail_after(60):
        async with open_front() as front:
            await front.send("b", b'{"k": "v\xc3')
            await front.send("b", b'\xa9"}')
            await front.send("s", '{"k": ')
            await front.send("s", '"é"}')
            await front.end("b")
            await front.end("s")
            assert (await front.result("b")).value == {"k": "vé"}
            assert (await front.result("s")).value == {"k": "é"}


async def test_malformed_input_fails_its_message_only(open_front: OpenFront) -> None:
    with anyio.fail_after(60):
        async with open_front() as front:
            await front.send("bad", '{"a": ]')
            await front.send("good", "[1, 2]")
            await front.end("bad")
            await front.end("good")
            with pytest.raises(JsonStreamError):
                await front.result("bad")
            assert (await front.result("good")).value == [1, 2]
            assert front.stats().messages_failed == 1


async def test_truncated_input_completes_with_repairs(open_front: OpenFront) -> None:
    with anyio.fail_after(60):
        async with open_front() as front:
            await front.send("t", '{"a": [1, 2')
            await front.end("t")
            result = await front.result("t")
    assert result.value == {"a": [1, 2]} and not result.complete and result.repairs


async def test_result_of_a_forgotten_message_is_unavailable(open_front: OpenFront) -> None:
    with anyio.fail_after(60):
        async with open_front(keep_results=2) as front:
            for i in range(4):
                await front.send(i, "[]")
                await front.end(i)
            for i in range(4):
                while front.is_open(i):
                    await anyio.sleep(0.01)
            kept = unavailable = 0
            for i in range(4):  # (in whatever order they finished: the last two are kept)
                try:
                    assert (await front.result(i)).value == []
                    kept += 1
                except ResultUnavailable:
                    unavailable += 1
            assert kept == unavailable == 2


# ---------------------------------------------------------------------- streams


async def test_events_are_every_message_in_order_then_one_terminal(
    open_front: OpenFront,
) -> None:
    docs = {f"m{i}": doc(i) for i in range(20)}
    builders = {m: ValueBuilder() for m in docs}
    terminals: dict[str, list[Any]] = {m: [] for m in docs}
    with anyio.fail_after(60):
        async with open_front() as front:
            async with anyio.create_task_group() as tg:

                async def consume() -> None:
                    async for event in front.events():
                        if isinstance(event, MessageEvent):
                            assert not terminals[event.msg_id]  # nothing after the end
                            builders[event.msg_id].apply([event.event])
                        elif is_terminal(event):
                            terminals[event.msg_id].append(event)

                tg.start_soon(consume)
                await send_all(front, docs)
                front.close_input()  # events() ends once every message has
            stats = front.stats()
    for m, text in docs.items():
        assert [type(t) for t in terminals[m]] == [Completed]
        assert terminals[m][0].value == json.loads(text) == builders[m].value
    assert stats.events_out >= stats.messages_finished == 20


async def test_results_stream_yields_one_terminal_each_and_ends(open_front: OpenFront) -> None:
    docs = {f"m{i}": doc(i) for i in range(10)}
    ends: list[Any] = []
    with anyio.fail_after(60):
        async with open_front() as front:
            async with anyio.create_task_group() as tg:

                async def consume() -> None:
                    async for end in front.results():
                        ends.append(end)

                tg.start_soon(consume)
                await front.send("bad", "]")
                await front.end("bad")
                await send_all(front, docs)
                front.close_input()
    assert sorted(e.msg_id for e in ends) == sorted([*docs, "bad"])
    assert all(isinstance(e, Completed) for e in ends if e.msg_id != "bad")
    assert [type(e) for e in ends if e.msg_id == "bad"] == [Failed]


async def test_subscriptions_before_and_after(open_front: OpenFront) -> None:
    with anyio.fail_after(60):
        async with open_front() as front:
            seen: list[Any] = []
            async with anyio.create_task_group() as tg:

                async def follow() -> None:
                    async with front.subscribe("s") as stream:
                        async for event in stream:
                            seen.append(event)

                tg.start_soon(follow)
                await anyio.sleep(0.05)
                await front.send("s", '{"x": [1, ')
                await front.send("s", "2]}")
                await front.end("s")
            assert isinstance(seen[-1], Completed) and seen[-1].value == {"x": [1, 2]}
            builder = ValueBuilder()
            for event in seen[:-1]:
                assert isinstance(event, MessageEvent) and event.msg_id == "s"
                builder.apply([event.event])
            assert builder.value == {"x": [1, 2]}
            async with front.subscribe("s") as late:  # finished: just its terminal event
                assert [type(e) async for e in late] == [Completed]


async def test_fan_in_off(open_front: OpenFront) -> None:
    with anyio.fail_after(60):
        async with open_front(fan_in=False) as front:
            with pytest.raises(RuntimeError, match="fan_in=False"):
                front.events()
            await front.send("a", "[true]")
            await front.end("a")
            assert (await front.result("a")).value == [True]


# ---------------------------------------------------------------------- control


async def test_cancel_and_dead_letters(open_front: OpenFront) -> None:
    with anyio.fail_after(60):
        async with open_front() as front:
            await front.send("c", "[1, ")
            assert front.cancel("c")
            assert not front.cancel("c")
            with pytest.raises(MessageCancelledError):
                await front.result("c")
            assert not front.is_open("c")
            await front.send("c", "2]")  # finished: a dead letter
            await front.send("e", "[]")
            await front.end("e")
            await front.send("e", "[]")  # ended (or finished): a dead letter
            await front.result("e")
            assert not front.cancel("never")
            reasons = front.dead_letters.by_reason()
            assert reasons.get("finished", 0) + reasons.get("ended", 0) == 2
            # (+ the supervisor's: the cancelled message's unread chunk, if it was not
            # fed yet; a cluster's root cannot know what its worker had read)
            assert front.stats().dead_letters >= 2
            assert front.stats().messages_cancelled == 1


async def test_end_without_input_and_ending_twice(open_front: OpenFront) -> None:
    with anyio.fail_after(60):
        async with open_front() as front:
            await front.end("empty")
            outcome: Any
            try:
                outcome = (await front.result("empty")).value
            except JsonStreamError as exc:
                outcome = exc
            await front.send("twice", "[]")
            await front.end("twice")
            await front.end("twice")
            assert (await front.result("twice")).value == []
    assert outcome is None or isinstance(outcome, JsonStreamError)


async def test_close_input_refuses_new_messages(open_front: OpenFront) -> None:
    with anyio.fail_after(60):
        async with open_front() as front:
            await front.send("open", "[")
            front.close_input()
            assert front.input_closed
            with pytest.raises(ClosedResourceError):
                await front.send("new", "[]")
            with pytest.raises(ClosedResourceError):
                await front.result("never")
            await front.send("open", "]")  # an open message goes on
            await front.end("open")
            assert (await front.result("open")).value == []


async def test_leaving_the_block_cancels_open_messages(open_front: OpenFront) -> None:
    caught: list[BaseException] = []

    async def wait(front: Any) -> None:
        try:
            await front.result("left")
        except MessageCancelledError as exc:
            caught.append(exc)

    with anyio.fail_after(60):
        async with anyio.create_task_group() as tg:
            async with open_front() as front:
                await front.send("left", "[1, 2")
                tg.start_soon(wait, front)
                await anyio.sleep(0.05)
    assert front.closed
    assert front.stats().messages_cancelled == 1
    assert len(caught) == 1 and caught[0].reason == "shutdown"  # type: ignore[attr-defined]
    with pytest.raises(ClosedResourceError):
        await front.send("late", "[]")


async def test_terminal_event_of_a_cancelled_message_is_cancelled(
    open_front: OpenFront,
) -> None:
    events: list[Any] = []
    with anyio.fail_after(60):
        async with open_front() as front:
            async with front.subscribe("x") as stream:
                await front.send("x", "[")
                front.cancel("x")
                async for event in stream:
                    events.append(event)
    assert isinstance(events[-1], Cancelled) and events[-1].reason == "cancelled"
    assert sum(map(is_terminal, events)) == 1



# ---------------------------------------------------------------------- options at work


async def test_send_many_and_the_counters_agree(open_front: OpenFront) -> None:
    with anyio.fail_after(60):
        async with open_front() as front:
            docs = {f"m{i}": doc(i) for i in range(6)}
            await front.send_many((k, p) for k, text in docs.items() for p in pieces(text, 5))
            await front.send_many([("bad", "{]")])
            for k in [*docs, "bad"]:
                await front.end(k)
            for k, text in docs.items():
                assert (await front.result(k)).value == json.loads(text)
            with pytest.raises(JsonStreamError):
                await front.result("bad")
            stats = front.stats()
            assert stats.messages_started == 7 and stats.open_mailboxes == 0
            assert (stats.messages_completed, stats.messages_failed) == (6, 1)
            assert stats.chunks_in >= sum(len(pieces(t, 5)) for t in docs.values())


async def test_parser_options_reach_every_message(open_front: OpenFront) -> None:
    # LLM mode through the parser option: prose and a fence around the answer.
    answer = 'Sure, here it is:\n```json\n{"city": \'Paris\', days: 3,}\n```\nAnything else?'
    with anyio.fail_after(60):
        async with open_front(parser={"lenient": True}) as front:
            for piece in pieces(answer, 4):
                await front.send("llm", piece)
            await front.end("llm")
            result = await front.result("llm")
            assert result.value == {"city": "Paris", "days": 3}


async def test_an_idle_message_expires(open_front: OpenFront) -> None:
    from jsonvisor.supervisor import Expired, MessageExpiredError

    with anyio.fail_after(60):
        async with open_front(idle_timeout=0.2) as front:
            await front.send("slow", '{"a": [1, ')
            with pytest.raises(MessageExpiredError):
                await front.result("slow")
            terminal = [ev async for ev in _terminals(front, "slow")]
            assert [type(ev) for ev in terminal] == [Expired]
            assert front.stats().messages_expired == 1


async def _terminals(front: Any, msg_id: str) -> Any:
    """The terminal events of ``msg_id`` still in the fan-in (read without waiting)."""
    async for ev in front.events():
        if is_terminal(ev) and ev.msg_id == msg_id:
            yield ev
            return


async def test_bytes_split_inside_characters_and_mixed_with_text(open_front: OpenFront) -> None:
    raw = json.dumps({"k": "\u00e9t\u00e9 \U0001f680 \u6771\u4eac"}, ensure_ascii=False).encode()
    with anyio.fail_after(60):
        async with open_front() as front:
            for i in range(len(raw)):
                await front.send(1, bytearray(raw[i : i + 1]))
            await front.send(2, raw[:5])
            await front.send(2, raw[5:].decode())
            await front.end(1)
            await front.end(2)
            assert (await front.result(1)).value == json.loads(raw)
            assert (await front.result(2)).value == json.loads(raw)


async def test_a_chunk_of_the_wrong_type_is_refused(open_front: OpenFront) -> None:
    with anyio.fail_after(60):
        async with open_front() as front:
            with pytest.raises(TypeError):
                await front.send("a", 42)
            assert not front.is_open("a")


async def test_many_interleaved_streams_through_small_mailboxes(open_front: OpenFront) -> None:
    docs = {f"m{i}": doc(i) for i in range(40)}
    queues = {m: pieces(text, 2) for m, text in docs.items()}
    with anyio.fail_after(120):
        async with open_front(mailbox_size=4) as front:
            for r in range(max(map(len, queues.values()))):
                for m, q in queues.items():
                    if r < len(q):
                        await front.send(m, q[r])
            for m in docs:
                await front.end(m)
            for m, text in docs.items():
                assert (await front.result(m)).value == json.loads(text)
            stats = front.stats()
            assert stats.messages_completed == len(docs) and stats.dead_letters == 0
