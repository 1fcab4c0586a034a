"""Dead letters: chunks that reached no parser, counted and kept for inspection.

A chunk becomes a dead letter when its message can no longer take it: it arrived after
the message ended or finished, it was still queued when the message finished, or it was
dropped by ``overflow="drop"``.  Every dead letter is counted by reason; the most recent
ones are kept (with their chunks) for debugging, and an optional callback sees each one
as it happens.  Nothing is ever dropped silently.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable, Iterable
from typing import Literal, NamedTuple

from .mailbox import Chunk

__all__ = ["DeadLetter", "DeadLetterBox", "DeadLetterReason"]

DeadLetterReason = Literal["ended", "finished", "unread", "overflow"]
"""Why a chunk became a dead letter.

``"ended"``: it arrived after ``end()`` (or after the message began to fail).
``"finished"``: it arrived after the message had finished (its ID is remembered).
``"unread"``: it was still queued when the message finished, failed, expired or was
cancelled.
``"overflow"``: the mailbox was full under ``overflow="drop"``.
"""


class DeadLetter(NamedTuple):
    """One chunk that reached no parser."""

    msg_id: Hashable
    chunk: Chunk
    reason: DeadLetterReason


class DeadLetterBox:
    """Counts dead letters by reason and keeps the latest ``keep`` of them.

    Args:
        keep: how many recent dead letters :meth:`recent` returns (0 keeps none).
        on_dead_letter: called synchronously with each :class:`DeadLetter` (it must not
            block; an exception from it propagates to whoever sent the chunk).
    """

    __slots__ = ("_by_reason", "_callback", "_recent", "total")

    def __init__(
        self,
        keep: int = 100,
        on_dead_letter: Callable[[DeadLetter], object] | None = None,
    ) -> None:
        self.total = 0
        self._by_reason: dict[str, int] = {}
        self._recent: deque[DeadLetter] = deque(maxlen=max(0, keep))
        self._callback = on_dead_letter

    def add(self, msg_id: Hashable, chunk: Chunk, reason: DeadLetterReason) -> None:
        """Record one dead letter."""
        self.total += 1
        self._by_reason[reason] = self._by_reason.get(reason, 0) + 1
        letter = DeadLetter(msg_id, chunk, reason)
        self._recent.append(letter)
        if self._callback is not None:
            self._callback(letter)

    def add_many(self, msg_id: Hashable, chunks: Iterable[Chunk], reason: DeadLetterReason) -> None:
        """Record several dead letters of one message, in order."""
        for chunk in chunks:
            self.add(msg_id, chunk, reason)

    def by_reason(self) -> dict[str, int]:
        """How many dead letters there were for each reason (a copy)."""
        return dict(self._by_reason)

    def recent(self) -> list[DeadLetter]:
        """The latest dead letters, oldest first (at most ``keep``)."""
        return list(self._recent)

    def __len__(self) -> int:
        return self.total

    def __repr__(self) -> str:
        return f"<DeadLetterBox total={self.total} {self._by_reason}>"
