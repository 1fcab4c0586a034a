"""The root's bookkeeping: live messages, worker slots, and remembered finished IDs."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import trio

from ..mailboxes import Chunk
from ..supervisor import Subscription

__all__ = [
    "FLAG_CANCEL",
    "FLAG_END",
    "Counters",
    "FinishedIds",
    "Live",
    "Options",
    "Slot",
    "join_chunks",
]

FLAG_END = 1
"""Batch flag: the message's input ends after this item's data."""
FLAG_CANCEL = 2
"""Batch flag: cancel the message."""


@dataclass(frozen=True)
class Options:
    """The root's settings (from ``open_cluster``)."""

    spawn_timeout: float
    ping_timeout: float
    heartbeat_timeout: float
    flush_interval: float
    window: int
    replay_bytes: int | None
    trusted: tuple[str, ...]
    discovery_timeout: float
    worker_name: str
    loglevel: str
    local_fallback: bool
    import_main: bool
    factory_env: dict[str, str]


class Counters:
    """Plain mutable counters (the hot path increments attributes)."""

    def __init__(self) -> None:
        self.started = 0
        self.completed = 0
        self.failed = 0
        self.expired = 0
        self.cancelled = 0
        self.chunks_in = 0  # chunks batched (or replayed); pending ones are added by stats()
        self.bytes_in = 0
        self.events_out = 0
        self.restarts = 0
        self.workers_started = 0
        self.workers_lost = 0
        self.workers_hung = 0
        self.replacements = 0
        self.replayed = 0
        self.lost_messages = 0
        self.last_recovery: float | None = None
        self.ipc_batches_out = 0
        self.ipc_batches_in = 0
        self.ipc_ops_out = 0
        self.ipc_items_in = 0
        self.ipc_bytes_out = 0
        self.ipc_bytes_in = 0
        self.ipc_send_seconds = 0.0
        self.ipc_recv_seconds = 0.0


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
    slot's pending batch is not in ``retained`` yet (nor counted in ``nbytes``).

    ``queue`` is the message's list of chunks in ``owner``'s pending batch, or None when
    the next chunk must take the slow path (no list in the current batch yet, the message
    has ended, or it finished): ``Cluster.send`` appends to it directly.
    """

    __slots__ = (
        "cancel_requested",
        "ended",
        "msg_id",
        "nbytes",
        "owner",
        "queue",
        "replays",
        "retained",
        "slot",
        "subscribers",
    )

    def __init__(self, msg_id: Hashable, owner: Slot, retain: bool) -> None:
        self.msg_id = msg_id
        self.owner = owner
        self.slot = owner.index
        self.queue: list[Chunk] | None = None
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
    ``flag_calls`` the ``end``/``cancel`` calls in it (each chunk in ``pending`` is one
    ``send`` call); ``unacked`` the calls sent or pending that the worker has not yet
    applied (bounded by the cluster's ``window``).
    ``idle`` is True while the slot's sender sleeps waiting for something to send: a
    producer that adds to the batch then calls :meth:`kick`.
    """

    __slots__ = (
        "flag_calls",
        "flags",
        "generation",
        "idle",
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
        self.flag_calls = 0
        self.unacked = 0
        self.room = trio.lowlevel.ParkingLot()
        self.wake = trio.Event()
        self.idle = False
        self.session: Any = None
        self.last_stats: Any = None

    def kick(self) -> None:
        """Wake the slot's sender (there is something to send)."""
        self.idle = False
        self.wake.set()

    def notify(self) -> None:
        """Wake the slot's sender if it sleeps."""
        if self.idle:
            self.kick()

    async def wait_work(self) -> None:
        """Sleep until the pending batch is not empty (the sender's side of :meth:`kick`)."""
        while not (self.pending or self.flags):
            self.wake = trio.Event()
            self.idle = True
            try:
                await self.wake.wait()
            finally:
                self.idle = False

    def take_batch(self) -> tuple[int, dict[Hashable, list[Chunk]], dict[Hashable, int]]:
        """Remove and return the pending batch: ``(flag_calls, chunks, flags)``."""
        batch = (self.flag_calls, self.pending, self.flags)
        self.flag_calls = 0
        self.pending = {}
        self.flags = {}
        return batch

    def pending_chunks(self) -> tuple[int, int]:
        """``(chunks, characters or bytes)`` waiting in the pending batch."""
        chunks = size = 0
        for queued in self.pending.values():
            chunks += len(queued)
            size += sum(map(len, queued))
        return chunks, size


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
