"""What the hub keeps of one open message, and its replay buffer.

Each front end's own record of a message derives from :class:`MessageRecord`: the
supervisor's (its mailbox, parser and task) and the cluster's (its worker slot and pending
input).  The hub needs the record's subscribers; both front ends need the replay buffer:
the input a message's parser has consumed, kept so that a new parser can be given it
again -- after a crash (the supervisor), or on a replacement worker (the cluster).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING

from ..mailboxes import Chunk

if TYPE_CHECKING:
    from ._queues import Subscription

__all__ = ["MessageRecord"]

_NOTHING_KEPT: tuple[()] = ()
_MERGE_FROM = 16  # pieces kept before the last ones are merged


class MessageRecord:
    """One open message, as the hub sees it.

    Attributes:
        msg_id: the message's ID.
        subscribers: its subscriptions (None: none), which the hub delivers to.
        retained: the replay buffer: the input kept so far, as pieces of geometrically
            decreasing size (an empty tuple until the first one), or None once it outgrew
            its limit or if nothing is kept (then the message cannot be replayed).
        retained_bytes: the size counted for the input kept (by the caller's measure).
    """

    __slots__ = ("msg_id", "retained", "retained_bytes", "subscribers")

    def __init__(self, msg_id: Hashable, *, retain: bool = True) -> None:
        self.msg_id = msg_id
        self.subscribers: list[Subscription] | None = None
        self.retained: list[Chunk] | tuple[()] | None = _NOTHING_KEPT if retain else None
        self.retained_bytes = 0

    def retain(self, piece: Chunk, nbytes: int, limit: int) -> None:
        """Keep ``piece`` (``nbytes`` long) for a replay, unless the total goes over
        ``limit`` (then nothing more is kept, and the buffer is dropped).

        Pieces are merged (the last two, while the older is not longer) once there are
        16, so a message keeps O(log n) pieces and each byte is copied O(log n) times.
        """
        kept = self.retained
        if kept is None:
            return
        self.retained_bytes += nbytes
        if self.retained_bytes > limit:
            self.retained = None
            return
        if kept.__class__ is tuple:
            self.retained = [piece]
            return
        assert isinstance(kept, list)
        kept.append(piece)
        if len(kept) < _MERGE_FROM:
            return
        while len(kept) > 1:
            last = kept[-1]
            prev = kept[-2]
            if prev.__class__ is not last.__class__ or len(prev) > len(last):
                break
            kept[-2:] = [prev + last]  # type: ignore[operator]

    def replay_input(self) -> list[Chunk]:
        """The input kept, oldest first (empty if none, or if it was not kept)."""
        return list(self.retained or ())
