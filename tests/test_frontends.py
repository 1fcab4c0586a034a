"""One suite, every front end: the supervisor and the cluster are two ways of feeding one
message hub (:mod:`jsonvisor.hub`), so what a user sees of them must agree.

As ijson runs every test over every backend, each test here runs against the supervisor
on trio, the supervisor on asyncio, and -- in the actors environment, where
``tests_actors/test_cluster_frontends.py`` collects this module -- the cluster (one worker
actor, trio).  Only the public :class:`~jsonvisor.hub.FrontEnd` interface is used: nothing
here depends on the supervisor's local tasks, and a test waits by polling (:func:`until`)
or on real time, never for "every task blocked".  What only one front end has (local
parser factories, ``snapshot()``, a mailbox's exact bound, a virtual clock) stays in
``tests/test_supervisor_*.py`` and ``tests_actors/``; docs/cluster.md lists the
differences.
"""

from __future__ import annotations

import inspect
import json
import os
import random
import time
import uuid
import warnings
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import pytest

from jsonvisor.hub import DEFAULTS, FrontEnd, Options
from jsonvisor.parsers import (
    DocumentCompleted,
    JsonStreamError,
    StreamingJsonParser,
    StringGrew,
    ValueBuilder,
)
from jsonvisor.supervisor import (
    Cancelled,
    ClosedResourceError,
    Completed,
    Expired,
    Failed,
    FanInSwitchedOff,
    MessageCancelledError,
    MessageEvent,
    MessageExpiredError,
    ParserCrashed,
    Restarted,
    ResultUnavailable,
    WatchEvent,
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
def open_front(front: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> OpenFront:
    """``open_front(**options)``: an ``open_supervisor`` or an ``open_cluster``."""
    if front[0] == "supervisor":
        return open_supervisor
    from jsonvisor.cluster import open_cluster

    # Workers import this module for its parser factory (crashing_parser).
    path = [str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, path)))
    return partial(open_cluster, workers=1, loglevel="critical")


@pytest.fixture
def kind(front: tuple[str, str]) -> str:
    """``"supervisor"`` or ``"cluster"``: for the few checks whose detail differs."""
    return front[0]


async def until(condition: Callable[[], object], timeout: float = 30.0) -> None:
    """Wait (polling) until ``condition()`` is true: the cluster's parsers run in another
    process, so there is no "every task is blocked" to wait for."""
    with anyio.fail_after(timeout):
        while not condition():
            await anyio.sleep(0.005)


class Collector:
    """Reads ``front.events()`` and files every event by message."""

    def __init__(self) -> None:
        self.events: list[Any] = []
        self.by_msg: dict[Any, list[Any]] = {}
        self.terminals: dict[Any, list[Any]] = {}
        self.ended = False

    async def run(self, front: Any) -> None:
        async for event in front.events():
            self.events.append(event)
            self.by_msg.setdefault(event.msg_id, []).append(event)
            if is_terminal(event):
                self.terminals.setdefault(event.msg_id, []).append(event)
        self.ended = True

    @property
    def finished(self) -> int:
        return sum(map(len, self.terminals.values()))

    async def wait_finished(self, n: int) -> None:
        await until(lambda: self.finished >= n)

    def parser_events(self, msg_id: Any) -> list[Any]:
        return [e.event for e in self.by_msg.get(msg_id, ()) if isinstance(e, MessageEvent)]


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
    assert stats.bytes_in == sum(len(t.encode()) for t in docs.values())  # UTF-8 bytes


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
            await front.send("bad", '{"a": 01}')
            await front.send("good", "[1, 2]")
            await front.end("bad")
            await front.end("good")
            with pytest.raises(JsonStreamError) as info:
                await front.result("bad")
            assert info.value.offset == 7  # the "1" after the leading zero
            assert (await front.result("good")).value == [1, 2]
            assert front.stats().messages_failed == 1


async def test_truncated_input_completes_with_repairs_unless_partial_is_refused(
    open_front: OpenFront,
) -> None:
    with anyio.fail_after(60):
        async with open_front(fan_in=False) as front:
            await front.send("t", '{"a": [1, "tw')
            await front.end("t")
            result = await front.result("t")
        assert result.value == {"a": [1, "tw"]} and not result.complete
        assert result.repairs and result.confidence == "medium"
        async with open_front(fan_in=False, allow_partial=False) as front:
            await front.send("t", '{"a": [1, "tw')
            await front.end("t")
            with pytest.raises(JsonStreamError) as info:
                await front.result("t")
    assert info.value.truncated


async def test_one_message_round_trip(open_front: OpenFront) -> None:
    collector = Collector()
    with anyio.fail_after(60):
        async with open_front() as front:
            async with anyio.create_task_group() as tg:
                tg.start_soon(collector.run, front)
                await front.send("a", '{"x": [1, 2')
                await front.send("a", ', 3], "s": "hel')
                await front.send("a", 'lo"}')
                await front.end("a")
                result = await front.result("a")
                await collector.wait_finished(1)
                tg.cancel_scope.cancel()
    assert result.value == {"x": [1, 2, 3], "s": "hello"}
    assert result.complete and result.confidence == "high"
    events = collector.by_msg["a"]
    assert all(e.msg_id == "a" for e in events)
    assert isinstance(events[-1], Completed)
    assert events[-1].value == result.value and events[-1].complete
    assert DocumentCompleted(0, result.value) in collector.parser_events("a")


async def test_result_before_start_during_and_after(open_front: OpenFront) -> None:
    got: dict[str, Any] = {}
    closed: list[BaseException] = []
    with anyio.fail_after(60):
        async with anyio.create_task_group() as outer:
            async with open_front(fan_in=False, keep_results=2) as front:

                async def wait_for(m: str) -> None:
                    got.setdefault(m, []).append((await front.result(m)).value)

                async with anyio.create_task_group() as tg:
                    tg.start_soon(wait_for, "early")  # before the message exists
                    tg.start_soon(wait_for, "early")  # two waiters for one message
                    await anyio.sleep(0.05)
                    await front.send("early", "[1]")
                    await front.end("early")
                assert got == {"early": [[1], [1]]}
                assert (await front.result("early")).value == [1]  # kept after completion
                for m in ("x", "y"):
                    await front.send(m, "0")
                    await front.end(m)
                    await front.result(m)
                with pytest.raises(ResultUnavailable):
                    await front.result("early")  # evicted by x and y (keep_results=2)
                with pytest.raises(ResultUnavailable):
                    front.subscribe("early")
                assert (await front.result("y")).value == 0

                async def never() -> None:
                    try:
                        await front.result("never-sent")
                    except ClosedResourceError as exc:
                        closed.append(exc)

                outer.start_soon(never)
                await anyio.sleep(0.05)
            # leaving the block: a message that never started never will
    assert len(closed) == 1


async def test_completed_without_a_schema_has_no_model(open_front: OpenFront) -> None:
    events: list[Any] = []
    with anyio.fail_after(60):
        async with open_front() as front:
            async with anyio.create_task_group() as tg:
                tg.start_soon(_collect, front.events(), events)
                await front.send("m", "[1]")
                await front.end("m")
                front.close_input()
    [end] = [e for e in events if is_terminal(e)]
    assert end == Completed("m", [1], (), "high", True)
    assert (end.warnings, end.model, end.validation_error) == ((), None, None)
    assert all(isinstance(e, MessageEvent) for e in events[:-1])


async def _collect(stream: Any, into: list[Any]) -> None:
    async for event in stream:
        into.append(event)


async def test_terminal_event_kinds_have_matching_counters(open_front: OpenFront) -> None:
    with anyio.fail_after(60):
        async with open_front(fan_in=False) as front:
            await front.send("ok", "[]")
            await front.end("ok")
            await front.send("bad", "]")
            await front.send("cancel", "[")
            front.cancel("cancel")
            ends = {}
            for m, error in (
                ("ok", None),
                ("bad", JsonStreamError),
                ("cancel", MessageCancelledError),
            ):
                async with front.subscribe(m) as stream:
                    ends[m] = [e async for e in stream if is_terminal(e)]
                if error is None:
                    await front.result(m)
                else:
                    with pytest.raises(error):
                        await front.result(m)
            s = front.stats()
    assert [type(e) for m in ("ok", "bad", "cancel") for e in ends[m]] == [
        Completed,
        Failed,
        Cancelled,
    ]
    assert (s.messages_completed, s.messages_failed, s.messages_cancelled) == (1, 1, 1)
    assert s.messages_started == s.messages_finished == 3 and s.open_mailboxes == 0


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


async def test_subscribe_before_during_and_after(open_front: OpenFront) -> None:
    seen: dict[str, list[Any]] = {"early": [], "late": []}
    with anyio.fail_after(60):
        async with open_front(fan_in=False) as front:

            async def follow(name: str) -> None:
                async with front.subscribe("m") as stream:
                    async for event in stream:
                        seen[name].append(event)

            async with anyio.create_task_group() as tg:
                tg.start_soon(follow, "early")
                await anyio.sleep(0.05)
                await front.send("m", '{"a": "x')
                await until(lambda: seen["early"])
                tg.start_soon(follow, "late")
                await anyio.sleep(0.05)
                await front.send("m", 'yz", "b": 2}')
                await front.end("m")
            early, late = seen["early"], seen["late"]
            assert isinstance(early[-1], Completed) and early[-1] == late[-1]
            assert early[-1].value == {"a": "xyz", "b": 2}
            assert len(late) < len(early) and early[-len(late) :] == late
            assert all(isinstance(e, MessageEvent) for e in early[:-1])
            builder = ValueBuilder()
            builder.apply([e.event for e in early[:-1]])
            assert builder.value == early[-1].value
            # After the message finished: just its terminal event.
            async with front.subscribe("m") as stream:
                assert [e async for e in stream] == [early[-1]]


async def test_leaving_a_subscription_early_does_not_block_the_message(
    open_front: OpenFront,
) -> None:
    with anyio.fail_after(60):
        async with open_front(fan_in=False, events_buffer=1) as front:
            async with front.subscribe("m") as stream:
                await front.send("m", '{"a": 1, "b": [1, 2, 3], "c": {"d": 4}}')
                first = await stream.receive()
                assert isinstance(first, MessageEvent)
            await front.end("m")
            assert (await front.result("m")).value["c"] == {"d": 4}


async def test_fan_in_off(open_front: OpenFront) -> None:
    with anyio.fail_after(60):
        async with open_front(fan_in=False) as front:
            for method in (front.events, front.results):
                with pytest.raises(RuntimeError, match="fan_in=False"):
                    method()
            await front.send("a", "[true]")
            await front.end("a")
            assert (await front.result("a")).value == [True]


async def test_events_end_once_input_is_closed_and_every_message_ended(
    open_front: OpenFront,
) -> None:
    events: list[Any] = []
    with anyio.fail_after(60):
        async with open_front() as front:
            async with anyio.create_task_group() as tg:

                async def produce(m: str, text: str) -> None:
                    for i in range(0, len(text), 3):
                        await front.send(m, text[i : i + 3])
                    await front.end(m)

                async def producers() -> None:
                    async with anyio.create_task_group() as inner:
                        inner.start_soon(produce, "a", '{"name": "Ada", "langs": ["en"]}')
                        inner.start_soon(produce, "b", "[1, 2,, 3]")
                    front.close_input()

                tg.start_soon(producers)
                async for ev in front.events():  # no counting: it ends by itself
                    events.append(ev)
            assert front.input_closed and not front.closed
            ends = {e.msg_id: e for e in events if is_terminal(e)}
            assert isinstance(ends["a"], Completed) and ends["a"].value["langs"] == ["en"]
            assert isinstance(ends["b"], Failed) and isinstance(ends["b"].error, JsonStreamError)
            assert len(events) == front.stats().events_out
            # After close_input: open messages only.
            with pytest.raises(ClosedResourceError, match="close_input"):
                await front.send("c", "[")
            with pytest.raises(ClosedResourceError):
                front.end_nowait("c")
            with pytest.raises(ClosedResourceError, match="never start"):
                await front.result("c")
            with pytest.raises(ClosedResourceError):
                front.subscribe("c")
            assert (await front.result("a")).value["name"] == "Ada"
            await front.send("a", "late")  # a finished message: a dead letter, as before
            assert front.dead_letters.by_reason() == {"finished": 1}
            assert [e async for e in front.events()] == []


async def test_results_yield_each_outcome_once_and_end(open_front: OpenFront) -> None:
    ends: list[Any] = []
    with anyio.fail_after(60):
        async with open_front(idle_timeout=60) as front:
            async with anyio.create_task_group() as tg:
                tg.start_soon(_collect, front.results(), ends)
                await front.send("ok", '{"k": [1, 2]}')
                await front.end("ok")
                await front.send("bad", "]")
                await front.send("cancelled", "[1")
                front.cancel("cancelled")
                await front.send("open", "[1, ")
                front.close_input()
                await anyio.sleep(0.05)
                assert front.is_open("open")  # still accepted after close_input
                await front.send("open", "2]")
                await front.end("open")
            with pytest.raises(RuntimeError, match="same fan-in"):
                front.events()
    kinds = {e.msg_id: type(e).__name__ for e in ends}
    assert kinds == {
        "ok": "Completed",
        "bad": "Failed",
        "cancelled": "Cancelled",
        "open": "Completed",
    }
    assert len(ends) == 4 and all(is_terminal(e) for e in ends)


async def test_close_input_with_nothing_open_ends_the_streams_at_once(
    open_front: OpenFront,
) -> None:
    waited: list[BaseException] = []
    followed: list[Any] = []
    with anyio.fail_after(60):
        async with open_front() as front:

            async def waiter() -> None:
                try:
                    await front.result("never")
                except ClosedResourceError as exc:
                    waited.append(exc)

            async def follower() -> None:
                async with front.subscribe("never") as stream:
                    followed.extend([e async for e in stream])

            async with anyio.create_task_group() as tg:
                tg.start_soon(waiter)
                tg.start_soon(follower)
                await anyio.sleep(0.05)
                front.close_input()  # their message can never start now: both end
            assert len(waited) == 1 and followed == []
            assert [e async for e in front.results()] == []
            front.close_input()  # idempotent


async def test_results_after_events_made_keeps_only_the_terminal_ones(
    open_front: OpenFront,
) -> None:
    with anyio.fail_after(60):
        async with open_front() as front:
            await front.send("a", "[1, 2, 3]")
            await front.end("a")
            await front.result("a")  # its events are queued in the fan-in before its end
            front.close_input()
            assert [type(e).__name__ async for e in front.results()] == ["Completed"]


async def test_awaiting_only_results_never_hangs_with_the_default_fan_in(
    open_front: OpenFront,
) -> None:
    text = "[" + ", ".join(["1"] * 300) + "]"  # 300 events per message
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and no RuntimeWarning either
        with anyio.fail_after(60):  # a guard against a hang, not a timing check
            async with open_front(events_buffer=64, mailbox_size=2) as front:
                for i in range(20):
                    for k in range(0, len(text), 50):
                        await front.send(i, text[k : k + 50])
                    await front.end(i)
                values = [(await front.result(i)).value for i in range(20)]
                assert front.stats().messages_completed == 20
                with pytest.raises(FanInSwitchedOff, match="fan_in=True"):
                    front.events()
                with pytest.raises(FanInSwitchedOff):
                    front.results()
    assert all(len(v) == 300 for v in values)


async def test_result_of_one_message_with_many_events_does_not_hang(
    open_front: OpenFront,
) -> None:
    with anyio.fail_after(60):
        async with open_front(events_buffer=8) as front:
            await front.send("m", "[" + ", ".join(["1"] * 100) + "]")
            await front.end("m")
            assert len((await front.result("m")).value) == 100


async def test_a_reader_started_with_the_producers_loses_nothing(open_front: OpenFront) -> None:
    # The fan-in is switched off only when nobody asked for it: a reader started next to
    # the producers, even with a tiny buffer, sees every event.
    seen: list[Any] = []
    with anyio.fail_after(60):
        async with open_front(events_buffer=2, mailbox_size=1) as front:
            async with anyio.create_task_group() as tg:

                async def produce(m: int) -> None:
                    for chunk in ("[1, ", "2, ", "3]"):
                        await front.send(m, chunk)
                    await front.end(m)

                async def wait_all() -> None:
                    for m in range(10):
                        await front.result(m)
                    front.close_input()

                await front.send_many([(m, " ") for m in range(10)])  # parsers already running
                for m in range(10):
                    tg.start_soon(produce, m)
                tg.start_soon(wait_all)
                tg.start_soon(_collect, front.events(), seen)
            assert len(seen) == front.stats().events_out
    assert sum(map(is_terminal, seen)) == 10
    assert all(isinstance(e, Completed) for e in seen if is_terminal(e))


# ---------------------------------------------------------------------- control


async def test_cancel_and_dead_letters(open_front: OpenFront) -> None:
    with anyio.fail_after(60):
        async with open_front() as front:
            await front.send("c", "[1, ")
            assert front.cancel("c")
            assert not front.cancel("c")
            with pytest.raises(MessageCancelledError) as info:
                await front.result("c")
            assert info.value.reason == "cancelled"
            assert not front.is_open("c")
            await front.send("c", "2]")  # finished: a dead letter
            await front.send("e", "[]")
            await front.end("e")
            await front.send("e", "[]")  # ended (or finished): a dead letter
            await front.result("e")
            assert not front.cancel("never")
            reasons = front.dead_letters.by_reason()
            assert reasons.get("finished", 0) + reasons.get("ended", 0) == 2
            # (+ the cancelled message's chunk as "unread", if it was not fed yet, or
            # not yet sent to a cluster's worker)
            assert front.stats().dead_letters >= 2
            assert front.stats().messages_cancelled == 1


async def test_end_without_input_and_ending_twice(open_front: OpenFront) -> None:
    with anyio.fail_after(60):
        async with open_front() as front:
            await front.end("empty")  # an empty message: it completes with no value
            result = await front.result("empty")
            await front.send("twice", "[]")
            await front.end("twice")
            await front.end("twice")
            assert (await front.result("twice")).value == []
            await front.end("twice")  # ending a finished message does nothing
            assert not front.is_open("twice")
    assert result.value is None and not result.complete and result.confidence == "low"


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


async def test_dead_letters_after_end_and_after_finish(open_front: OpenFront) -> None:
    letters: list[Any] = []
    with anyio.fail_after(60):
        async with open_front(fan_in=False, on_dead_letter=letters.append) as front:
            front.send_nowait("m", "[1")
            front.end_nowait("m")
            front.send_nowait("m", ", 2")  # after end: not fed
            assert (await front.result("m")).value == [1]
            await front.send("m", "]")  # after finish: never a new message
            await front.end("m")  # ending a finished message does nothing
            assert not front.is_open("m")
            front.send_nowait("c", "[1")
            front.send_nowait("c", ", 2")
            front.cancel("c")  # before its parser (or its worker) got them: never read
            with pytest.raises(MessageCancelledError):
                await front.result("c")
            stats = front.stats()
    assert [(d.msg_id, d.chunk, d.reason) for d in letters] == [
        ("m", ", 2", "ended"),
        ("m", "]", "finished"),
        ("c", "[1", "unread"),
        ("c", ", 2", "unread"),
    ]
    assert stats.dead_letters == 4 and stats.chunks_in == 3
    assert front.dead_letters.by_reason() == {"ended": 1, "finished": 1, "unread": 2}


async def test_leaving_the_block_cancels_open_messages_and_ends_the_fan_in(
    open_front: OpenFront,
) -> None:
    collector = Collector()
    caught: list[BaseException] = []

    async def wait(front: Any) -> None:
        try:
            await front.result("left")
        except MessageCancelledError as exc:
            caught.append(exc)

    with anyio.fail_after(60):
        async with anyio.create_task_group() as outer:
            async with open_front() as front:
                outer.start_soon(collector.run, front)
                for i in range(20):
                    await front.send(i, "[1, 2")
                await front.send("left", "[1, 2")
                outer.start_soon(wait, front)
                await front.send("done", "3")
                await front.end("done")
                await collector.wait_finished(1)
            assert front.closed
            with pytest.raises(ClosedResourceError):
                await front.send("x", "1")
            with pytest.raises(ClosedResourceError):
                front.end_nowait("x")
            with pytest.raises(MessageCancelledError) as info:
                await front.result(3)
            assert info.value.reason == "shutdown"
    assert collector.ended
    assert [e.reason for i in range(20) for e in collector.terminals[i]] == ["shutdown"] * 20
    assert len(caught) == 1 and caught[0].reason == "shutdown"  # type: ignore[attr-defined]
    stats = front.stats()
    assert stats.messages_cancelled == 21 and stats.open_mailboxes == 0
    assert stats.messages_completed == 1


async def test_errors_from_the_body_come_out_unwrapped(open_front: OpenFront) -> None:
    with anyio.fail_after(60), pytest.raises(KeyError):
        async with open_front() as front:
            await front.send("m", "[")
            raise KeyError("boom")


async def test_options_are_validated(open_front: OpenFront) -> None:
    for bad in (
        {"mailbox_size": 0},
        {"overflow": "spill"},
        {"offload": "gpu"},
        {"idle_timeout": 0},
        {"ttl": -1},
        {"max_restarts": -1},
        {"slice_size": 0},
        {"events_buffer": 0},
        {"restart_window": float("nan")},
        {"fan_in": "yes"},
        {"fan_in": 1},
        {"fan_in": None},
    ):
        with pytest.raises(ValueError):
            async with open_front(**bad):
                pass  # pragma: no cover


async def test_send_is_a_cancellation_point_even_when_it_does_not_wait(
    open_front: OpenFront,
) -> None:
    with anyio.fail_after(60):
        async with open_front(fan_in=False) as front:
            with anyio.CancelScope() as scope:
                scope.cancel()
                await front.send("m", "[")  # raises Cancelled before sending
            assert scope.cancelled_caught and not front.is_open("m")
            with anyio.CancelScope() as scope:
                scope.cancel()
                await front.send_many([("m", "[")])
            assert not front.is_open("m")
            with anyio.CancelScope() as scope:
                scope.cancel()
                await front.end("m")
            assert not front.is_open("m") and front.stats().messages_started == 0


async def test_cancel_reaches_a_message_waiting_on_a_slow_subscriber(
    open_front: OpenFront,
) -> None:
    with anyio.fail_after(60):
        async with open_front(events_buffer=1, fan_in=False) as front:
            async with front.subscribe("m") as stream:
                await front.send("m", "[1, 2, 3, 4")  # one step's events overshoot the bound
                await anyio.sleep(0.1)
                await front.send("m", ", 5, 6")  # the next step waits for room
                await anyio.sleep(0.1)
                assert front.cancel("m")
                await until(lambda: not front.is_open("m"))
                seen = [event async for event in stream]
            with pytest.raises(MessageCancelledError):
                await front.result("m")
    assert isinstance(seen[-1], Cancelled) and seen[-1].reason == "cancelled"
    assert sum(map(is_terminal, seen)) == 1


async def test_cancelling_the_enclosing_scope_is_prompt(open_front: OpenFront) -> None:
    terminals: list[Any] = []
    with anyio.fail_after(60):
        with anyio.CancelScope() as scope:
            async with open_front(mailbox_size=1, events_buffer=1) as front:
                async with anyio.create_task_group() as tg:
                    for i in range(200):
                        tg.start_soon(front.send, i, "[1, 2, 3")

                    async def reader() -> None:
                        async for event in front.events():
                            if is_terminal(event):
                                terminals.append(event)

                    tg.start_soon(reader)
                    await until(lambda: front.stats().messages_started == 200)
                    start = time.perf_counter()
                    scope.cancel()
                    await anyio.sleep_forever()
    assert time.perf_counter() - start < 5
    stats = front.stats()
    assert stats.messages_started == 200
    assert stats.open_mailboxes == 0 and stats.messages_cancelled == stats.messages_started
    assert all(isinstance(t, Cancelled) and t.reason == "shutdown" for t in terminals)


async def test_shutdown_with_a_full_fan_in_and_nobody_reading(open_front: OpenFront) -> None:
    # Terminal events never wait for room, so shutdown cannot deadlock on the fan-in.
    with anyio.fail_after(60):
        async with open_front(events_buffer=1, fan_in=True) as front:
            for i in range(50):
                await front.send(i, '{"k": [1, 2, 3')
            await anyio.sleep(0.1)
        remaining = [e async for e in front.events()]
    assert sum(isinstance(e, Cancelled) for e in remaining) == 50
    assert front.stats().messages_cancelled == 50


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
            items = [("a", "["), ("b", '{"k":'), ("a", "1,"), ("b", " true}"), ("a", "2]")]
            await front.send_many(items)  # routed in order
            await front.send_many([])
            docs = {f"m{i}": doc(i) for i in range(6)}
            await front.send_many((k, p) for k, text in docs.items() for p in pieces(text, 5))
            await front.send_many([("bad", "{]")])
            for k in ["a", "b", *docs, "bad"]:
                await front.end(k)
            assert (await front.result("a")).value == [1, 2]
            assert (await front.result("b")).value == {"k": True}
            for k, text in docs.items():
                assert (await front.result(k)).value == json.loads(text)
            with pytest.raises(JsonStreamError):
                await front.result("bad")
            stats = front.stats()
            assert stats.messages_started == 9 and stats.open_mailboxes == 0
            assert (stats.messages_completed, stats.messages_failed) == (8, 1)
            assert stats.chunks_in == 6 + sum(len(pieces(t, 5)) for t in docs.values())


async def test_parser_options_reach_every_message(open_front: OpenFront) -> None:
    # LLM mode through the parser option: prose and a fence around the answer.
    answer = "Sure, here it is:\n```json\n{\"city\": 'Paris', days: 3,}\n```\nAnything else?"
    with anyio.fail_after(60):
        async with open_front(parser={"lenient": True}) as front:
            for piece in pieces(answer, 4):
                await front.send("llm", piece)
            await front.end("llm")
            result = await front.result("llm")
            assert result.value == {"city": "Paris", "days": 3}


# ---------------------------------------------------------------------- expiry (real time)
# The supervisor's tests of the exact timing run on a virtual clock
# (test_supervisor_timeouts.py); a cluster's workers run on their own real clocks.


async def test_an_idle_message_expires(open_front: OpenFront) -> None:
    with anyio.fail_after(60):
        async with open_front(idle_timeout=1.5) as front:
            collector = Collector()
            async with anyio.create_task_group() as tg:
                tg.start_soon(collector.run, front)
                await front.send("m", '{"a": ')
                await anyio.sleep(0.5)
                assert front.is_open("m")
                await front.send("m", "1")  # a chunk restarts the idle timer
                last = time.perf_counter()
                await anyio.sleep(0.5)
                assert front.is_open("m")
                with pytest.raises(MessageExpiredError) as info:
                    await front.result("m")
                assert info.value.reason == "idle"
                assert time.perf_counter() - last >= 1.4  # 1.5 s after the last chunk
                await front.send("m", "}")  # too late: a dead letter, not a new message
                await collector.wait_finished(1)
                tg.cancel_scope.cancel()
    assert collector.terminals["m"] == [Expired("m", "idle")]
    assert front.stats().messages_expired == 1
    assert front.dead_letters.by_reason() == {"finished": 1}


async def test_busy_message_does_not_expire_while_chunks_keep_coming(
    open_front: OpenFront,
) -> None:
    with anyio.fail_after(60):
        async with open_front(idle_timeout=1.0, fan_in=False) as front:
            await front.send("m", "[")
            for _ in range(15):  # 3 s in all
                await anyio.sleep(0.2)
                await front.send("m", "1, ")
            await front.send("m", "1]")
            await front.end("m")
            assert len((await front.result("m")).value) == 16


async def test_ttl_bounds_a_message_that_never_goes_idle(open_front: OpenFront) -> None:
    with anyio.fail_after(60):
        async with open_front(idle_timeout=1.0, ttl=1.5, fan_in=False) as front:
            start = time.perf_counter()
            await front.send("m", "[")
            while front.is_open("m"):
                await anyio.sleep(0.1)
                await front.send("m", "1, ")
            with pytest.raises(MessageExpiredError) as info:
                await front.result("m")
            assert info.value.reason == "ttl"
            assert 1.4 <= time.perf_counter() - start <= 10
            assert front.stats().messages_expired == 1


async def test_expiry_is_per_message(open_front: OpenFront) -> None:
    with anyio.fail_after(60):
        async with open_front(idle_timeout=1.0, fan_in=False) as front:
            await front.send("quiet", "[")
            await front.send("chatty", "[")
            for _ in range(12):
                await anyio.sleep(0.1)
                await front.send("chatty", "0, ")
            await until(lambda: not front.is_open("quiet"))
            assert front.is_open("chatty")
            await front.send("chatty", "0]")
            await front.end("chatty")
            assert (await front.result("chatty")).value == [0] * 13
            with pytest.raises(MessageExpiredError):
                await front.result("quiet")


# ---------------------------------------------------------------------- backpressure


async def test_an_unread_fan_in_stops_the_producers_until_it_is_read(
    open_front: OpenFront, kind: str
) -> None:
    # (A cluster's bound is its window of unapplied calls per worker; a supervisor's,
    # each message's mailbox: see their own backpressure tests.)
    extra = {"window": 16} if kind == "cluster" else {}
    sent = 0
    with anyio.fail_after(60):
        async with open_front(mailbox_size=4, events_buffer=8, fan_in=True, **extra) as front:

            async def producer() -> None:
                nonlocal sent
                await front.send("m", "[")
                for _ in range(1000):
                    await front.send("m", "1, ")
                    sent += 1

            collector = Collector()
            async with anyio.create_task_group() as tg:
                tg.start_soon(producer)
                with pytest.warns(RuntimeWarning, match="events.. was never called"):
                    await anyio.sleep(2.0)  # something has waited on the fan-in for 1 s
                blocked_at = sent
                assert blocked_at < 1000
                await anyio.sleep(0.2)
                assert sent == blocked_at  # still stuck: no unbounded growth anywhere
                tg.start_soon(collector.run, front)  # a reader appears: it all flows
                await until(lambda: sent == 1000)
                await front.send("m", "1]")
                await front.end("m")
                await collector.wait_finished(1)
                tg.cancel_scope.cancel()
    [terminal] = collector.terminals["m"]
    assert isinstance(terminal, Completed) and len(terminal.value) == 1001


async def test_end_and_cancel_never_wait_behind_a_full_input(
    open_front: OpenFront, kind: str
) -> None:
    extra = {"window": 4} if kind == "cluster" else {}
    with anyio.fail_after(60):
        async with open_front(mailbox_size=2, events_buffer=1, fan_in=True, **extra) as front:
            # Nobody reads events(): the parsing stops, and the input fills up.
            async def fill(m: str) -> None:
                await front.send(m, "[")
                while True:
                    try:
                        front.send_nowait(m, "1, ")
                    except anyio.WouldBlock:
                        return
                    await anyio.sleep(0.01)

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # the fan-in is never read
                await fill("m")
                with anyio.fail_after(1):
                    await front.end("m")  # returns at once, although the input is full
                assert front.is_open("m")
                # cancel() also takes effect at once, and a producer waiting for room
                # is released: its chunk becomes a dead letter.
                async with anyio.create_task_group() as tg:

                    async def blocked_producer() -> None:
                        await front.send("n", "[")
                        while front.is_open("n"):
                            await front.send("n", "1, ")

                    tg.start_soon(blocked_producer)
                    await until(lambda: front.is_open("n"))
                    await anyio.sleep(0.2)
                    with anyio.fail_after(1):
                        assert front.cancel("n")
                assert not front.is_open("n")
                with pytest.raises(MessageCancelledError):
                    await front.result("n")
                reasons = front.dead_letters.by_reason()
                assert reasons.get("unread", 0) + reasons.get("finished", 0) >= 1


# ---------------------------------------------------------------------- crashes

_CRASHED: dict[Any, int] = {}  # crashes so far by message (in the process that parses)


class _CrashingParser:
    """A StreamingJsonParser that raises RuntimeError when fed text with a "!" in it, the
    first ``n`` times for a message ``("crashes", n, tag)`` (every parser of the message,
    restarts included, counts towards ``n``)."""

    def __init__(self, msg_id: Any) -> None:
        self.inner = StreamingJsonParser()
        self.msg_id = msg_id

    def feed(self, chunk: Any) -> Any:
        msg_id = self.msg_id
        if "!" in (chunk if isinstance(chunk, str) else chunk.decode()):
            done = _CRASHED.get(msg_id, 0)
            if isinstance(msg_id, tuple) and msg_id[0] == "crashes" and done < msg_id[1]:
                _CRASHED[msg_id] = done + 1
                raise RuntimeError(f"crash {done + 1} of {msg_id!r}")
        return self.inner.feed(chunk)

    def finish(self) -> Any:
        return self.inner.finish()

    def snapshot(self) -> Any:
        return self.inner.snapshot()


def crashing_parser(msg_id: Any) -> _CrashingParser:
    """The parser factory of the crash tests (module level: a cluster's workers import it)."""
    return _CrashingParser(msg_id)


async def test_a_crashed_parser_is_restarted_and_its_input_replayed(
    open_front: OpenFront,
) -> None:
    victim, bystander = ("crashes", 2, uuid.uuid4().hex), "bystander"
    docs = {
        victim: json.dumps({"title": "a long title! " * 5, "items": list(range(30))}),
        bystander: doc(2),
    }
    collector = Collector()
    with anyio.fail_after(60):
        async with open_front(parser=crashing_parser, max_restarts=5) as front:
            async with anyio.create_task_group() as tg:
                tg.start_soon(collector.run, front)
                await send_all(front, docs)
                await collector.wait_finished(2)
                tg.cancel_scope.cancel()
            assert (await front.result(victim)).value == json.loads(docs[victim])
            stats = front.stats()
    events = collector.by_msg[victim]
    restarts = [e for e in events if isinstance(e, Restarted)]
    assert [r.attempt for r in restarts] == [1, 2]
    assert all(isinstance(r.error, RuntimeError) for r in restarts)
    assert isinstance(events[-1], Completed) and events[-1].value == json.loads(docs[victim])
    # The replay's events are not delivered again: they rebuild the value exactly once.
    parser_events = collector.parser_events(victim)
    builder = ValueBuilder()
    builder.apply(parser_events)
    assert builder.value == json.loads(docs[victim])
    assert sum(isinstance(e, DocumentCompleted) for e in parser_events) == 1
    # Nobody else noticed.
    assert not any(isinstance(e, Restarted) for e in collector.by_msg[bystander])
    assert collector.by_msg[bystander][-1].value == json.loads(docs[bystander])
    assert stats.restarts == 2 and stats.messages_completed == 2


async def test_too_many_crashes_fail_the_message_only(open_front: OpenFront) -> None:
    doomed = ("crashes", 1000, uuid.uuid4().hex)
    docs = {doomed: '["!", 2, 3]', "fine": "[4, 5, 6]"}
    collector = Collector()
    with anyio.fail_after(60):
        async with open_front(parser=crashing_parser, max_restarts=2, restart_window=60) as front:
            async with anyio.create_task_group() as tg:
                tg.start_soon(collector.run, front)
                await send_all(front, docs)
                await collector.wait_finished(2)
                tg.cancel_scope.cancel()
            with pytest.raises(ParserCrashed) as info:
                await front.result(doomed)
            stats = front.stats()
    [terminal] = collector.terminals[doomed]
    assert isinstance(terminal, Failed) and isinstance(terminal.error, ParserCrashed)
    assert info.value.crashes == 3 and isinstance(info.value.__cause__, RuntimeError)
    assert [e.attempt for e in collector.by_msg[doomed] if isinstance(e, Restarted)] == [1, 2]
    assert collector.terminals["fine"][0].value == [4, 5, 6]
    assert stats.messages_failed == 1 and stats.messages_completed == 1 and stats.restarts == 2


# ---------------------------------------------------------------------- watched paths

WATCHED = {"summary": "Two steps", "steps": [{"title": "plan", "n": 1}, {"title": "ship", "n": 2}]}
WATCHED_TEXT = json.dumps(WATCHED)


async def _run_watched(open_front: OpenFront, chunks: list[str], **options: Any) -> list[Any]:
    """Every event of message "m" (fan-in), in order."""
    with anyio.fail_after(60):
        async with open_front(**options) as front:
            for c in chunks:
                await front.send("m", c)
            await front.end("m")
            front.close_input()
            return [ev async for ev in front.events()]


@pytest.mark.parametrize("step", [1, 3, 7, len(WATCHED_TEXT)])
async def test_each_watched_value_once_after_the_events_that_completed_it(
    open_front: OpenFront, step: int
) -> None:
    text = WATCHED_TEXT
    chunks = [text[i : i + step] for i in range(0, len(text), step)]
    events = await _run_watched(open_front, chunks, watch=["$.steps[*].title", "$.summary"])
    watched = [ev.item for ev in events if isinstance(ev, WatchEvent)]
    assert sorted((w.path, w.value) for w in watched) == [
        (("steps", 0, "title"), "plan"),
        (("steps", 1, "title"), "ship"),
        (("summary",), "Two steps"),
    ]
    assert all(w.complete for w in watched)
    # each one after the parser event that completed it (or its ancestor), before the end
    for w in watched:
        i = next(i for i, ev in enumerate(events) if isinstance(ev, WatchEvent) and ev.item is w)
        done = [
            j
            for j, ev in enumerate(events[:i])
            if isinstance(ev, MessageEvent)
            and getattr(ev.event, "path", None) is not None
            and w.path[: len(ev.event.path)] == ev.event.path
            and type(ev.event).__name__ == "ValueCompleted"
        ]
        assert done, w
    assert isinstance(events[-1], Completed)
    assert _one_terminal_last(events)


def _one_terminal_last(events: list[Any]) -> bool:
    """Exactly one terminal event, the last."""
    return sum(map(is_terminal, events)) == 1 and is_terminal(events[-1])


async def test_a_watched_value_cut_by_the_end_of_input_is_marked(open_front: OpenFront) -> None:
    text = WATCHED_TEXT[: WATCHED_TEXT.index("ship") + 2]
    events = await _run_watched(open_front, [text], watch="$.steps[*].title")
    watched = [ev.item for ev in events if isinstance(ev, WatchEvent)]
    assert [(w.value, w.complete) for w in watched] == [("plan", True), ("sh", False)]


async def test_growing_text_with_watch_text(open_front: OpenFront) -> None:
    text = WATCHED_TEXT
    chunks = [text[i : i + 4] for i in range(0, len(text), 4)]
    events = await _run_watched(open_front, chunks, watch="$.summary", watch_text=True)
    items = [ev.item for ev in events if isinstance(ev, WatchEvent)]
    texts = [it.text for it in items if type(it).__name__ == "WatchedText"]
    assert "".join(texts) == "Two steps"  # (chunks sent at once may be fed as one)
    assert [it.value for it in items if type(it).__name__ == "WatchedValue"] == ["Two steps"]


async def test_a_bad_watched_path_is_refused_at_open(open_front: OpenFront) -> None:
    with pytest.raises(ValueError):
        async with open_front(watch="$.items["):
            pass  # pragma: no cover


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


@pytest.mark.parametrize("interleave", ["round_robin", "random"])
async def test_many_interleaved_streams(open_front: OpenFront, interleave: str) -> None:
    rng = random.Random(7)
    docs = {
        f"m{i}": json.dumps({"id": i, "name": f"item {i} \u00e9\U0001f680", "n": i * 1.5})
        for i in range(150)
    }
    queues = {m: pieces(d, rng.randint(1, 8)) for m, d in docs.items()}
    order: list[tuple[str, str]] = []
    if interleave == "round_robin":
        for r in range(max(map(len, queues.values()))):
            order += [(m, q[r]) for m, q in queues.items() if r < len(q)]
    else:
        pending = {m: list(q) for m, q in queues.items()}
        while pending:
            m = rng.choice(list(pending))
            order.append((m, pending[m].pop(0)))
            if not pending[m]:
                del pending[m]
    collector = Collector()
    with anyio.fail_after(120):
        async with anyio.create_task_group() as outer:
            async with open_front(mailbox_size=4) as front:
                outer.start_soon(collector.run, front)
                for m, chunk in order:
                    await front.send(m, chunk)
                for m in docs:
                    await front.end(m)
                await collector.wait_finished(len(docs))
                stats = front.stats()
    assert collector.ended
    for m, text in docs.items():
        events = collector.by_msg[m]
        assert len(collector.terminals[m]) == 1 and events[-1] is collector.terminals[m][0]
        assert events[-1].value == json.loads(text)
        # Strings are delivered as deltas that add up to the whole string.
        name = "".join(
            e.text
            for e in collector.parser_events(m)
            if isinstance(e, StringGrew) and e.path == ("name",)
        )
        assert json.loads(text)["name"].startswith(name)
        builder = ValueBuilder()
        builder.apply(collector.parser_events(m))
        assert builder.value == json.loads(text)
    assert stats.messages_started == stats.messages_completed == len(docs)
    assert stats.open_mailboxes == 0 and stats.dead_letters == 0
    assert stats.chunks_in == len(order)
    assert stats.bytes_in == sum(len(d.encode()) for d in docs.values())  # UTF-8 bytes
    assert stats.events_out == len(collector.events)
