"""Taking turns: a budget of work per scheduler round, shared by every busy task of a loop.

Trio runs every runnable task once per *batch*, and looks at its timers and its I/O only
between batches; asyncio's ``_run_once`` does the same with its ready callbacks.  So the
event loop's lag is the length of a batch, and a batch is as long as all its tasks' steps
put together: a thousand parser tasks and a thousand stream readers that each take one
ordinary step (a few chunks, a 4 KiB read) make a batch of 50-100 ms, although no single
step is long.  Checkpointing more often does not help: a task that checkpoints is simply
back in the next batch, with the same company.

A :class:`Pacer` bounds the *sum*.  The tasks that use it (the supervisor's message tasks
and :func:`jsonvisor.llm.drive`) report the time each turn of work took (:meth:`add`), and
ask before a turn whether the round still has budget (:meth:`ready`).  Once the round's
:attr:`~Pacer.limit` is spent, a task waits for a turn (:meth:`wait_turn`) instead of
working: it is parked in a first-in, first-out line and costs the scheduler nothing until
it is let in.  The first task to wait becomes the round's *leader*: it passes one schedule
point (so the loop looks at its timers and I/O), then starts the next round -- it resets
the budget, lets in as many waiting tasks as the budget is likely to take (from the cost
of recent turns) and hands the lead to the next one in line, which does the same one
batch later.  While there is a line, newcomers join it, so every task gets its turn in
order and none starves.  The paced share of a batch is then about ``limit`` (plus one
turn), whatever the number of tasks.

A task already parked for another reason -- a message task waiting for input in its
mailbox -- need not wake up only to join the line: whoever wakes it (the mailbox, when a
chunk arrives) hands the wake-up to the pacer (:meth:`Pacer.defer_wake`), which puts the
task in line as it is; when its turn comes it is woken once, and calls
:meth:`Pacer.resumed` (it may have been made the next round's leader).

One pacer per event loop (:func:`current_pacer`), on trio and on asyncio.  A pacer that
is never over budget costs a comparison per turn: no schedule point, no allocation.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections import OrderedDict

import trio

from .lowlevel import Hub, Token, current_hub

__all__ = ["ROUND_BUDGET", "SECOND_LINE_SHARE", "Pacer", "current_pacer"]

ROUND_BUDGET = 0.002
"""Seconds of paced work per scheduler round (the default :attr:`Pacer.limit`).  Two
milliseconds keep a batch, with its unpaced tasks and a young garbage collection, well
under the 20 ms an interactive loop can hide, while a round still holds dozens of turns
(a batch's own cost, a few microseconds, stays negligible)."""

SECOND_LINE_SHARE = 0.25
"""The share of each round's turns kept for the second line (consumers) while both
lines wait: producers go first, but consumers always move."""

_now = time.perf_counter


class Pacer:
    """Turns of work within a budget per scheduler round (see the module documentation).

    There are two lines.  Tasks that make work for others (stream readers) wait in the
    first; tasks that consume it (message tasks, which parse what is queued) wait in the
    second, and are let in once the first line is through, with a share of every round
    kept for them (:data:`SECOND_LINE_SHARE`) so that they never starve.  A consumer's
    turn thus comes once its producers have had theirs, and it takes in one step what
    they queued meanwhile: fewer, bigger parse steps, as when the loop is not paced.

    Attributes:
        limit: seconds of reported work a round may hold before tasks wait for a turn.
        spent: seconds of the current round's budget used: reported work, and the
            expected cost of the turns its leader let in (they run in the next batch).
        rounds: rounds started by a leader (each one a pass through the scheduler while
            tasks were waiting).
        waits: turns that had to wait.
    """

    __slots__ = (
        "_cost",
        "_first",
        "_hub",
        "_leader",
        "_second",
        "_turns",
        "_work",
        "limit",
        "rounds",
        "spent",
        "waits",
    )

    def __init__(self, hub: Hub, limit: float = ROUND_BUDGET) -> None:
        if not limit > 0:
            raise ValueError(f"the round budget must be positive, not {limit!r}")
        self._hub = hub
        self.limit = limit
        self.spent = 0.0
        self.rounds = 0
        self.waits = 0
        self._turns = 0  # turns reported in the current round
        self._work = 0.0  # their work
        self._cost = limit / 16  # the typical turn's cost (a moving average)
        # Waiting tasks, first in first out: producers, then consumers.
        self._first: OrderedDict[Token, None] = OrderedDict()
        self._second: OrderedDict[Token, None] = OrderedDict()
        self._leader: Token | None = None  # starts the next round (None: nobody waits)

    def __repr__(self) -> str:
        return (
            f"<Pacer limit={self.limit} spent={self.spent:.6f} waiting={self.waiting} "
            f"rounds={self.rounds}>"
        )

    @property
    def waiting(self) -> int:
        """Tasks waiting for a turn now (in either line, or leading the next round)."""
        return len(self._first) + len(self._second) + (self._leader is not None)

    def ready(self) -> bool:
        """True if a turn may start now: the round has budget left and nobody waits."""
        return self.spent < self.limit and not self._first and not self._second

    def add(self, seconds: float, turns: int = 1) -> None:
        """Report ``turns`` turns' work (at most ``limit`` is counted: a turn that waited
        for something in between is not held against the next ones).  ``turns=0``: part
        of a turn, reported before it waits for something else."""
        if seconds > self.limit:
            seconds = self.limit
        self.spent += seconds
        self._work += seconds
        self._turns += turns

    def add_since(self, start: float, turns: int = 1) -> None:
        """:meth:`add` the time since ``start`` (a ``time.perf_counter()`` reading)."""
        self.add(_now() - start, turns)

    async def checkpoint(self) -> None:
        """A checkpoint after which the task has a turn (in the first line): a plain
        checkpoint, and then :meth:`wait_turn` if the round's budget is spent by the time
        it runs again (the budget is judged when the work is about to start)."""
        if self.ready():
            await self._hub.checkpoint()
            if self.ready():
                return
        await self.wait_turn()

    async def wait_turn(self, token: Token | None = None, *, consumer: bool = False) -> None:
        """Wait for a turn: lead the next round, or wait in line to be let in.

        Always a schedule point, and a cancellation point while it waits.  ``token``: the
        task's token (``hub.token()``) for a caller that may :meth:`interrupt` it.
        ``consumer``: wait in the second line (see the class documentation).
        """
        hub = self._hub
        if token is None:
            token = hub.token()
        self.waits += 1
        if self._leader is None:
            self._leader = token
            try:
                await hub.checkpoint()
            except BaseException:
                self.forget(token)
                raise
        else:
            (self._second if consumer else self._first)[token] = None
            await hub.wait(token, self._forget, self.forget)
            if self._leader is not token:
                return  # let in by a leader
        self._start_round()

    def interrupt(self, token: Token, error: BaseException) -> bool:
        """Wake the task waiting in line with ``token`` by raising ``error`` in it.

        Returns False (doing nothing) if it is not in line (it leads, or was let in).
        """
        if not self.withdraw(token):
            return False
        self._hub.throw(token, error)
        return True

    # ------------------------------------------------------------ tasks parked elsewhere

    def defer_wake(self, token: Token) -> bool:
        """Wake the parked consumer ``token`` when it is its turn rather than now.

        Returns False if the round has budget and nobody waits: the caller wakes it now.
        Otherwise the task is put in the second line (or made the leader, and woken at
        once: its wake-up is then its schedule point) and True is returned; the task
        must call :meth:`resumed` when it runs, and whoever owns its wait must call
        :meth:`forget` if the wait ends otherwise (cancelled) or :meth:`withdraw` to wake
        it itself.
        """
        if self.spent < self.limit and not self._first and not self._second:
            return False
        self.waits += 1
        if self._leader is None:
            self._leader = token
            self._hub.wake(token)
        else:
            self._second[token] = None
        return True

    def resumed(self, token: Token) -> None:
        """A task woken through the line (see :meth:`defer_wake`) now runs: its turn,
        and, if it was made the leader, the start of the next round."""
        if self._leader is token:
            self._start_round()

    def withdraw(self, token: Token) -> bool:
        """Take ``token`` out of line without waking it; False if it is not in line."""
        if token in self._second:
            del self._second[token]
            return True
        if token in self._first:
            del self._first[token]
            return True
        return False

    def forget(self, token: Token) -> None:
        """The task ``token`` will not take the turn it waits for (its wait was
        cancelled): out of line, and its lead, if it had one, passed on."""
        self._forget(token)
        if self._leader is token:
            self._leader = None
            self._promote()

    # ------------------------------------------------------------ rounds

    def _start_round(self) -> None:
        """The leader's part: a new round, the next turns let in, the lead passed on."""
        turns = self._turns
        if turns:
            self._cost += (self._work / turns - self._cost) * 0.5
        self._work = 0.0
        self._turns = 0
        self.rounds += 1
        self._leader = None
        cost = self._cost
        # The leader's own turn, and those it lets in, are this round's budget: a task
        # that comes meanwhile (a chunk for an idle message) waits in line, where it costs
        # nothing, rather than wake now and find no budget left when it runs.
        self.spent = cost
        first = self._first
        second = self._second
        if not first and not second:
            return
        room = int(self.limit / cost) - 1 if cost > 0 else len(first) + len(second)
        if second:
            kept = max(1, int(room * SECOND_LINE_SHARE))
            admitted = self._admit(first, room - kept)
            admitted += self._admit(second, room - admitted)
        else:
            admitted = self._admit(first, room)
        self.spent += admitted * cost
        self._promote()

    def _admit(self, line: OrderedDict[Token, None], count: int) -> int:
        """Wake up to ``count`` tasks from ``line``, oldest first; how many were woken."""
        hub = self._hub
        admitted = 0
        while line and admitted < count:
            token, _ = line.popitem(last=False)
            if not hub.stale(token):  # (asyncio: its wait was cancelled)
                hub.wake(token)
                admitted += 1
        return admitted

    def _promote(self) -> None:
        """Make the first in line the leader (it starts the round after next)."""
        hub = self._hub
        for line in (self._first, self._second):
            while line:
                token, _ = line.popitem(last=False)
                if not hub.stale(token):
                    self._leader = token
                    hub.wake(token)
                    return

    def _forget(self, token: Token) -> None:
        if self._first.pop(token, 0) is not None:
            self._second.pop(token, None)


_trio_pacer: trio.lowlevel.RunVar[Pacer] = trio.lowlevel.RunVar("jsonvisor_pacer")
_asyncio_pacers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Pacer] = (
    weakref.WeakKeyDictionary()
)


def current_pacer(hub: Hub | None = None) -> Pacer:
    """The :class:`Pacer` of the event loop running in this thread (made on first use).

    Raises ``RuntimeError`` outside trio and asyncio.
    """
    if hub is None:
        hub = current_hub()
    if hub.name == "trio":
        try:
            return _trio_pacer.get()
        except LookupError:
            pacer = Pacer(hub)
            _trio_pacer.set(pacer)
            return pacer
    loop = asyncio.get_running_loop()
    pacer = _asyncio_pacers.get(loop)
    if pacer is None:
        pacer = _asyncio_pacers[loop] = Pacer(hub)
    return pacer
