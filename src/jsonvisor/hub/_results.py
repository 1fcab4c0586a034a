"""Outcomes of finished messages, for ``Supervisor.result()``.

Bounded: the outcomes of the last ``keep`` messages to finish are kept (least recently
finished forgotten first), plus, for as long as someone waits, the outcome a waiter was
woken with.  So ``result()`` works before, during and shortly after a message, and memory
stays flat however many messages come and go.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import NamedTuple

import anyio
import anyio.lowlevel

from ..mailboxes.lowlevel import ClosedResourceError
from ..parsers import ParseResult
from ._errors import MessageCancelledError, MessageExpiredError, ResultUnavailable
from ._events import Cancelled, Completed, Expired, Failed, TerminalEvent

__all__ = ["Outcome", "ResultRegistry"]


class Outcome(NamedTuple):
    """How a message ended: its terminal event, and the parser's result if it completed."""

    terminal: TerminalEvent
    result: ParseResult | None

    def unwrap(self) -> ParseResult:
        """Return the :class:`ParseResult`, or raise the message's error."""
        terminal = self.terminal
        if isinstance(terminal, Completed):
            assert self.result is not None
            return self.result
        if isinstance(terminal, Failed):
            raise terminal.error
        if isinstance(terminal, Expired):
            raise MessageExpiredError(terminal.msg_id, terminal.reason)
        assert isinstance(terminal, Cancelled)
        raise MessageCancelledError(terminal.msg_id, terminal.reason)


class _Waiter:
    __slots__ = ("count", "event", "outcome")

    def __init__(self) -> None:
        self.event = anyio.Event()
        self.outcome: Outcome | None = None
        self.count = 0


class ResultRegistry:
    """The latest ``keep`` outcomes, and tasks waiting for outcomes still to come."""

    __slots__ = ("_done", "_waiters", "closed", "keep")

    def __init__(self, keep: int) -> None:
        self.keep = max(0, keep)
        self._done: OrderedDict[Hashable, Outcome] = OrderedDict()
        self._waiters: dict[Hashable, _Waiter] = {}
        self.closed = False

    def __len__(self) -> int:
        return len(self._done)

    def record(self, msg_id: Hashable, outcome: Outcome) -> None:
        """Store ``outcome`` for ``msg_id`` and wake whoever waits for it."""
        if self.keep:
            done = self._done
            done[msg_id] = outcome
            done.move_to_end(msg_id)
            if len(done) > self.keep:
                done.popitem(last=False)
        waiter = self._waiters.pop(msg_id, None)
        if waiter is not None:
            waiter.outcome = outcome
            waiter.event.set()

    def get(self, msg_id: Hashable) -> Outcome | None:
        """The kept outcome of ``msg_id``, or None."""
        return self._done.get(msg_id)

    async def wait(self, msg_id: Hashable) -> Outcome | None:
        """Wait for ``msg_id``'s outcome; None if the registry closes first."""
        waiter = self._waiters.get(msg_id)
        if waiter is None:
            waiter = self._waiters[msg_id] = _Waiter()
        waiter.count += 1
        try:
            await waiter.event.wait()
        finally:
            waiter.count -= 1
            if not waiter.count and self._waiters.get(msg_id) is waiter:
                del self._waiters[msg_id]
        return waiter.outcome

    async def result(
        self, msg_id: Hashable, *, live: bool, finished: bool, owner: str
    ) -> ParseResult:
        """``result()`` of a supervisor or cluster (``owner`` names it in errors).

        ``live``: the message is open now; ``finished``: it ended and its outcome may have
        been forgotten.  Always a checkpoint.  Raises
        :class:`~jsonvisor.mailboxes.ClosedResourceError` (both trio's and AnyIO's) if
        the owner closes, or has closed, before the message started.
        """
        outcome = self.get(msg_id)
        if outcome is None:
            if not live:
                if finished:
                    await anyio.lowlevel.checkpoint()
                    raise ResultUnavailable(msg_id)
                if self.closed:
                    await anyio.lowlevel.checkpoint()
                    raise ClosedResourceError(f"the {owner} is closed")
            outcome = await self.wait(msg_id)
            if outcome is None:
                raise ClosedResourceError(f"the {owner} closed before message {msg_id!r} started")
        else:
            await anyio.lowlevel.checkpoint()
        return outcome.unwrap()

    @property
    def waiting(self) -> int:
        """How many message IDs someone is waiting for."""
        return len(self._waiters)

    def wake_waiters(self, hopeless: Callable[[Hashable], bool]) -> None:
        """Wake (with None) those waiting for a message ID for which ``hopeless(msg_id)``:
        its outcome will never come (it never started, and no new message can)."""
        for msg_id in [m for m in self._waiters if hopeless(m)]:
            self._waiters.pop(msg_id).event.set()

    def close(self) -> None:
        """Wake every waiter (with None): no more outcomes will come."""
        self.closed = True
        waiters, self._waiters = self._waiters, {}
        for waiter in waiters.values():
            waiter.event.set()
