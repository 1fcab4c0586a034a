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

from collections import Counter
from typing import Any

import anyio
import pydantic
import pytest

from jsonvisor.parsers import StreamingJsonParser
from jsonvisor.supervisor import (
    Completed,
    MessageCancelledError,
    ModelValidationError,
    ParserFactoryError,
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


# ---------------------------------------------------------------------- 3. and 4.
# The fan-in default and the iterators that end are the contract of every front end:
# tests/test_frontends.py checks them on the supervisor and on the cluster.


async def collect(stream: Any, into: list[Any]) -> None:
    async for event in stream:
        into.append(event)


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
