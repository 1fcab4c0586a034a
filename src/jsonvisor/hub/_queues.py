"""Bounded event queues between parser tasks and consumers: the fan-in and subscriptions.

An :class:`EventQueue` is a bounded FIFO with waiting on both sides (under trio or asyncio:
see :mod:`jsonvisor.mailboxes.lowlevel`).  Parser
tasks wait for room before pushing one parse step's events (so the queue holds at most
``capacity`` events plus one step's worth); consumers read through :class:`EventStream`
(``Supervisor.events()``) or :class:`Subscription` (``Supervisor.subscribe()``).

A read from a non-empty queue is a cancellation point, but a schedule point only when it
has to wait or when ``SCHEDULE_INTERVAL`` seconds have passed since the last one: a
consumer keeping up with a fast stream does not pay a trip through the scheduler per
event, yet never holds the loop for long.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable
from types import TracebackType
from typing import TypeVar

from ..mailboxes.lowlevel import EndOfStream, Hub, Lot, Token, current_hub
from ._events import TERMINAL_EVENTS, SupervisorEvent, TerminalEvent

__all__ = ["SCHEDULE_INTERVAL", "EventQueue", "EventStream", "ResultStream", "Subscription"]

SCHEDULE_INTERVAL = 0.005
"""The longest a task runs non-blocking ``send`` calls (or reads of a non-empty stream)
before it passes a schedule point, in seconds.  A trip through the scheduler costs more
than routing a chunk; letting a producer hand over a few milliseconds' worth of chunks at
a time is what lets each parser take several chunks per step."""

_now = time.perf_counter


class EventQueue:
    """A bounded FIFO of supervisor events.

    ``capacity`` bounds what producers wait for: they push only while fewer than
    ``capacity`` events are queued.  After :meth:`close`, pushes are ignored and readers
    end once the queue is empty.  ``hub``: the backend (None: the one running when the
    queue is made, or when a task first waits on it).
    """

    __slots__ = (
        "_consumers",
        "_hub",
        "_last_schedule",
        "_low",
        "_producers",
        "_woken",
        "capacity",
        "closed",
        "items",
    )

    def __init__(self, capacity: int, hub: Hub | None = None) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, not {capacity!r}")
        self.capacity = capacity
        self.items: deque[SupervisorEvent] = deque()
        self.closed = False
        self._last_schedule = _now()
        self._low = capacity // 2  # producers are woken when the queue is this short
        self._woken = 0  # producers woken that have not run yet
        if hub is None:
            try:
                hub = current_hub()
            except RuntimeError:
                hub = None  # made outside an event loop: found on first use
        self._hub = hub
        self._consumers: Lot | None = None if hub is None else Lot(hub)
        # Producers waiting for room, oldest first (our own lot, so that one of them can
        # be woken with an exception: see interrupt()).
        self._producers: OrderedDict[Token, None] = OrderedDict()

    def _the_hub(self) -> Hub:
        hub = self._hub
        if hub is None:
            hub = self._hub = current_hub()
            self._consumers = Lot(hub)
        return hub

    def __len__(self) -> int:
        return len(self.items)

    @property
    def full(self) -> bool:
        """True when a producer must wait (and the queue is not closed)."""
        return len(self.items) >= self.capacity and not self.closed

    async def wait_room(self, token: Token | None = None) -> None:
        """Block until readers have made room or the queue closes (a schedule point).

        Producers are woken in groups once the queue is half empty, as many as the room
        is likely to take, so a thousand blocked parser tasks do not all wake for every
        event read.  ``token``: the waiting task's token (``hub.token()``), for a caller
        that may :meth:`interrupt` it; None: made here.
        """
        hub = self._the_hub()
        if token is None:
            token = hub.token()
        self._producers[token] = None
        await hub.wait(token, self._forget_producer, self._lost_producer)
        if self._woken:
            self._woken -= 1

    def _forget_producer(self, token: Token) -> None:
        self._producers.pop(token, None)

    def _lost_producer(self, token: Token) -> None:
        # Woken, then cancelled before it ran (asyncio): wake another in its place.
        if self._woken:
            self._woken -= 1
        self._woken += self._wake_producers(1)

    def interrupt(self, token: Token, error: BaseException) -> bool:
        """Wake the producer waiting in :meth:`wait_room` with ``token`` by raising
        ``error`` in it.

        Returns False (doing nothing) if it is not waiting here.
        """
        if token not in self._producers:
            return False
        del self._producers[token]
        self._hub.throw(token, error)  # type: ignore[union-attr]
        return True

    def _wake_producers(self, count: int) -> int:
        producers = self._producers
        if not producers:
            return 0
        wake = self._hub.wake  # type: ignore[union-attr]
        woken = 0
        while producers and woken < count:
            token, _ = producers.popitem(last=False)
            wake(token)
            woken += 1
        return woken

    def push(self, event: SupervisorEvent) -> None:
        """Append one event, ignoring the bound (the caller waited for room)."""
        if self.closed:
            return
        self.items.append(event)
        consumers = self._consumers
        if consumers:
            consumers.unpark()

    def push_many(self, events: list[SupervisorEvent]) -> None:
        """Append events in order, ignoring the bound (the caller waited for room)."""
        if self.closed:
            return
        self.items.extend(events)
        consumers = self._consumers
        if consumers:
            consumers.unpark(len(events))

    def keep_only(self, classes: tuple[type, ...]) -> None:
        """Drop the queued events of other classes (and wake producers into the room)."""
        items = self.items
        if not items:
            return
        kept = [e for e in items if e.__class__ in classes]
        if len(kept) == len(items):
            return
        items.clear()
        items.extend(kept)
        if self._producers and not self._woken:
            self._woken = self._wake_producers(len(self._producers))

    def close(self) -> None:
        """Accept no more events; readers drain what is queued, then end."""
        self.closed = True
        if self._consumers:
            self._consumers.unpark_all()
        self._wake_producers(len(self._producers))

    def discard(self) -> None:
        """Close and drop everything queued (the reader went away)."""
        self.items.clear()
        self.close()

    async def get(self) -> SupervisorEvent:
        """Remove and return the oldest event, waiting if there is none.

        Raises :class:`~jsonvisor.mailboxes.EndOfStream` (both ``trio.EndOfChannel`` and
        ``anyio.EndOfStream``) once the queue is closed and empty.
        """
        hub = self._hub
        if hub is None:
            hub = self._the_hub()
        if self.items and _now() - self._last_schedule < SCHEDULE_INTERVAL:
            await hub.checkpoint_if_cancelled()
        else:
            if self.items:
                await hub.checkpoint()
            while not self.items:
                if self.closed:
                    await hub.checkpoint_if_cancelled()
                    raise EndOfStream
                await self._consumers.park()  # type: ignore[union-attr]
            self._last_schedule = _now()
        items = self.items
        event = items.popleft()
        if self._producers and not self._woken and len(items) <= self._low:
            room = self.capacity - len(items)
            self._woken = self._wake_producers(max(1, room // 8))
        return event


_R = TypeVar("_R", bound="_QueueReader")


class _QueueReader:
    """Reading events from an :class:`EventQueue`: ``receive()`` and ``async for``."""

    __slots__ = ("_queue",)

    def __init__(self, queue: EventQueue) -> None:
        self._queue = queue

    def __aiter__(self: _R) -> _R:
        return self

    async def __anext__(self) -> SupervisorEvent:
        try:
            return await self._queue.get()
        except EndOfStream:
            raise StopAsyncIteration from None

    async def receive(self) -> SupervisorEvent:
        """The next event; raises :class:`~jsonvisor.mailboxes.EndOfStream` (both
        ``trio.EndOfChannel`` and ``anyio.EndOfStream``) once the stream has ended."""
        return await self._queue.get()


class EventStream(_QueueReader):
    """The fan-in of every message's events (``Supervisor.events()``).

    An async iterator; each event goes to exactly one reader if several iterate the
    stream at once.  It ends once no more events can come and every event has been read:
    after ``close_input()`` once every message has ended, or after the supervisor closed.
    """

    __slots__ = ()


class ResultStream(_QueueReader):
    """Each message's terminal event, as messages end (``Supervisor.results()``).

    An async iterator of ``Completed``, ``Failed``, ``Expired`` and ``Cancelled``, one per
    message; it ends like :class:`EventStream`.
    """

    __slots__ = ()

    async def __anext__(self) -> TerminalEvent:
        get = self._queue.get
        terminals = TERMINAL_EVENTS
        try:
            while True:
                event = await get()
                if event.__class__ in terminals:
                    return event  # type: ignore[return-value]
        except EndOfStream:
            raise StopAsyncIteration from None

    async def receive(self) -> TerminalEvent:  # type: ignore[override]
        """The next terminal event; raises :class:`~jsonvisor.mailboxes.EndOfStream` once
        the stream has ended."""
        try:
            return await self.__anext__()
        except StopAsyncIteration:
            raise EndOfStream from None


class Subscription(_QueueReader):
    """One message's events (``Supervisor.subscribe()``): an async context manager that
    is an async iterator.

    It sees the events emitted while it is entered and ends after the message's terminal
    event.  A slow subscriber slows that one message (its parser waits for room), never
    the others.
    """

    __slots__ = ("_detach", "msg_id")

    def __init__(
        self,
        msg_id: Hashable,
        queue: EventQueue,
        detach: Callable[[Subscription], None],
    ) -> None:
        super().__init__(queue)
        self.msg_id = msg_id
        self._detach = detach

    @property
    def queue(self) -> EventQueue:
        """The subscription's event queue (the supervisor pushes into it)."""
        return self._queue

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop receiving events; anything queued is dropped."""
        self._detach(self)
        self._queue.discard()
