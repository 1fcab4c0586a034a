"""One message's mailbox: a bounded FIFO of chunks with out-of-band control flags.

A :class:`Mailbox` has any number of producers (``put_nowait`` / ``wait_room``) and exactly
one consumer, the message's parser task (``wait_input`` / ``take_all``).  It is a purpose-built
relative of a memory channel, for three reasons:

* control (:meth:`Mailbox.end`, :meth:`Mailbox.close`) is a flag, not an item, so it never
  queues behind data in a full mailbox;
* the consumer takes *everything* queued in one call, so a burst of chunks costs one parse
  step, not one per chunk;
* an idle mailbox is a few hundred bytes (a list and a handful of slots), so ten thousand
  open messages stay cheap.

Nothing here checkpoints: the caller decides where its checkpoints are.  It runs under
trio and asyncio alike (see :mod:`jsonvisor.mailboxes.lowlevel`): the backend is the one
given to the constructor, or else the one running when a task first waits.
"""

from __future__ import annotations

from collections.abc import Awaitable, Hashable

from .lowlevel import READY, BusyResourceError, Hub, Lot, Token, current_hub
from .pacing import Pacer

__all__ = ["Chunk", "Mailbox", "MailboxFull"]

_READY = READY

Chunk = str | bytes
"""A piece of a message's input: text, or UTF-8 bytes split anywhere."""


class MailboxFull(Exception):
    """A chunk did not fit: the message's mailbox already holds ``capacity`` chunks.

    Raised by ``send`` and ``send_nowait`` under ``overflow="raise"``, and the error of the
    ``Failed`` event that ends a message under ``overflow="drop"``.
    """

    def __init__(self, msg_id: Hashable, capacity: int, max_queued: int | None = None) -> None:
        self.msg_id = msg_id
        self.capacity = capacity
        self.max_queued = max_queued
        limit = f" or {max_queued} characters/bytes" if max_queued is not None else ""
        super().__init__(
            f"mailbox of message {msg_id!r} is full (at most {capacity} chunks{limit} queued)"
        )


class Mailbox:
    """The chunks waiting for one message's parser task.

    Args:
        msg_id: the message this mailbox belongs to.
        capacity: the most chunks it holds; :meth:`put_nowait` refuses more.
        max_queued: the most characters (``str`` chunks) or bytes (``bytes`` chunks) it
            holds; a chunk that would go over is refused, unless the mailbox is empty (so
            any one chunk fits).  None: no limit.
        hub: the backend's scheduling primitives (:mod:`jsonvisor.mailboxes.lowlevel`);
            None: the backend running when a task first waits on this mailbox.
        pacer: the loop's :class:`~jsonvisor.mailboxes.pacing.Pacer`, or None.  With
            one, a chunk that arrives once the scheduler round's budget is spent does not
            wake the consumer at once: it is put in the pacer's line, woken on its turn
            (:attr:`paced` then holds its token: see :meth:`input_waiter`).

    Attributes:
        msg_id: as given.
        capacity: as given.
        max_queued: as given.
        queued: the total length of the queued chunks.
        chunks: the queued chunks, oldest first (read it, do not modify it).
        ended: :meth:`end` was called: no more input will be accepted, and the consumer
            finishes once it has taken what is queued.
        closed: :meth:`close` was called: the mailbox is gone for good.
        owner: a free slot for whoever runs the consumer (the supervisor keeps its
            per-message record there, so one dictionary lookup routes a chunk).
        pacer: as given (may be set later, before the consumer first waits).
        paced: the consumer's token while its wake-up is the pacer's, else None.
    """

    __slots__ = (
        "_hub",
        "_receiver",
        "_senders",
        "capacity",
        "chunks",
        "closed",
        "ended",
        "max_queued",
        "msg_id",
        "owner",
        "paced",
        "pacer",
        "queued",
    )

    def __init__(
        self,
        msg_id: Hashable,
        capacity: int,
        max_queued: int | None = None,
        hub: Hub | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, not {capacity!r}")
        if max_queued is not None and max_queued < 1:
            raise ValueError(f"max_queued must be at least 1 or None, not {max_queued!r}")
        self.pacer = pacer
        self.paced: Token | None = None
        self.msg_id = msg_id
        self.capacity = capacity
        self.max_queued = max_queued
        self.queued = 0
        self.chunks: list[Chunk] = []
        self.ended = False
        self.closed = False
        self.owner: object = None
        self._hub = hub
        self._receiver: Token | None = None
        self._senders: Lot | None = None

    def __len__(self) -> int:
        return len(self.chunks)

    def __repr__(self) -> str:
        state = "closed" if self.closed else "ended" if self.ended else "open"
        return f"<Mailbox {self.msg_id!r} {state} {len(self.chunks)}/{self.capacity}>"

    @property
    def full(self) -> bool:
        """True when :meth:`put_nowait` would refuse any chunk."""
        limit = self.max_queued
        return len(self.chunks) >= self.capacity or (limit is not None and self.queued >= limit)

    def fits(self, size: int) -> bool:
        """True when :meth:`put_nowait` would take a chunk of length ``size``."""
        if len(self.chunks) >= self.capacity:
            return False
        limit = self.max_queued
        return limit is None or not self.queued or self.queued + size <= limit

    # -------------------------------------------------------------- producers

    def put_nowait(self, chunk: Chunk) -> bool:
        """Queue ``chunk`` if there is room and wake the consumer.

        Returns False, queueing nothing, if the mailbox is full or has ended (the caller
        tells the two apart with :attr:`ended`).
        """
        chunks = self.chunks
        if len(chunks) >= self.capacity or self.ended:
            return False
        size = len(chunk)
        queued = self.queued
        if queued and self.max_queued is not None and queued + size > self.max_queued:
            return False
        self.queued = queued + size
        chunks.append(chunk)
        receiver = self._receiver
        if receiver is not None:
            self._wake_receiver(receiver)
        return True

    def _wake_receiver(self, receiver: Token) -> None:
        """Wake the consumer now, or on its turn if the pacer's round is spent."""
        self._receiver = None
        pacer = self.pacer
        if pacer is not None and pacer.defer_wake(receiver):
            self.paced = receiver
        else:
            self._hub.wake(receiver)  # type: ignore[union-attr]

    def _the_hub(self) -> Hub:
        hub = self._hub
        if hub is None:
            hub = self._hub = current_hub()
        return hub

    async def wait_room(self) -> None:
        """Block until the consumer has taken chunks, or the mailbox ends or closes.

        Always blocks (it is a schedule point); the caller re-checks the state and tries
        again.  Cancellable.
        """
        senders = self._senders
        if senders is None:
            senders = self._senders = Lot(self._the_hub())
        await senders.park()

    @property
    def senders_waiting(self) -> int:
        """How many producers are blocked in :meth:`wait_room`."""
        return 0 if self._senders is None else len(self._senders)

    def end(self) -> None:
        """Accept no more chunks; the consumer finishes after taking what is queued."""
        if not self.ended:
            self.ended = True
            self._wake_all()

    # -------------------------------------------------------------- the consumer

    async def wait_input(self) -> None:
        """Block until a chunk is queued or the mailbox ends or closes.

        Returns at once, without a checkpoint, if one of those is already true.  Only the
        single consumer task may wait.  Cancellable.
        """
        await self.input_waiter()

    def input_waiter(self) -> Awaitable[None]:
        """:meth:`wait_input` as a plain call returning the awaitable: for a consumer that
        awaits it at once, and so holds no extra coroutine frame while it waits.

        The consumer is registered when this is *called*: ``await mailbox.input_waiter()``.
        With a :attr:`pacer`, a consumer that finds :attr:`paced` set after the wait was
        woken on its turn: it clears it and calls ``pacer.resumed(token)``, and if the wait
        raised, ``pacer.forget(token)``.
        """
        if self.chunks or self.ended or self.closed:
            return _READY
        hub = self._hub
        if hub is None:
            hub = self._the_hub()
        receiver = self._receiver
        if receiver is not None and not hub.stale(receiver):
            raise BusyResourceError("another task is already waiting on this mailbox")
        token = self._receiver = hub.token()
        return hub.wait_lightly(token, self._abort_wait)

    def interrupt(self, error: BaseException) -> bool:
        """Wake the consumer blocked in :meth:`wait_input` by raising ``error`` in it.

        Returns False (doing nothing) if the consumer is not waiting.
        """
        receiver = self._receiver
        if receiver is None:
            receiver = self.paced
            # In the pacer's line: taken out and woken here.  Already let in: too late.
            if receiver is None or not self.pacer.withdraw(receiver):  # type: ignore[union-attr]
                return False
            self.paced = None
        self._receiver = None
        hub = self._hub
        assert hub is not None
        if hub.stale(receiver):  # its wait was cancelled (asyncio)
            return False
        hub.throw(receiver, error)
        return True

    def _abort_wait(self, token: Token) -> None:
        if self._receiver is token:
            self._receiver = None
        elif self.paced is token:
            self.paced = None
            self.pacer.forget(token)  # type: ignore[union-attr]

    def take_all(self) -> list[Chunk]:
        """Remove and return every queued chunk, oldest first; wake blocked producers."""
        chunks = self.chunks
        if not chunks:
            return chunks
        self.chunks = []
        self.queued = 0
        if self._senders is not None and self._senders:
            self._senders.unpark_all()
        return chunks

    def close(self) -> list[Chunk]:
        """Close for good: wake everyone and return the chunks nobody took."""
        self.closed = True
        self.ended = True
        left = self.chunks
        self.chunks = []
        self.queued = 0
        self._wake_all()
        return left

    def _wake_all(self) -> None:
        receiver = self._receiver
        if receiver is not None:
            self._wake_receiver(receiver)
        if self._senders is not None and self._senders:
            self._senders.unpark_all()
