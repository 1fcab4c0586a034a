"""Fault tolerance: crashes restart and replay, bad input fails one message, escalation."""

from __future__ import annotations

import random
from typing import Any

import anyio
import pytest

from jsonvisor.parsers import (
    JsonStreamError,
    StreamingJsonParser,
    StringGrew,
    ValueBuilder,
)
from jsonvisor.supervisor import (
    Failed,
    MessageEvent,
    ParserCrashed,
    Restarted,
    RestartIntensityExceeded,
    open_supervisor,
)
from test_supervisor_support import (  # noqa: F401 (anyio_backend: a fixture)
    Collector,
    CrashingParser,
    anyio_backend,
    autojump,
    random_chunks,
    small_doc,
    tasks_living,
    wait_all_tasks_blocked,
)

pytestmark = pytest.mark.anyio


def crashing_factory(plans: dict[Any, dict[Any, Any]], **kwargs: Any) -> Any:
    def factory(msg_id: Any) -> Any:
        return CrashingParser(plans.setdefault(msg_id, {}), **kwargs)

    return factory


async def run_messages(
    sup: Any, docs: dict[Any, str], rng: random.Random, pace: bool = True
) -> Collector:
    collector = Collector()
    async with anyio.create_task_group() as nursery:
        nursery.start_soon(collector.run, sup)
        queues = {m: random_chunks(d, rng) for m, d in docs.items()}
        for r in range(max(map(len, queues.values()))):
            for m, q in queues.items():
                if r < len(q):
                    await sup.send(m, q[r])
            if pace:
                await wait_all_tasks_blocked()
        for m in docs:
            await sup.end(m)
        await collector.wait_finished(len(docs))
        nursery.cancel_scope.cancel()
    return collector


def assert_events_rebuild(events: list[Any], final: Any) -> None:
    """Applying ``events`` in order gives ``final``, and every intermediate string is a
    prefix of its final value (a repeated delta would break that)."""
    builder = ValueBuilder()
    for event in events:
        builder.apply([event])
        if isinstance(event, StringGrew):
            node, want = builder.value, final
            for part in event.path:
                node, want = node[part], want[part]
            assert want.startswith(node), (node, want)
    assert builder.value == final


async def test_crash_in_finish_and_in_the_factory_restart_too() -> None:
    plans: dict[Any, dict[Any, Any]] = {"m": {"finish": 2}}
    made = 0

    def factory(msg_id: Any) -> Any:
        nonlocal made
        made += 1
        if made == 1:
            raise RuntimeError("factory bug")
        return CrashingParser(plans.setdefault(msg_id, {}))

    async with open_supervisor(factory, max_restarts=5, fan_in=False) as sup:
        await sup.send("m", '{"a": [1, 2]}')
        await sup.end("m")
        assert (await sup.result("m")).value == {"a": [1, 2]}
        stats = sup.stats()
        # (Restart and replay on every front end: tests/test_frontends.py.)
        assert stats.restarts == 3 and stats.crashes == 3 and stats.errors == 3
    assert made == 4


@pytest.mark.usefixtures("autojump")
async def test_restart_window_forgets_old_crashes() -> None:
    # Feed calls count replays too: each chunk's first feed crashes, its replay succeeds.
    plans: dict[Any, dict[Any, Any]] = {"m": {0: True, 2: True, 5: True, 9: True}}
    async with open_supervisor(
        crashing_factory(plans), max_restarts=1, restart_window=10, fan_in=False
    ) as sup:
        for chunk in ["[", "1, ", "2, ", "3]"]:
            await sup.send("m", chunk)
            await wait_all_tasks_blocked()
            await anyio.sleep(11)  # each crash is alone in its window
        await sup.end("m")
        assert (await sup.result("m")).value == [1, 2, 3]
        assert sup.stats().restarts == 4


async def test_input_over_max_bytes_cannot_be_replayed() -> None:
    plans: dict[Any, dict[Any, Any]] = {"m": {2: True}}
    async with open_supervisor(crashing_factory(plans), max_bytes=10, fan_in=False) as sup:
        await sup.send("m", '["0123456789", ')
        await wait_all_tasks_blocked()
        await sup.send("m", "1, ")
        await wait_all_tasks_blocked()
        await sup.send("m", "2]")
        await sup.end("m")
        with pytest.raises(ParserCrashed) as info:
            await sup.result("m")
        assert "max_bytes" in str(info.value)
        assert sup.stats().restarts == 0


async def test_supervisor_wide_intensity_escalates() -> None:
    always = {n: True for n in range(1000)}
    plans: dict[Any, dict[Any, Any]] = {i: dict(always) for i in range(20)}
    before = tasks_living()
    seen: list[Any] = []
    with pytest.raises(RestartIntensityExceeded) as info:
        async with open_supervisor(
            crashing_factory(plans), max_restarts=3, max_total_restarts=10, total_restart_window=60
        ) as sup:
            async with anyio.create_task_group() as nursery:

                async def consume() -> None:
                    async for event in sup.events():
                        seen.append(event)

                nursery.start_soon(consume)
                for i in range(20):
                    await sup.send(i, "[1, 2]")
                    await sup.end(i)
                await anyio.sleep_forever()  # cancelled when the supervisor fails
    assert tasks_living() == before
    assert isinstance(info.value.__cause__, RuntimeError)
    assert info.value.restarts == 10
    assert sup.stats().restarts == 10 and sup.stats().open_mailboxes == 0
    # The consumer was cancelled with the supervisor: it saw some of the restarts.
    assert sum(isinstance(e, Restarted) for e in seen) <= 10


async def test_malformed_input_fails_only_that_message_and_is_not_retried() -> None:
    made: list[Any] = []

    def factory(msg_id: Any) -> StreamingJsonParser:
        made.append(msg_id)
        return StreamingJsonParser()

    docs = {"bad": '{"a": [1, 2,, 3]}', "good": '{"a": [1, 2, 3]}', "bad2": "[1] [2]"}
    async with open_supervisor(factory) as sup:
        collector = await run_messages(sup, docs, random.Random(3))
        stats = sup.stats()
    for m, offset in (("bad", docs["bad"].index(",,") + 1), ("bad2", docs["bad2"].rindex("["))):
        [terminal] = collector.terminals[m]
        assert isinstance(terminal, Failed) and isinstance(terminal.error, JsonStreamError)
        assert terminal.error.offset == offset
        # Events before the error were delivered; nothing after it.
        assert all(isinstance(e, MessageEvent) for e in collector.by_msg[m][:-1])
    assert collector.terminals["good"][0].value == {"a": [1, 2, 3]}
    assert sorted(made, key=str) == ["bad", "bad2", "good"]  # no restart for bad input
    assert stats.restarts == 0 and stats.errors == 2 and stats.messages_failed == 2


async def test_chunks_queued_behind_an_error_become_dead_letters() -> None:
    async with open_supervisor(fan_in=False) as sup:
        sup.send_nowait("m", "[1, x")
        await wait_all_tasks_blocked()
        sup.send_nowait("m", "2")
        await wait_all_tasks_blocked()
        with pytest.raises(JsonStreamError):
            await sup.result("m")
        assert sup.dead_letters.by_reason() == {"finished": 1}
