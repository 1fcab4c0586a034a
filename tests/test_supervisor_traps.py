"""Regression tests for the supervisor's first-hour traps (issue 11), on trio and asyncio.

1. An unlimited restart policy with a factory that always raises spun without a
   checkpoint: the event loop froze and no timeout around the supervisor ever fired.
2. ``parser=StreamingJsonParser`` (the class itself) ended in ``ParserCrashed`` after
   retrying a construction ``TypeError`` as a crash.
3. With the default fan-in, a program that only awaits ``result()`` hung once the event
   buffer filled (and got a ``RuntimeWarning``).
4. ``async for ev in sup.events()`` never ended, so every program counted terminal events.
5. ``Completed`` did not carry the schema model and warnings, and a value that failed
   validation came back as ``result.model`` (the raw dict).
"""

from __future__ import annotations

import warnings
from collections import Counter
from typing import Any

import anyio
import pydantic
import pytest

from jsonvisor.parsers import JsonStreamError, StreamingJsonParser
from jsonvisor.supervisor import (
    Cancelled,
    Completed,
    Failed,
    FanInSwitchedOff,
    MessageCancelledError,
    MessageEvent,
    ModelValidationError,
    ParserFactoryError,
    Restarted,
    is_terminal,
    open_supervisor,
)
from test_supervisor_support import (  # noqa: F401 (anyio_backend, autojump: fixtures)
    anyio_backend,
    autojump,
    tasks_living,
    wait_all_tasks_blocked,
)

pytestmark = pytest.mark.anyio


def always_raises(msg_id: Any) -> Any:
    raise RuntimeError(f"no parser for {msg_id!r} today")


# ---------------------------------------------------------------------- 1. restart loops


async def test_an_unlimited_restart_policy_stays_cancellable() -> None:
    # The issue's program, in real time: the timeout around the supervisor must fire.
    before = tasks_living()
    with anyio.move_on_after(0.2) as scope:
        async with open_supervisor(
            always_raises, max_restarts=None, max_total_restarts=None, fan_in=False
        ) as sup:
            await sup.send("m", "[1, 2]")
            await sup.end("m")
            await sup.result("m")  # never comes: the factory always raises
    assert scope.cancelled_caught
    assert tasks_living() == before
    stats = sup.stats()
    assert stats.messages_cancelled == 1 and stats.restarts >= 1
    with pytest.raises(MessageCancelledError):
        await sup.result("m")


@pytest.mark.usefixtures("autojump")
async def test_restarts_in_a_row_back_off_and_let_the_loop_run() -> None:
    ticks = 0
    async with open_supervisor(
        always_raises,
        max_restarts=None,
        max_total_restarts=None,
        restart_backoff=0.01,
        max_restart_backoff=1.0,
        fan_in=False,
    ) as sup:
        async with anyio.create_task_group() as tg:

            async def ticker() -> None:
                nonlocal ticks
                while True:
                    ticks += 1
                    await anyio.sleep(0.01)

            tg.start_soon(ticker)
            await sup.send("m", "[1]")
            start = anyio.current_time()
            await anyio.sleep(60)  # virtual seconds
            restarts = sup.stats().restarts
            # Immediately, then 10, 20, 40 ... 640 ms, then once a second: about 60,
            # where a loop without back-off would have made millions (or frozen).
            assert 55 <= restarts <= 70, restarts
            assert ticks >= 5_000  # the loop kept running: a tick every 10 ms
            assert sup.cancel("m")  # cancel reaches a message waiting out its back-off
            with pytest.raises(MessageCancelledError):
                await sup.result("m")
            assert anyio.current_time() - start < 61
            tg.cancel_scope.cancel()
    assert sup.stats().messages_cancelled == 1


@pytest.mark.usefixtures("autojump")
async def test_a_parser_that_recovers_restarts_at_once_again() -> None:
    # The back-off applies to crashes in a row; after the parser took input, the next
    # crash restarts at once (as OTP does), and the value comes out right.
    crashes = {"2, ": 2, "3]": 1}

    class Flaky:
        def __init__(self) -> None:
            self.inner = StreamingJsonParser()

        def feed(self, chunk: str | bytes) -> Any:
            if crashes.get(chunk):  # type: ignore[call-overload]
                crashes[chunk] -= 1  # type: ignore[index]
                raise RuntimeError("flaky")
            return self.inner.feed(chunk)

        def finish(self) -> Any:
            return self.inner.finish()

        def snapshot(self) -> Any:
            return self.inner.snapshot()

    async with open_supervisor(Flaky, max_restarts=5, fan_in=False) as sup:
        await sup.send("m", "[1, ")
        await wait_all_tasks_blocked()
        await sup.send("m", "2, ")  # crashes twice in a row: restarted at once, then 10 ms
        await wait_all_tasks_blocked()
        assert sup.snapshot("m") is None  # backing off: no parser yet
        await anyio.sleep(0.01)
        await wait_all_tasks_blocked()
        assert sup.snapshot("m") == [1, 2]
        await sup.send("m", "3]")  # after taking input: restarted at once
        await wait_all_tasks_blocked()
        assert sup.snapshot("m") == [1, 2, 3]
        await sup.end("m")
        assert (await sup.result("m")).value == [1, 2, 3]
        assert sup.stats().restarts == 3


async def test_restart_backoff_options_are_validated() -> None:
    for bad in ({"restart_backoff": -1}, {"max_restart_backoff": 0}, {"restart_backoff": "1"}):
        with pytest.raises(ValueError):
            async with open_supervisor(**bad):  # type: ignore[arg-type]
                pass  # pragma: no cover


# ---------------------------------------------------------------------- 2. parser= forms


async def test_a_parser_class_a_mapping_and_a_factory_all_work() -> None:
    specs: list[Any] = [
        StreamingJsonParser,
        {"lenient": True},
        lambda msg_id: StreamingJsonParser(lenient=True),
        None,
    ]
    for spec in specs:
        async with open_supervisor(spec, fan_in=False) as sup:
            await sup.send("m", '{"a": [1, 2]')
            await sup.send("m", "}")
            await sup.end("m")
            assert (await sup.result("m")).value == {"a": [1, 2]}, spec
            assert sup.stats().restarts == 0
    async with open_supervisor({"lenient": True}, fan_in=False) as sup:
        await sup.send("m", "Sure! {'a': 1,} Enjoy")  # needs the lenient options
        await sup.end("m")
        assert (await sup.result("m")).value == {"a": 1}


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        (lambda: StreamingJsonParser(), "cannot be called with the message ID"),
        ({"lenient": True, "bogus": 1}, "bogus"),
        ({"max_depth": -1}, "max_depth"),
        (dict, "no feed/finish/snapshot method"),
        (42, "not callable"),
    ],
    ids=["no-argument factory", "unknown option", "bad option", "not a parser class", "int"],
)
async def test_a_parser_spec_that_cannot_work_fails_at_once(spec: Any, says: str) -> None:
    with pytest.raises(ParserFactoryError, match=says) as info:
        async with open_supervisor(spec):
            pass  # pragma: no cover
    assert isinstance(info.value, TypeError)  # a configuration error
    assert "parser=StreamingJsonParser" in str(info.value)  # and what to pass instead


async def test_a_factory_that_cannot_build_fails_the_message_once_not_four_times() -> None:
    calls = Counter[Any]()

    def needs_options(msg_id: Any) -> Any:
        calls[msg_id] += 1
        if msg_id == "none":
            return None  # forgot to return the parser
        return StreamingJsonParser(lenient=True, strictness=3)  # type: ignore[call-arg]

    async with open_supervisor(needs_options) as sup:
        async with anyio.create_task_group() as tg:
            ends: list[Any] = []

            async def read() -> None:
                async for end in sup.results():
                    ends.append(end)

            tg.start_soon(read)
            for m in ("a", "none"):
                await sup.send(m, "[1]")
                await sup.end(m)
            sup.close_input()
        for m, says in (("a", "raised TypeError"), ("none", "returned None")):
            with pytest.raises(ParserFactoryError, match=says) as info:
                await sup.result(m)
            assert info.value.msg_id == m
        assert isinstance(info.value, TypeError)
        stats = sup.stats()
    assert calls == {"a": 1, "none": 1}  # never retried
    assert stats.restarts == 0 and stats.crashes == 0 and stats.messages_failed == 2
    assert [type(e.error) for e in ends] == [ParserFactoryError, ParserFactoryError]
    assert isinstance(ends[0].error.__cause__, TypeError)


async def test_other_factory_errors_are_still_crashes_that_restart() -> None:
    made = 0

    def flaky(msg_id: Any) -> StreamingJsonParser:
        nonlocal made
        made += 1
        if made == 1:
            raise RuntimeError("the first one fails")
        return StreamingJsonParser()

    async with open_supervisor(flaky, fan_in=False) as sup:
        await sup.send("m", "[1]")
        await sup.end("m")
        assert (await sup.result("m")).value == [1]
        assert sup.stats().restarts == 1


# ---------------------------------------------------------------------- 3. the fan-in default


async def test_awaiting_only_results_never_hangs_with_the_default_fan_in() -> None:
    doc = "[" + ", ".join(["1"] * 300) + "]"  # 300 events per message
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and no RuntimeWarning either
        with anyio.fail_after(30):  # a guard against the old hang, not a timing check
            async with open_supervisor(events_buffer=64, mailbox_size=2) as sup:
                for i in range(20):
                    for k in range(0, len(doc), 50):
                        await sup.send(i, doc[k : k + 50])
                    await sup.end(i)
                values = [(await sup.result(i)).value for i in range(20)]
                assert sup.stats().messages_completed == 20
                with pytest.raises(FanInSwitchedOff, match="fan_in=True"):
                    sup.events()
                with pytest.raises(FanInSwitchedOff):
                    sup.results()
    assert all(len(v) == 300 for v in values)


async def test_result_of_one_message_with_many_events_does_not_hang() -> None:
    with anyio.fail_after(30):
        async with open_supervisor(events_buffer=8) as sup:
            await sup.send("m", "[" + ", ".join(["1"] * 100) + "]")
            await sup.end("m")
            assert len((await sup.result("m")).value) == 100


async def test_a_reader_started_with_the_producers_loses_nothing() -> None:
    # The fan-in is switched off only when nobody asked for it: a reader started next to
    # the producers, even with a tiny buffer, sees every event.
    seen: list[Any] = []
    async with open_supervisor(events_buffer=2, mailbox_size=1) as sup:
        async with anyio.create_task_group() as tg:

            async def produce(m: int) -> None:
                for chunk in ("[1, ", "2, ", "3]"):
                    await sup.send(m, chunk)
                await sup.end(m)

            async def wait_all() -> None:
                for m in range(10):
                    await sup.result(m)
                sup.close_input()

            await sup.send_many([(m, " ") for m in range(10)])  # parsers already running
            for m in range(10):
                tg.start_soon(produce, m)
            tg.start_soon(wait_all)
            tg.start_soon(lambda: collect(sup.events(), seen))
        assert not sup._hub.fan_in_switched_off
        assert len(seen) == sup.stats().events_out
    assert sum(map(is_terminal, seen)) == 10


async def collect(stream: Any, into: list[Any]) -> None:
    async for event in stream:
        into.append(event)


async def test_fan_in_must_be_a_known_mode() -> None:
    for bad in ("yes", 1, None):
        with pytest.raises(ValueError, match="fan_in"):
            async with open_supervisor(fan_in=bad):  # type: ignore[arg-type]
                pass  # pragma: no cover


# ---------------------------------------------------------------------- 4. iterators that end


async def test_events_end_once_input_is_closed_and_every_message_ended() -> None:
    async with open_supervisor() as sup:
        events: list[Any] = []
        async with anyio.create_task_group() as tg:

            async def produce(m: str, text: str) -> None:
                for i in range(0, len(text), 3):
                    await sup.send(m, text[i : i + 3])
                await sup.end(m)

            async def producers() -> None:
                async with anyio.create_task_group() as inner:
                    inner.start_soon(produce, "a", '{"name": "Ada", "langs": ["en"]}')
                    inner.start_soon(produce, "b", "[1, 2,, 3]")
                sup.close_input()

            tg.start_soon(producers)
            async for ev in sup.events():  # no counting: it ends by itself
                events.append(ev)
        assert sup.input_closed and not sup.closed
        ends = {e.msg_id: e for e in events if is_terminal(e)}
        assert isinstance(ends["a"], Completed) and ends["a"].value["langs"] == ["en"]
        assert isinstance(ends["b"], Failed) and isinstance(ends["b"].error, JsonStreamError)
        assert len(events) == sup.stats().events_out
        # After close_input: open messages only.
        with pytest.raises(anyio.ClosedResourceError, match="close_input"):
            await sup.send("c", "[")
        with pytest.raises(anyio.ClosedResourceError):
            sup.end_nowait("c")
        with pytest.raises(anyio.ClosedResourceError, match="never start"):
            await sup.result("c")
        with pytest.raises(anyio.ClosedResourceError):
            sup.subscribe("c")
        assert (await sup.result("a")).value["name"] == "Ada"
        await sup.send("a", "late")  # a finished message: a dead letter, as before
        assert [e async for e in sup.events()] == []


async def test_results_yield_each_outcome_once_and_end() -> None:
    async with open_supervisor(idle_timeout=60) as sup:
        async with anyio.create_task_group() as tg:
            ends: list[Any] = []

            async def read() -> None:
                async for end in sup.results():
                    ends.append(end)

            tg.start_soon(read)
            await sup.send("ok", '{"k": [1, 2]}')
            await sup.end("ok")
            await sup.send("bad", "]")
            await sup.send("cancelled", "[1")
            await wait_all_tasks_blocked()
            sup.cancel("cancelled")
            await sup.send("open", "[1, ")
            sup.close_input()
            await wait_all_tasks_blocked()
            assert sup.is_open("open")  # still accepted after close_input
            await sup.send("open", "2]")
            await sup.end("open")
        kinds = {e.msg_id: type(e).__name__ for e in ends}
        assert kinds == {
            "ok": "Completed",
            "bad": "Failed",
            "cancelled": "Cancelled",
            "open": "Completed",
        }
        assert len(ends) == 4 and all(is_terminal(e) for e in ends)
        # Only terminal events went through the fan-in once results() was asked for.
        assert sup._hub.fan_in is not None and not sup._hub.fan_in.items
        with pytest.raises(RuntimeError, match="same fan-in"):
            sup.events()


async def test_close_input_with_nothing_open_ends_the_streams_at_once() -> None:
    async with open_supervisor() as sup:
        waited: list[BaseException] = []
        followed: list[Any] = []

        async def waiter() -> None:
            try:
                await sup.result("never")
            except anyio.ClosedResourceError as exc:
                waited.append(exc)

        async def follower() -> None:
            async with sup.subscribe("never") as stream:
                followed.extend([e async for e in stream])

        async with anyio.create_task_group() as tg:
            tg.start_soon(waiter)
            tg.start_soon(follower)
            await wait_all_tasks_blocked()
            sup.close_input()  # their message can never start now: both end
        assert len(waited) == 1 and followed == []
        assert [e async for e in sup.results()] == []
        sup.close_input()  # idempotent


async def test_results_after_events_made_keeps_only_the_terminal_ones() -> None:
    async with open_supervisor() as sup:
        await sup.send("a", "[1, 2, 3]")
        await sup.end("a")
        await wait_all_tasks_blocked()  # its events are queued in the fan-in
        sup.close_input()
        assert [type(e).__name__ async for e in sup.results()] == ["Completed"]


async def test_events_with_fan_in_false_says_what_to_use() -> None:
    async with open_supervisor(fan_in=False) as sup:
        for method in (sup.events, sup.results):
            with pytest.raises(RuntimeError, match="fan_in=False"):
                method()


# ---------------------------------------------------------------------- 5. schema models


class Person(pydantic.BaseModel):
    name: str
    age: int


async def test_completed_carries_the_model_and_the_warnings() -> None:
    schema = {"schema": Person, "validate": True}
    async with open_supervisor(schema) as sup:
        good = '{"name": "Ada", "age": 36, "extra": 1}'
        bad = '{"name": "Bob", "age": "old"}'
        ends: list[Any] = []
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: collect(sup.results(), ends))
            await sup.send_many([("good", good), ("bad", bad)])
            await sup.end("good")
            await sup.end("bad")
            sup.close_input()
        by_id = {e.msg_id: e for e in ends}
        ok, failed = by_id["good"], by_id["bad"]
        assert isinstance(ok, Completed) and ok.model == Person(name="Ada", age=36)
        assert ok.validation_error is None
        assert [w.kind for w in ok.warnings] == ["unknown_key"]
        assert (await sup.result("good")).model == ok.model

        assert isinstance(failed, Completed) and failed.model is None
        assert failed.value == {"name": "Bob", "age": "old"}  # the parsed value is kept
        error = failed.validation_error
        assert isinstance(error, ModelValidationError) and isinstance(error, ValueError)
        assert error.msg_id == "bad" and [p.path for p in error.problems] == [("age",)]
        assert "$.age" in str(error) and "valid integer" in str(error)
        assert any(w.kind == "validation" for w in failed.warnings)
        result = await sup.result("bad")
        assert result.model is None and result.value == failed.value


async def test_completed_without_a_schema_has_no_model() -> None:
    async with open_supervisor() as sup:
        events: list[Any] = []
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: collect(sup.events(), events))
            await sup.send("m", "[1]")
            await sup.end("m")
            sup.close_input()
        [end] = [e for e in events if is_terminal(e)]
        assert end == Completed("m", [1], (), "high", True)
        assert (end.warnings, end.model, end.validation_error) == ((), None, None)
        assert all(isinstance(e, (MessageEvent, Restarted, Cancelled)) for e in events[:-1])
