"""The message hub: everything a message needs on its way to the user, in one object.

As trio's memory channels keep one ``MemoryChannelState`` behind their two endpoints, a
:class:`MessageHub` holds the user-facing half of a supervisor or a cluster: the open
messages, the fan-in (:meth:`~MessageHub.events`, :meth:`~MessageHub.results`), each
message's subscriptions, the outcomes for ``result()``, the terminal-event accounting,
the dead letters, and the bounded memory of finished IDs.  The supervisor feeds it from
local parser tasks and the cluster from remote workers: each calls :meth:`open_message`,
:meth:`publish` (or :meth:`publish_mixed`) and :meth:`finish`, and forwards the consumer
methods to it.

Nothing here parses or runs tasks.  Delivery waits for room in a bounded queue through a
``wait(record, queue)`` the front end supplies (the supervisor's can be interrupted when
its message is cancelled; the cluster's gives up when its worker is lost); the fan-in's
own policy -- ``fan_in="auto"`` switching off an unread fan-in rather than stall every
parser -- is the hub's.
"""

from __future__ import annotations

import warnings
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

import anyio

from ..mailboxes import DeadLetter, DeadLetterBox, FinishedIds
from ..mailboxes.lowlevel import ClosedResourceError, Hub, Token
from ..parsers import ParseResult
from ._errors import FanInSwitchedOff, ResultUnavailable
from ._events import (
    TERMINAL_EVENTS,
    Completed,
    Expired,
    Failed,
    SupervisorEvent,
)
from ._options import FanIn
from ._queues import EventQueue, EventStream, ResultStream, Subscription
from ._record import MessageRecord
from ._results import Outcome, ResultRegistry

__all__ = ["UNREAD_FAN_IN_WAIT", "MessageHub", "RoomWait"]

UNREAD_FAN_IN_WAIT = 1.0
"""Seconds a parser waits on a full fan-in that nobody ever asked for before
``fan_in="auto"`` switches it off (with ``fan_in=True``: a ``RuntimeWarning``)."""

RoomWait = Callable[[Any, EventQueue], Awaitable[None]]
"""``await wait(record, queue)``: wait until the full ``queue`` may have room (the front
end's way to wait: see :meth:`MessageHub.wait_room`).  It may raise to give up."""


class MessageHub:
    """The user-facing state of a supervisor or a cluster (see the module documentation).

    Args:
        backend: the event loop's scheduling primitives (``current_hub()``).
        fan_in: ``"auto"``, True or False (see ``open_supervisor``).
        events_buffer: the bound of the fan-in and of each subscription, in events.
        keep_results: how many finished messages' outcomes ``result()`` can still see.
        remember_finished: how many finished IDs are remembered.
        on_dead_letter: called with each :class:`DeadLetter` as it happens.
        owner: ``"supervisor"`` or ``"cluster"``, for error messages.

    Attributes:
        open: the open messages' records by ID (the front end reads it on its hot path).
        fan_in: the fan-in queue; None with ``fan_in=False`` or once switched off.
        terminals_only: ``results()`` reads the fan-in: parser events skip it.
        dead: the dead letters.
        finished: the memory of finished IDs.
        started, completed, failed, expired, cancelled, events_out, restarts, chunks_in,
            bytes_in: counters (the front ends count input and restarts themselves).
    """

    def __init__(
        self,
        backend: Hub,
        *,
        fan_in: FanIn,
        events_buffer: int,
        keep_results: int,
        remember_finished: int,
        on_dead_letter: Callable[[DeadLetter], object] | None = None,
        owner: str = "supervisor",
    ) -> None:
        self.backend = backend
        self.owner = owner
        self.open: dict[Hashable, Any] = {}
        self.finished = FinishedIds(remember_finished)
        self._outcomes = ResultRegistry(keep_results)
        self.dead = DeadLetterBox(on_dead_letter=on_dead_letter)
        self.events_buffer = events_buffer
        self.fan_in: EventQueue | None = EventQueue(events_buffer, backend) if fan_in else None
        self._fan_in_auto = fan_in == "auto"
        self._fan_in_off = False  # "auto": it filled up unread and was switched off
        self._fan_in_reader: str | None = None  # "events" or "results", once one was asked
        self.fan_in_read = False  # events() or results() was called
        self.terminals_only = False
        self._pending_subs: dict[Hashable, list[Subscription]] = {}
        self.subscribed = 0  # subscriptions attached to open messages
        self.closed = False
        self.input_closed = False
        self.started = 0
        self.completed = 0
        self.failed = 0
        self.expired = 0
        self.cancelled = 0
        self.events_out = 0
        self.restarts = 0
        self.chunks_in = 0
        self.bytes_in = 0

    # ================================================================== messages

    def is_open(self, msg_id: Hashable) -> bool:
        """True while message ``msg_id`` is open (started, not yet finished)."""
        return msg_id in self.open

    def is_finished(self, msg_id: Hashable) -> bool:
        """True if ``msg_id`` finished recently enough to be remembered."""
        return msg_id in self.finished

    def open_message(self, record: MessageRecord) -> None:
        """Register a new message (its ``subscribe()`` calls made before it started are
        attached).  Raises ``ClosedResourceError`` after :meth:`close_input`."""
        msg_id = record.msg_id
        if self.input_closed:
            raise ClosedResourceError(
                f"input is closed (close_input()): message {msg_id!r} cannot start"
            )
        self.open[msg_id] = record
        if self._pending_subs:
            subs = self._pending_subs.pop(msg_id, None)
            if subs:
                record.subscribers = subs
                self.subscribed += len(subs)
        self.started += 1

    def finish(self, record: MessageRecord, outcome: Outcome) -> None:
        """End the message: its terminal event to the fan-in (never waiting: at most one
        per message) and to its subscribers (whose streams then end), its outcome kept
        for ``result()``, its ID remembered.  Exactly once per message."""
        msg_id = record.msg_id
        self.open.pop(msg_id, None)
        self.finished.add(msg_id)
        terminal = outcome.terminal
        cls = terminal.__class__
        if cls is Completed:
            self.completed += 1
        elif cls is Failed:
            self.failed += 1
        elif cls is Expired:
            self.expired += 1
        else:
            self.cancelled += 1
        self.events_out += 1
        if self.fan_in is not None:
            self.fan_in.push(terminal)
        subscribers = record.subscribers
        if subscribers:
            for subscription in subscribers:
                subscription.queue.push(terminal)
                subscription.queue.close()
            self.subscribed -= len(subscribers)
        record.subscribers = None
        record.retained = None
        self._outcomes.record(msg_id, outcome)
        if self.input_closed and not self.open:
            self._input_done()

    # ================================================================== delivery

    def deliver_nowait(self, record: MessageRecord, events: list[SupervisorEvent]) -> bool:
        """:meth:`publish` when nothing is full (the usual case, without a coroutine);
        False, doing nothing, if a queue is full: then ``await`` :meth:`publish`."""
        fan_in = self.fan_in
        to_fan_in = fan_in is not None and not self.terminals_only
        if to_fan_in and fan_in.full:  # type: ignore[union-attr]
            return False
        subscribers = record.subscribers
        if subscribers:
            for subscription in subscribers:
                if subscription.queue.full:
                    return False
        self.events_out += len(events)
        if to_fan_in:
            fan_in.push_many(events)  # type: ignore[union-attr]
        if subscribers:
            for subscription in subscribers:
                subscription.queue.push_many(events)
        return True

    async def publish(
        self, record: MessageRecord, events: list[SupervisorEvent], wait: RoomWait
    ) -> None:
        """Deliver events of one message, in order: to the fan-in (unless only
        ``results()`` reads it) and to its subscribers, waiting for room with ``wait``."""
        self.events_out += len(events)
        fan_in = self.fan_in
        if fan_in is not None and not self.terminals_only:
            while fan_in.full:
                await wait(record, fan_in)
            fan_in.push_many(events)  # (ignored if it was switched off meanwhile)
        if record.subscribers:
            for subscription in list(record.subscribers):
                queue = subscription.queue
                while queue.full:
                    await wait(record, queue)
                queue.push_many(events)

    async def publish_mixed(
        self, events: list[SupervisorEvent], wait: RoomWait, gone: Callable[[], bool]
    ) -> None:
        """Deliver events of several open messages, in order (a worker's batch): to the
        fan-in in one go, then each to its message's subscribers.  ``wait`` is called
        with ``None`` for the record; if ``gone()`` after a wait, the rest is dropped."""
        fan_in = self.fan_in
        if fan_in is not None and not self.terminals_only:
            while fan_in.full:
                await wait(None, fan_in)
                if gone():
                    return
            fan_in.push_many(events)
        self.events_out += len(events)
        if self.subscribed:
            open_ = self.open
            for event in events:
                record = open_.get(event.msg_id)
                if record is None or not record.subscribers:
                    continue
                for subscription in list(record.subscribers):
                    queue = subscription.queue
                    while queue.full:
                        await wait(record, queue)
                    queue.push(event)

    def emit_now(self, record: MessageRecord, event: SupervisorEvent) -> None:
        """Deliver one event without waiting (a front end's own, at most one per message
        at a time: the cluster's ``Restarted`` of a replay)."""
        self.events_out += 1
        if self.fan_in is not None and not self.terminals_only:
            self.fan_in.push(event)
        if record.subscribers:
            for subscription in record.subscribers:
                subscription.queue.push(event)

    async def wait_room(self, queue: EventQueue, token: Token | None = None) -> None:
        """Wait for room in ``queue`` (the fan-in or a subscription) as ``token``'s task.

        A full fan-in nobody asked for yet is waited on a second at most: then, with
        ``fan_in="auto"``, it is switched off (its events dropped), and with True a
        ``RuntimeWarning`` says that it must be read, and the wait goes on.
        """
        if queue is not self.fan_in or self.fan_in_read:
            await queue.wait_room(token)
            return
        with anyio.move_on_after(UNREAD_FAN_IN_WAIT) as scope:
            await queue.wait_room(token)
        if scope.cancelled_caught and not self.fan_in_read:
            if self._fan_in_auto:
                self._switch_off_fan_in()
            else:
                self._warn_unread_fan_in()

    def _warn_unread_fan_in(self) -> None:
        self.fan_in_read = True  # warn once
        warnings.warn(
            f"the {self.owner}'s fan-in is full and events() was never called: with "
            "fan_in=True parsers wait until it is read; open it with fan_in='auto' (the "
            "default) or False if you only use subscribe() or result()",
            RuntimeWarning,
            stacklevel=3,
        )

    def _switch_off_fan_in(self) -> None:
        """``fan_in="auto"``: the fan-in filled up and nobody ever asked for it.

        Rather than make every parser wait for a reader that may never come (a program
        that only awaits ``result()``), drop its events and stop delivering to it;
        ``events()`` and ``results()`` then raise :exc:`FanInSwitchedOff`.
        """
        fan_in = self.fan_in
        self.fan_in = None
        self._fan_in_off = True
        if fan_in is not None:
            fan_in.discard()  # (this wakes the parsers waiting for room)

    def fan_in_stuck(self) -> bool:
        """``fan_in="auto"``, full, and nobody asked for it: parsers wait on it."""
        fan_in = self.fan_in
        return fan_in is not None and fan_in.full and self._fan_in_auto and not self.fan_in_read

    async def unstick_fan_in(self) -> None:
        """A task is about to wait for something only the parsers can give (room in a
        mailbox, a result) while they are stuck on a fan-in nobody asked for: that wait
        could be for ever.  Let every task that can run do so first (a reader started
        with the producers asks now), then switch the fan-in off if it is still stuck."""
        await self.backend.checkpoint()
        if self.fan_in_stuck():
            self._switch_off_fan_in()

    # ================================================================== consumers

    def events(self) -> EventStream:
        """The fan-in of every message's events (see ``Supervisor.events``)."""
        self._claim_fan_in("events")
        assert self.fan_in is not None
        return EventStream(self.fan_in)

    def results(self) -> ResultStream:
        """Each message's terminal event as messages end (see ``Supervisor.results``)."""
        self._claim_fan_in("results")
        assert self.fan_in is not None
        return ResultStream(self.fan_in)

    def _claim_fan_in(self, reader: str) -> None:
        if self._fan_in_off:
            raise FanInSwitchedOff(self.events_buffer)
        if self.fan_in is None:
            raise RuntimeError(
                f"this {self.owner} has fan_in=False, so {reader}() is not available: use "
                "subscribe() or result(), or open it with fan_in=True or 'auto'"
            )
        if self._fan_in_reader not in (None, reader):
            raise RuntimeError(
                "events() and results() read the same fan-in, so use one of them: "
                "events() yields the terminal events too"
            )
        self.fan_in_read = True
        if self._fan_in_reader is None:
            self._fan_in_reader = reader
            if reader == "results":
                self.terminals_only = True
                self.fan_in.keep_only(TERMINAL_EVENTS)  # events queued before

    def subscribe(self, msg_id: Hashable) -> Subscription:
        """One message's events (see ``Supervisor.subscribe``)."""
        if self.closed:
            raise ClosedResourceError(f"the {self.owner} is closed")
        queue = EventQueue(self.events_buffer, self.backend)
        subscription = Subscription(msg_id, queue, self._unsubscribe)
        record = self.open.get(msg_id)
        if record is not None:
            if record.subscribers is None:
                record.subscribers = []
            record.subscribers.append(subscription)
            self.subscribed += 1
            return subscription
        outcome = self._outcomes.get(msg_id)
        if outcome is not None:
            queue.push(outcome.terminal)
            queue.close()
        elif msg_id in self.finished:
            raise ResultUnavailable(msg_id)
        elif self.input_closed:
            raise ClosedResourceError(
                f"input is closed (close_input()): message {msg_id!r} will never start"
            )
        else:
            self._pending_subs.setdefault(msg_id, []).append(subscription)
        return subscription

    def _unsubscribe(self, subscription: Subscription) -> None:
        msg_id = subscription.msg_id
        record = self.open.get(msg_id)
        subs = record.subscribers if record is not None else self._pending_subs.get(msg_id)
        if subs and subscription in subs:
            subs.remove(subscription)
            if record is not None:
                self.subscribed -= 1
            elif not subs:
                del self._pending_subs[msg_id]

    async def result(self, msg_id: Hashable) -> ParseResult:
        """Wait for message ``msg_id`` to end; its ``ParseResult`` (see
        ``Supervisor.result``)."""
        live = msg_id in self.open
        if live and self.fan_in_stuck():
            await self.unstick_fan_in()
        if self.input_closed and not live and self._outcomes.get(msg_id) is None:
            await self.backend.checkpoint()
            if msg_id in self.finished:
                raise ResultUnavailable(msg_id)
            raise ClosedResourceError(
                f"input is closed (close_input()): message {msg_id!r} will never start"
            )
        return await self._outcomes.result(
            msg_id, live=live, finished=msg_id in self.finished, owner=self.owner
        )

    def outcome(self, msg_id: Hashable) -> Outcome | None:
        """The kept outcome of a finished message, or None."""
        return self._outcomes.get(msg_id)

    @property
    def outcomes_kept(self) -> int:
        """How many finished messages' outcomes are kept (at most ``keep_results``)."""
        return len(self._outcomes)

    @property
    def waiting_results(self) -> int:
        """How many message IDs some ``result()`` call waits for."""
        return self._outcomes.waiting

    @property
    def fan_in_switched_off(self) -> bool:
        """``fan_in="auto"`` switched the fan-in off (it filled up unread)."""
        return self._fan_in_off

    # ================================================================== lifetime

    def close_input(self) -> None:
        """No new messages (see ``Supervisor.close_input``).  Idempotent."""
        if self.input_closed:
            return
        self.input_closed = True
        open_ = self.open
        self._outcomes.wake_waiters(lambda msg_id: msg_id not in open_)
        pending, self._pending_subs = self._pending_subs, {}
        for subscriptions in pending.values():  # their messages can never start now
            for subscription in subscriptions:
                subscription.queue.close()
        if not open_:
            self._input_done()

    def _input_done(self) -> None:
        """Input is closed and no message is open: no event can come any more."""
        if self.fan_in is not None:
            self.fan_in.close()

    def end(self) -> None:
        """Every message has ended and no more will come: end the streams and wake whoever
        still waits (``result()`` of a message that never started)."""
        self.closed = True
        if self.fan_in is not None:
            self.fan_in.close()
        pending, self._pending_subs = self._pending_subs, {}
        for subscriptions in pending.values():
            for subscription in subscriptions:
                subscription.queue.close()
        self._outcomes.close()
