"""A worker slot: one worker position, and the batch of input waiting to be sent to it."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import trio

from ..mailboxes import Chunk
from ..supervisor.offload import utf8_len

__all__ = ["Slot"]


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
        """``(chunks, UTF-8 bytes)`` waiting in the pending batch."""
        chunks = size = 0
        for queued in self.pending.values():
            chunks += len(queued)
            size += sum(map(utf8_len, queued))
        return chunks, size
