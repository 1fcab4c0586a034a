"""Teardown: cancellation at every await point, shutdown, and no leaks over many messages."""

from __future__ import annotations

import gc
import itertools
import sys
import time
import tracemalloc
from collections import Counter
from typing import Any

import anyio
import pytest

from jsonvisor.supervisor import (
    TerminalEvent,
    is_terminal,
    open_supervisor,
)
from test_supervisor_support import (  # noqa: F401 (anyio_backend: a fixture)
    CrashingParser,
    LoopSteps,
    anyio_backend,
    loop_steps,
    tasks_living,
    wait_all_tasks_blocked,
)

pytestmark = pytest.mark.anyio


async def scenario(
    terminals: list[TerminalEvent], results: dict[Any, Any], stats: list[Any]
) -> None:
    """Many kinds of work at once: producers, a reader, a subscriber, waiters, a crash,
    bad input, a backpressured fan-in, an idle timeout."""
    plans: dict[Any, dict[Any, Any]] = {"crash": {1: True}}

    def factory(msg_id: Any) -> CrashingParser:
        return CrashingParser(plans.setdefault(msg_id, {}))

    async with open_supervisor(factory, mailbox_size=2, events_buffer=3, idle_timeout=60) as sup:
        try:
            async with anyio.create_task_group() as nursery:

                async def reader() -> None:
                    async for event in sup.events():
                        if is_terminal(event):
                            terminals.append(event)  # type: ignore[arg-type]

                async def follower() -> None:
                    async with sup.subscribe("a") as stream:
                        async for _ in stream:
                            pass

                async def waiter(m: Any) -> None:
                    try:
                        results[m] = (await sup.result(m)).value
                    except Exception as exc:
                        results[m] = type(exc).__name__

                async def producer(m: Any, chunks: list[Any]) -> None:
                    for chunk in chunks:
                        await sup.send(m, chunk)
                    await sup.end(m)

                nursery.start_soon(reader)
                nursery.start_soon(follower)
                for m in ("a", "b", "crash", "bad"):
                    nursery.start_soon(waiter, m)
                nursery.start_soon(producer, "a", ['{"s": "he', "llo", '", "n": [1', ", 2]}"])
                nursery.start_soon(producer, "b", [b"[1, ", b"2, ", b"3]"])
                nursery.start_soon(producer, "crash", ["[1, ", "2]"])
                nursery.start_soon(producer, "bad", ["[1, ", "}"])
                await sup.send_many([("c", "[1"), ("d", '"x')])  # never ended
                await anyio.sleep(0.001)
                sup.cancel("d")
                nursery.cancel_scope.deadline = anyio.current_time() + 0.05
        finally:
            stats.append(sup)


@pytest.mark.usefixtures("loop_steps")
async def test_cancellation_at_every_await_point_leaves_nothing() -> None:
    # One run without cancellation, to know how many task steps there are.
    terminals: list[TerminalEvent] = []
    results: dict[Any, Any] = {}
    sups: list[Any] = []
    before = tasks_living()
    counter = LoopSteps(10**9, anyio.CancelScope())
    counter.start()
    try:
        await scenario(terminals, results, sups)
    finally:
        counter.stop()
    total = counter.steps
    assert tasks_living() == before
    assert results == {
        "a": {"s": "hello", "n": [1, 2]},
        "b": [1, 2, 3],
        "crash": [1, 2],
        "bad": "JsonStreamError",
    }
    # "c" is cancelled by the shutdown, after the reader stopped reading.
    assert Counter(type(t).__name__ for t in terminals) == {
        "Completed": 3,
        "Failed": 1,
        "Cancelled": 1,
    }
    assert total > 30

    checked = 0
    for k in range(1, total + 1):
        terminals, results, sups = [], {}, []
        with anyio.CancelScope() as scope:
            steps = LoopSteps(k, scope)
            steps.start()
            try:
                await scenario(terminals, results, sups)
            finally:
                steps.stop()
        assert tasks_living() == before, k
        if not sups:
            continue  # cancelled before the supervisor existed
        stats = sups[0].stats()
        assert stats.open_mailboxes == 0, k
        assert stats.messages_started == stats.messages_finished, k
        # Every message got exactly one terminal event (the reader may have been
        # cancelled before reading them all, but never sees two for one message).
        per_msg = Counter(t.msg_id for t in terminals)
        assert all(n == 1 for n in per_msg.values()), (k, per_msg)
        checked += 1
    assert checked > total // 2


async def test_cancelling_the_enclosing_scope_leaves_no_tasks() -> None:
    # (Promptness and the messages' ends, on every front end: tests/test_frontends.py.)
    before = tasks_living()
    start = time.perf_counter()
    with anyio.move_on_after(0.2):
        async with open_supervisor(mailbox_size=1, events_buffer=1) as sup:
            await sup.send_many((i, "[1, 2, 3") for i in range(200))
            await anyio.sleep_forever()
    assert time.perf_counter() - start < 2
    assert tasks_living() == before
    assert sup.stats().open_mailboxes == 0 and sup.stats().messages_cancelled == 200


async def test_no_leaks_over_100_000_messages() -> None:
    n, batch = 100_000, 1_000
    before = tasks_living()
    blocks: dict[int, int] = {}
    traced: dict[int, int] = {}
    finished = 0
    gc_was_enabled = gc.isenabled()
    gc.disable()  # speed only: every sample is taken after a full gc.collect()
    try:
        # Small bounds on the kept results and remembered IDs, so their (bounded) hash
        # tables cannot hide a leak of a few bytes per message.
        async with open_supervisor(mailbox_size=4, keep_results=100, remember_finished=1000) as sup:
            async with anyio.create_task_group() as nursery:

                async def reader() -> None:
                    nonlocal finished
                    async for event in sup.events():
                        if is_terminal(event):
                            finished += 1

                nursery.start_soon(reader)
                for start in range(0, n, batch):
                    ids = range(start, start + batch)
                    await sup.send_many([(i, f'{{"i": {i}, "s": "x"}}') for i in ids])
                    for i in ids:
                        sup.end_nowait(i)
                    while finished < start + batch:
                        await anyio.sleep(0)
                    assert sup.stats().open_mailboxes == 0
                    done = start + batch
                    if done in (20_000, 100_000):
                        gc.collect()
                        blocks[done] = sys.getallocatedblocks()
                    if done == 75_000:  # tracing is slow: the last 25 000 messages
                        gc.collect()
                        tracemalloc.start()
                    if done in (80_000, 85_000, 90_000, 95_000, 100_000):
                        gc.collect()
                        traced[done] = tracemalloc.get_traced_memory()[0]
                nursery.cancel_scope.cancel()
            stats = sup.stats()
    finally:
        tracemalloc.stop()
        if gc_was_enabled:
            gc.enable()
    assert tasks_living() == before
    assert stats.messages_started == stats.messages_completed == n
    assert stats.open_mailboxes == 0 and stats.dead_letters == 0
    assert len(sup._open) == 0 and sup._hub.waiting_results == 0
    assert len(sup._hub.finished) == 1000 and sup._hub.outcomes_kept == 100
    # Flat: 80 000 messages leave fewer than 2 000 more memory blocks (one leaked
    # object per message would be 80 000), and one of the last four runs of 5 000
    # messages grows traced memory by less than 16 KiB (a leak would show in all; a
    # hash table somewhere resizing, in one or two: on asyncio the event loop's and
    # AnyIO's own task sets churn with a thousand tasks at a time).
    assert blocks[100_000] - blocks[20_000] < 2_000, blocks
    marks = sorted(traced)
    growth = [traced[b] - traced[a] for a, b in itertools.pairwise(marks)]
    assert min(growth) < 16 * 1024, traced
