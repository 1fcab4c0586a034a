"""The root's bookkeeping: live messages, worker slots, and remembered finished IDs."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

import trio

from ..mailboxes import Chunk
from ..supervisor import Subscription

__all__ = ["FinishedIds", "Live", "Slot", "join_chunks"]


def join_chunks(chunks: list[Chunk]) -> Chunk:
    """One piece from several (bytes if any piece is bytes: text is UTF-8 encoded)."""
    if len(chunks) == 1:
        return chunks[0]
    cls = chunks[0].__class__
    for chunk in chunks:
        if chunk.__class__ is not cls:
            return b"".join(c if c.__class__ is bytes else c.encode() for c in chunks)  # type: ignore[union-attr]
    return "".join(chunks) if cls is str else b"".join(chunks)  # type: ignore[arg-type]


class Live:
    """The root's record of one open message.

    ``retained`` is the input already sent to the worker, kept for a replay as pieces of
    geometrically decreasing size (O(log n) pieces), or None once it outgrew
    ``replay_bytes`` (then a lost worker fails the message).  Input still waiting in the
    slot's pending batch is not in ``retained`` yet.
    """

    __slots__ = (
        "cancel_requested",
        "ended",
        "msg_id",
        "nbytes",
        "replays",
        "retained",
        "slot",
        "subscribers",
    )

    def __init__(self, msg_id: Hashable, slot: int, retain: bool) -> None:
        self.msg_id = msg_id
        self.slot = slot
        self.ended = False
        self.cancel_requested = False
        self.nbytes = 0
        self.replays = 0
        self.retained: list[Chunk] | None = [] if retain else None
        self.subscribers: list[Subscription] | None = None

    def retain(self, piece: Chunk, limit: int) -> None:
        """Keep ``piece`` (already counted in ``nbytes``) unless over ``limit``."""
        kept = self.retained
        if kept is None:
            return
        if self.nbytes > limit:
            self.retained = None
            return
        kept.append(piece)
        while len(kept) > 1:
            last = kept[-1]
            prev = kept[-2]
            if prev.__class__ is not last.__class__ or len(prev) > len(last):
                break
            kept[-2:] = [prev + last]  # type: ignore[operator]


class Slot:
    """One worker position: message IDs are sharded over slots by a stable hash.

    The slot outlives its workers: when a worker is lost, a replacement takes the same
    slot (generation + 1) and gets the slot's live messages replayed.

    ``pending`` and ``flags`` are the next batch (chunks per message, end/cancel flags);
    ``count`` the ``send``/``end``/``cancel`` calls in it; ``unacked`` the calls sent or
    pending that the worker has not yet applied (bounded by the cluster's ``window``).
    """

    __slots__ = (
        "count",
        "flags",
        "generation",
        "index",
        "kind",
        "last_stats",
        "pending",
        "room",
        "session",
        "unacked",
        "wake",
    )

    def __init__(self, index: int, kind: str) -> None:
        self.index = index
        self.kind = kind
        self.generation = 0
        self.pending: dict[Hashable, list[Chunk]] = {}
        self.flags: dict[Hashable, int] = {}
        self.count = 0
        self.unacked = 0
        self.room = trio.lowlevel.ParkingLot()
        self.wake = trio.Event()
        self.session: Any = None
        self.last_stats: Any = None

    def notify(self) -> None:
        """Wake the slot's sender (there is something to send)."""
        if not self.wake.is_set():
            self.wake.set()

    def take_batch(self) -> tuple[int, dict[Hashable, list[Chunk]], dict[Hashable, int]]:
        """Remove and return the pending batch: ``(count, chunks, flags)``."""
        batch = (self.count, self.pending, self.flags)
        self.count = 0
        self.pending = {}
        self.flags = {}
        return batch


class FinishedIds:
    """The last ``remember`` finished message IDs (so late chunks become dead letters)."""

    __slots__ = ("_ids", "remember")

    def __init__(self, remember: int) -> None:
        self.remember = max(0, remember)
        self._ids: OrderedDict[Hashable, None] = OrderedDict()

    def __contains__(self, msg_id: Hashable) -> bool:
        return msg_id in self._ids

    def add(self, msg_id: Hashable) -> None:
        if not self.remember:
            return
        ids = self._ids
        ids[msg_id] = None
        ids.move_to_end(msg_id)
        if len(ids) > self.remember:
            ids.popitem(last=False)
