"""Routing: message ID to open mailbox, and a memory of recently finished IDs.

The router never opens a mailbox by accident: a chunk for an ID that finished recently
(one of the last ``remember`` to finish) is reported as finished instead of starting a
new message.  The memory is bounded, so after any number of messages the router holds
exactly the open mailboxes plus at most ``remember`` IDs.
"""

from __future__ import annotations

from collections.abc import Hashable

from .finished import FinishedIds
from .lowlevel import Hub
from .mailbox import Chunk, Mailbox

__all__ = ["Router"]


class Router:
    """Per-ID mailboxes for a set of concurrent messages.

    Args:
        capacity: the bound of every mailbox this router opens, in chunks.
        remember: how many finished IDs to remember (oldest forgotten first).
        max_queued: the bound of every mailbox in characters or bytes (see
            :class:`Mailbox`); None: none.
        hub: the backend of every mailbox it opens (see :class:`Mailbox`).

    Attributes:
        mailboxes: the open mailboxes by message ID (read-only for callers; the
            supervisor reads it directly on its hot path).
    """

    __slots__ = ("_finished", "_hub", "capacity", "mailboxes", "max_queued", "remember")

    def __init__(
        self,
        capacity: int,
        remember: int = 10_000,
        max_queued: int | None = None,
        hub: Hub | None = None,
    ) -> None:
        if capacity < 1:
            raise ValueError(f"mailbox capacity must be at least 1, not {capacity!r}")
        self.capacity = capacity
        self.max_queued = max_queued
        self.remember = max(0, remember)
        self._hub = hub
        self.mailboxes: dict[Hashable, Mailbox] = {}
        self._finished = FinishedIds(self.remember)

    def __len__(self) -> int:
        return len(self.mailboxes)

    def get(self, msg_id: Hashable) -> Mailbox | None:
        """The open mailbox of ``msg_id``, or None."""
        return self.mailboxes.get(msg_id)

    def is_finished(self, msg_id: Hashable) -> bool:
        """True if ``msg_id`` finished recently enough to be remembered (and is not open)."""
        return msg_id in self._finished

    def open(self, msg_id: Hashable) -> Mailbox:
        """Open a mailbox for a new message.

        Raises ``KeyError`` if ``msg_id`` is open or remembered as finished: the caller
        turns its chunk into a dead letter instead.
        """
        if msg_id in self.mailboxes:
            raise KeyError(f"message {msg_id!r} is already open")
        if msg_id in self._finished:
            raise KeyError(f"message {msg_id!r} has finished")
        mailbox = self.mailboxes[msg_id] = Mailbox(
            msg_id, self.capacity, self.max_queued, self._hub
        )
        return mailbox

    def retire(self, msg_id: Hashable) -> list[Chunk]:
        """Close and remove the mailbox of ``msg_id``, remember the ID as finished.

        Returns the chunks that were still queued (the caller reports them as dead
        letters).  Returns ``[]`` if the ID was not open.
        """
        mailbox = self.mailboxes.pop(msg_id, None)
        self._finished.add(msg_id)
        return [] if mailbox is None else mailbox.close()

    def forget(self, msg_id: Hashable) -> bool:
        """Forget that ``msg_id`` finished, so it may be used again; True if it was known."""
        return self._finished.discard(msg_id)

    @property
    def remembered(self) -> int:
        """How many finished IDs are remembered."""
        return len(self._finished)
