"""The interface a supervisor and a cluster share (:class:`FrontEnd`), and the methods
they share, written once (:class:`HubFrontEnd`)."""

from __future__ import annotations

import time
from collections.abc import Hashable, Iterable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ..mailboxes import Chunk, DeadLetterBox
from ..mailboxes.lowlevel import WouldBlock
from ..parsers import ParseResult
from ._queues import EventStream, ResultStream, Subscription
from ._stats import MessageStats

if TYPE_CHECKING:
    from ._hub import MessageHub

__all__ = ["FrontEnd", "HubFrontEnd", "as_chunk"]

_now = time.perf_counter


def as_chunk(chunk: object) -> Chunk:
    """``chunk`` as a ``str`` or ``bytes`` chunk (a ``bytearray`` or ``memoryview`` is
    copied: the producer may reuse its buffer); ``TypeError`` for anything else."""
    if isinstance(chunk, str):
        return str(chunk)
    if isinstance(chunk, (bytes, bytearray, memoryview)):
        return bytes(chunk)
    raise TypeError(f"a chunk must be str or bytes, not {type(chunk).__name__}")


@runtime_checkable
class FrontEnd(Protocol):
    """What ``Supervisor`` (local parser tasks) and ``Cluster`` (remote workers) both
    offer: two ways of feeding one ``jsonvisor.hub.MessageHub``.

    Code written against it runs on either; the same test suite runs against both
    (``tests/test_frontends.py``).  ``Supervisor.snapshot()`` is the supervisor's alone
    (a cluster's parsers live in other processes).
    """

    async def send(self, msg_id: Hashable, chunk: Chunk) -> None:
        """Route ``chunk`` to message ``msg_id``; the first chunk of an ID opens it."""

    def send_nowait(self, msg_id: Hashable, chunk: Chunk) -> None:
        """:meth:`send` without waiting (``WouldBlock`` if it would)."""

    async def send_many(self, items: Iterable[tuple[Hashable, Chunk]]) -> None:
        """Route many ``(msg_id, chunk)`` pairs, in order, with one schedule point."""

    async def end(self, msg_id: Hashable) -> None:
        """End of input for ``msg_id``."""

    def end_nowait(self, msg_id: Hashable) -> None:
        """:meth:`end` without a checkpoint."""

    def cancel(self, msg_id: Hashable) -> bool:
        """Cancel message ``msg_id`` (it ends with ``Cancelled``)."""

    def close_input(self) -> None:
        """No new messages: ``events()`` and ``results()`` end once every one has."""

    @property
    def input_closed(self) -> bool:
        """True after :meth:`close_input` (or once closing)."""

    def events(self) -> EventStream:
        """Every message's events (the fan-in)."""

    def results(self) -> ResultStream:
        """Each message's terminal event, as messages end."""

    def subscribe(self, msg_id: Hashable) -> Subscription:
        """One message's events."""

    async def result(self, msg_id: Hashable) -> ParseResult:
        """Wait for ``msg_id`` to end; its result, or its error raised."""

    def is_open(self, msg_id: Hashable) -> bool:
        """True while ``msg_id`` is open."""

    @property
    def dead_letters(self) -> DeadLetterBox:
        """The chunks that reached no parser."""

    @property
    def closed(self) -> bool:
        """True once shutting down or shut down."""

    def stats(self) -> MessageStats:
        """A snapshot of the counters."""


class HubFrontEnd:
    """The methods a supervisor and a cluster share, written once.

    ``Supervisor`` and ``Cluster`` derive from it: everything on the consumer side
    delegates to their :class:`~jsonvisor.hub.MessageHub` (``_hub``), and the producer
    side's ``send_nowait``, ``send_many`` and ``end`` go through what each front end
    supplies:

    * ``_deliver(msg_id, chunk) -> bool``: route one chunk without waiting; False if it
      must wait for room (a supervisor's full mailbox, a cluster worker's full window);
    * ``await _send_blocking(msg_id, chunk)``: route it, waiting for room;
    * ``end_nowait(msg_id)``;
    * ``_last_schedule``: when ``send`` last passed a schedule point.
    """

    _hub: MessageHub
    _last_schedule: float

    def _deliver(self, msg_id: Hashable, chunk: Chunk) -> bool:  # pragma: no cover
        raise NotImplementedError

    async def _send_blocking(self, msg_id: Hashable, chunk: Chunk) -> None:  # pragma: no cover
        raise NotImplementedError

    def end_nowait(self, msg_id: Hashable) -> None:  # pragma: no cover
        raise NotImplementedError

    # ================================================================== producers

    def send_nowait(self, msg_id: Hashable, chunk: Chunk) -> None:
        """Like :meth:`send`, but never waits: where ``send`` would wait for room (a
        supervisor's full mailbox under ``overflow="block"``, a cluster worker's full
        window) it raises :class:`~jsonvisor.mailboxes.WouldBlock` (both
        ``trio.WouldBlock`` and ``anyio.WouldBlock``; the chunk was not sent)."""
        if not self._deliver(msg_id, chunk):
            raise WouldBlock

    async def send_many(self, items: Iterable[tuple[Hashable, Chunk]]) -> None:
        """Route many ``(msg_id, chunk)`` pairs, in order, with one schedule point.

        The fast way to hand over a burst: no trip through the scheduler per chunk, and
        each parser then takes all its new chunks in one step.  Waits wherever
        :meth:`send` would (a full mailbox under ``overflow="block"``, a full window).
        If cancelled while waiting, the pairs before the one it waited for were sent and
        the rest were not.
        """
        backend = self._hub.backend
        await backend.checkpoint_if_cancelled()
        deliver = self._deliver
        for msg_id, chunk in items:
            if not deliver(msg_id, chunk):
                await self._send_blocking(msg_id, chunk)
        await backend.cancel_shielded_checkpoint()
        self._last_schedule = _now()

    async def end(self, msg_id: Hashable) -> None:
        """End of stream for ``msg_id``: its parser finishes once the queued chunks are fed.

        A control message: it never waits behind data (a full mailbox or window).  Chunks sent
        after it are dead letters.  Ending an ID that never had a chunk opens and ends an
        empty message (its parser finishes with no input); ending a message that has
        already ended or finished does nothing.  A checkpoint.
        """
        backend = self._hub.backend
        await backend.checkpoint_if_cancelled()
        self.end_nowait(msg_id)
        await backend.cancel_shielded_checkpoint()

    def close_input(self) -> None:
        """No new messages: the producers are done starting them.

        Messages already open go on as before (their chunks, ``end`` and ``cancel`` are
        accepted); a chunk or ``end`` for a new ID raises
        :class:`~jsonvisor.mailboxes.ClosedResourceError`, and so does ``result()`` of a
        message that never started.  Once every open message has ended,
        :meth:`events` and :meth:`results` end (after their last event is read): call
        this when the producers are done, and ``async for`` over either of them ends by
        itself.  Idempotent.
        """
        self._hub.close_input()

    @property
    def input_closed(self) -> bool:
        """True after :meth:`close_input` (or once the front end is closing)."""
        return self._hub.input_closed or self._hub.closed

    # ================================================================== consumers

    def events(self) -> EventStream:
        """The fan-in: every message's events, in the order each message produced them.

        Each item is a :class:`MessageEvent`, :class:`WatchEvent`, :class:`Restarted` or
        a terminal event, all carrying ``msg_id``.  The fan-in is bounded
        (``events_buffer``): a consumer that falls behind makes the parsers wait, and
        then producers wait in :meth:`send`.  With several readers, each event goes to
        one of them.  The stream ends once everything has been read and no event can come
        any more: after :meth:`close_input` once every message has ended, or after the
        front end closed.

        Raises ``RuntimeError`` with ``fan_in=False``, after :meth:`results` (they read
        the same fan-in), and :exc:`FanInSwitchedOff` if the default ``fan_in="auto"``
        fan-in filled up before this was called and was switched off.
        """
        return self._hub.events()

    def results(self) -> ResultStream:
        """Each message's terminal event (``Completed``, ``Failed``, ``Expired`` or
        ``Cancelled``), as messages end: ``async for end in front.results()``.

        Reads the fan-in like :meth:`events` (so it applies the same backpressure) but
        yields terminal events only; once it is called, parser events no longer go
        through the fan-in at all (``subscribe()`` still sees them).  It ends as
        :meth:`events` does: call :meth:`close_input` when the producers are done.
        Raises as :meth:`events` does (``RuntimeError`` after :meth:`events`).
        """
        return self._hub.results()

    def subscribe(self, msg_id: Hashable) -> Subscription:
        """One message's events, as ``async with front.subscribe(msg_id) as stream:``.

        The stream yields the events emitted while it is entered -- all of them if it is
        entered before the message's first chunk -- and ends after the terminal event.
        For a message that already finished it yields just the terminal event (raising
        :exc:`ResultUnavailable` if that is no longer kept).  Its buffer is bounded like
        the fan-in: a slow subscriber slows that message (a supervisor's) or the messages
        of that worker (a cluster's).
        """
        return self._hub.subscribe(msg_id)

    async def result(self, msg_id: Hashable) -> ParseResult:
        """Wait for message ``msg_id`` to end; return its :class:`ParseResult`.

        Raises the message's error instead if it failed (``JsonStreamError``,
        ``ParserCrashed``, ``MailboxFull`` or a cluster's ``WorkerLost``),
        :exc:`MessageExpiredError` or :exc:`MessageCancelledError`.  Works before the
        message starts, while it runs and after it finished, as long as its outcome is
        among the last ``keep_results`` (otherwise :exc:`ResultUnavailable`).  Raises
        :class:`~jsonvisor.mailboxes.ClosedResourceError` if the front end closes, or its
        input is closed (:meth:`close_input`), before a message with this ID started.
        """
        return await self._hub.result(msg_id)

    def is_open(self, msg_id: Hashable) -> bool:
        """True while message ``msg_id`` is open (started, not yet finished)."""
        return msg_id in self._hub.open

    @property
    def dead_letters(self) -> DeadLetterBox:
        """Every chunk that reached no parser: counts by reason and the latest ones."""
        return self._hub.dead

    @property
    def closed(self) -> bool:
        """True once the front end is shutting down or has shut down."""
        return self._hub.closed
