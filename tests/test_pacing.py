"""The loop's pacer (:mod:`jsonvisor.mailboxes.pacing`): a budget of work per scheduler
round, shared by the supervisor's message tasks (and ``drive()``, see test_llm_pump).

Most tests here *report* each turn's cost (``pacer.add(cost)``) instead of spending it, so
what they check -- how many turns a scheduler batch holds, who goes first, that nobody is
left waiting -- does not depend on the machine's speed.  A probe task that passes one
schedule point per batch numbers the batches (it runs once in each, so the turns between
two of its steps are at most two batches' worth).

The async tests run on trio and on asyncio (see ``test_supervisor_support``).
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Hashable
from functools import partial
from typing import Any, ClassVar

import anyio
import pytest

from jsonvisor import parsers
from jsonvisor.mailboxes import Mailbox
from jsonvisor.mailboxes.lowlevel import current_hub
from jsonvisor.mailboxes.pacing import ROUND_BUDGET, Pacer, current_pacer
from jsonvisor.supervisor import open_supervisor
from test_supervisor_support import (  # noqa: F401 (a fixture)
    anyio_backend,
    wait_all_tasks_blocked,
)

pytestmark = pytest.mark.anyio


class Batches:
    """Numbers the scheduler's batches: :meth:`run` passes one schedule point per batch."""

    def __init__(self) -> None:
        self.now = 0

    async def run(self) -> None:
        checkpoint = current_hub().checkpoint
        while True:
            await checkpoint()
            self.now += 1


def per_batch(seen: list[int]) -> Counter[int]:
    return Counter(seen)


async def busy(
    pacer: Pacer,
    batches: Batches,
    turns: int,
    cost: float,
    seen: list[int],
    *,
    consumer: bool = False,
) -> None:
    """``turns`` turns of work reported as ``cost`` seconds each."""
    for _ in range(turns):
        if consumer:
            await current_hub().checkpoint()
            if not pacer.ready():
                await pacer.wait_turn(consumer=True)
        else:
            await pacer.checkpoint()
        seen.append(batches.now)
        pacer.add(cost)


async def test_a_batch_holds_about_one_budget_of_turns_whatever_the_number_of_tasks() -> None:
    pacer = Pacer(current_hub(), limit=0.004)
    batches = Batches()
    seen: list[int] = []
    async with anyio.create_task_group() as probe:
        probe.start_soon(batches.run)
        async with anyio.create_task_group() as tg:
            for _ in range(200):
                tg.start_soon(busy, pacer, batches, 5, 0.001, seen)
        probe.cancel_scope.cancel()
    assert len(seen) == 1000  # every turn was taken: nobody was left in line
    counts = per_batch(seen)
    # Unpaced, each batch would hold a turn of each of the 200 tasks.  Paced, a round
    # holds limit / cost = 4 turns once the pacer knows the cost (it starts from a guess
    # of limit / 16, so the first rounds may hold 16); the probe's interval can span two.
    assert max(counts.values()) <= 2 * 16
    settled = [n for batch, n in counts.items() if batch > min(counts) + 8]
    assert settled and max(settled) <= 2 * 4 + 2
    assert pacer.waiting == 0 and pacer.rounds >= 1000 // 8
    assert pacer.waits > 900  # all but the first few turns waited in line


async def test_turns_go_in_order_of_arrival() -> None:
    """First in, first out, round by round (within a batch the scheduler may run the
    tasks it wakes in any order)."""
    pacer = Pacer(current_hub(), limit=0.003)
    arrived: list[int] = []
    round_of: dict[int, int] = {}

    async def one(i: int) -> None:
        arrived.append(i)
        await pacer.wait_turn()
        round_of[i] = pacer.rounds
        pacer.add(0.001)

    pacer.spent = pacer.limit  # the round is spent: every turn waits
    async with anyio.create_task_group() as tg:
        for i in range(50):
            tg.start_soon(one, i)
    rounds = [round_of[i] for i in arrived]
    # A task let in by one round runs in the next batch, where the next leader may
    # already have started the round after: a turn may read one round ahead.
    highest = 0
    for r in rounds:
        assert r >= highest - 1, rounds
        highest = max(highest, r)
    assert rounds[-1] >= 5  # 3 turns a round once the pacer knows their cost


async def test_consumers_go_after_producers_but_always_move() -> None:
    pacer = Pacer(current_hub(), limit=0.008)
    batches = Batches()
    produced: list[int] = []
    consumed: list[int] = []
    async with anyio.create_task_group() as probe:
        probe.start_soon(batches.run)
        async with anyio.create_task_group() as tg:
            for _ in range(20):
                tg.start_soon(busy, pacer, batches, 20, 0.001, produced)
                tg.start_soon(partial(busy, consumer=True), pacer, batches, 20, 0.001, consumed)
        probe.cancel_scope.cancel()
    assert len(produced) == len(consumed) == 400
    # Producers first: they are done well before the consumers ...
    assert max(produced) < max(consumed)
    # ... but consumers had turns all along (a share of every round is theirs).
    while_producing = [b for b in consumed if b < max(produced)]
    assert len(while_producing) >= 0.5 * (max(produced) - min(produced)) / 2


async def test_a_leader_cancelled_at_its_schedule_point_passes_the_lead_on() -> None:
    pacer = Pacer(current_hub(), limit=0.002)
    pacer.spent = pacer.limit
    with anyio.CancelScope() as scope:
        scope.cancel()
        await pacer.wait_turn()  # the leader: cancelled at its schedule point
    assert scope.cancelled_caught
    assert pacer.waiting == 0 and pacer.rounds == 0
    await pacer.wait_turn()  # a new leader
    assert pacer.rounds == 1


async def test_cancelled_waiters_leave_no_one_stuck() -> None:
    """Tasks cancelled at random -- in line, leading, just let in -- and everyone else
    still gets every turn."""
    pacer = Pacer(current_hub(), limit=0.003)
    rng = random.Random(7)
    scopes = [anyio.CancelScope() for _ in range(200)]
    turns = [0] * 200

    async def one(i: int) -> None:
        with scopes[i]:
            for _ in range(5):
                await pacer.checkpoint()
                turns[i] += 1
                pacer.add(0.001)

    async def canceller() -> None:
        for _ in range(40):
            await current_hub().checkpoint()
            for i in rng.sample(range(200), 3):
                scopes[i].cancel()

    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            pacer.spent = pacer.limit
            for i in range(200):
                tg.start_soon(one, i)
            tg.start_soon(canceller)
    cancelled = [i for i in range(200) if scopes[i].cancelled_caught]
    assert cancelled and all(turns[i] < 5 for i in cancelled)
    assert all(turns[i] == 5 for i in range(200) if not scopes[i].cancelled_caught)
    assert pacer.waiting == 0


async def test_a_task_in_line_can_be_interrupted() -> None:
    pacer = Pacer(current_hub(), limit=0.002)
    pacer.spent = pacer.limit
    hub = current_hub()
    tokens: dict[int, Any] = {}
    outcome: dict[int, str] = {}
    interrupted: list[int] = []

    async def one(i: int) -> None:
        tokens[i] = token = hub.token()
        try:
            await pacer.wait_turn(token)
        except LookupError:
            outcome[i] = "interrupted"
            return
        outcome[i] = "ran"
        if not interrupted:  # the first turn: the others are in line now
            for j in range(20):
                if j != i and pacer.interrupt(tokens[j], LookupError()):
                    interrupted.append(j)
                    assert not pacer.interrupt(tokens[j], LookupError())  # once
        pacer.add(0.001)

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            for i in range(20):
                tg.start_soon(one, i)
    assert interrupted
    assert outcome == {i: "interrupted" if i in interrupted else "ran" for i in range(20)}
    assert pacer.waiting == 0


async def test_a_mailbox_hands_its_consumers_wake_up_to_the_line() -> None:
    pacer = Pacer(current_hub(), limit=0.002)
    boxes = [Mailbox(i, capacity=4, pacer=pacer) for i in range(3)]
    events: list[tuple[str, int]] = []

    async def consume(box: Mailbox) -> None:
        try:
            await box.input_waiter()
        except LookupError:
            events.append(("interrupted", box.msg_id))  # type: ignore[arg-type]
            return
        token = box.paced
        assert token is not None  # woken on its turn
        box.paced = None
        pacer.resumed(token)
        events.append(("ran", box.msg_id))  # type: ignore[arg-type]
        pacer.add(0.001)

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            for box in boxes:
                tg.start_soon(consume, box)
            await wait_all_tasks_blocked()
            pacer.spent = pacer.limit  # the round is spent
            for box in boxes:
                assert box.put_nowait("x")
            # The first became the leader (woken, its wake-up its schedule point); the
            # others wait in line, still parked in their mailboxes.
            assert all(box.paced is not None for box in boxes)
            assert pacer.waiting == 3
            assert boxes[2].interrupt(LookupError())
            assert boxes[2].paced is None and pacer.waiting == 2
    assert sorted(events) == [("interrupted", 2), ("ran", 0), ("ran", 1)]
    assert events.index(("ran", 0)) < events.index(("ran", 1))  # the leader first
    assert pacer.rounds >= 1 and pacer.waiting == 0


async def test_with_budget_left_a_mailbox_wakes_its_consumer_at_once() -> None:
    pacer = Pacer(current_hub())
    box = Mailbox("m", capacity=4, pacer=pacer)
    async with anyio.create_task_group() as tg:
        tg.start_soon(box.wait_input)
        await wait_all_tasks_blocked()
        box.put_nowait("x")
        assert box.paced is None and pacer.waiting == 0


def test_the_pacer_is_one_per_loop() -> None:
    async def get() -> Pacer:
        pacer = current_pacer()
        assert current_pacer() is pacer and pacer.limit == ROUND_BUDGET
        return pacer

    first = anyio.run(get)
    assert anyio.run(get) is not first
    assert anyio.run(get, backend="asyncio") is not first
    with pytest.raises(ValueError):
        Pacer(first._hub, limit=0)


# ---------------------------------------------------------------------- the supervisor


class Slow:
    """A parser whose every feed takes ``cost`` seconds of real work (a spin)."""

    cost = 0.0005
    feeds: ClassVar[list[int]] = []
    batches: ClassVar[Batches]

    def __init__(self) -> None:
        self._parser = parsers.StreamingJsonParser()  # (one backend: see conftest)

    def feed(self, chunk: str) -> list[Any]:
        Slow.feeds.append(Slow.batches.now)
        end = time.perf_counter() + self.cost
        while time.perf_counter() < end:
            pass
        return self._parser.feed(chunk)

    def finish(self) -> Any:
        return self._parser.finish()

    def snapshot(self) -> Any:
        return self._parser.snapshot()


async def test_parser_steps_per_scheduler_batch_are_bounded() -> None:
    """A hundred messages with input at once: unpaced, their parse steps would all run
    in one batch (50 ms of parsing before the loop looks at its timers); paced, a batch
    holds about ROUND_BUDGET of them (4 steps of 0.5 ms)."""
    batches = Batches()
    Slow.batches = batches
    Slow.feeds = []

    def make(msg_id: Hashable) -> Slow:
        return Slow()

    n = 100
    async with anyio.create_task_group() as probe:
        probe.start_soon(batches.run)
        async with open_supervisor(make, fan_in=False) as sup:
            for part in ("[1", ", 2", ", 3]"):
                await sup.send_many((i, part) for i in range(n))
                await wait_all_tasks_blocked_or_busy()
            for i in range(n):
                await sup.end(i)
            values = [(await sup.result(i)).value for i in range(n)]
        probe.cancel_scope.cancel()
    assert values == [[1, 2, 3]] * n
    counts = per_batch(Slow.feeds)
    assert sum(counts.values()) >= n  # (a message may take its parts in one step)
    # ROUND_BUDGET / 0.5 ms = 4 steps a round (8 while the pacer still guesses the
    # cost); the probe's interval can span two rounds: 16, with a wide margin.
    assert max(counts.values()) <= 30, counts.most_common(3)


async def wait_all_tasks_blocked_or_busy() -> None:
    """Let the message tasks take their turns (the probe never blocks: a few hundred
    schedule points are enough)."""
    for _ in range(300):
        await current_hub().cancel_shielded_checkpoint()
