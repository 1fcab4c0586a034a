"""One event stream's queue: encoded server-sent events, bounded in bytes.

The service reads each message's events from the supervisor in one task (see
:mod:`jsonvisor.serve.registry`) and pushes them, encoded once, into every subscriber's
queue without ever waiting.  A subscriber that falls more than ``limit`` bytes behind is
*dropped*: its queue is emptied, its connection closed, and nobody else notices — the
parser, the producer and the other subscribers never wait for a slow reader.
"""

from __future__ import annotations

from collections import deque

import trio

from ..watch import Watcher

__all__ = ["Subscriber"]


class Subscriber:
    """A bounded queue of encoded events for one HTTP event stream.

    ``compact``: the client builds values from the events, so a ``value_completed`` whose
    value it already has carries ``"same": true`` instead.  ``watcher``: the values at
    the watched paths are sent too (``watched`` events).
    """

    __slots__ = (
        "_lot",
        "compact",
        "dropped",
        "ended",
        "items",
        "limit",
        "send_scope",
        "sent",
        "size",
        "watcher",
    )

    def __init__(self, limit: int, *, compact: bool = False, watcher: Watcher | None = None):
        self.limit = limit
        self.compact = compact
        self.watcher = watcher
        self.items: deque[bytes] = deque()
        self.size = 0
        self.sent = 0
        self.ended = False  # no more events will come (after the terminal event)
        self.dropped: str | None = None  # why it was dropped
        self.send_scope: trio.CancelScope | None = None  # the write in progress
        self._lot = trio.lowlevel.ParkingLot()

    def push(self, data: bytes, *, force: bool = False) -> None:
        """Queue ``data``; drop the subscriber if that would put it over its limit."""
        if self.ended or self.dropped is not None:
            return
        size = self.size + len(data)
        if size > self.limit and not force:
            self.drop("slow")
            return
        self.items.append(data)
        self.size = size
        if self._lot:
            self._lot.unpark_all()

    def end(self) -> None:
        """Nothing more will be queued: the stream ends once what is queued is sent."""
        self.ended = True
        if self._lot:
            self._lot.unpark_all()

    def drop(self, reason: str) -> None:
        """Give up on this subscriber: forget what is queued and stop the write under way."""
        if self.dropped is not None or self.ended:
            return
        self.dropped = reason
        self.items.clear()
        self.size = 0
        if self.send_scope is not None:
            self.send_scope.cancel()
        if self._lot:
            self._lot.unpark_all()

    async def take(self, timeout: float) -> list[bytes]:
        """Everything queued (waiting up to ``timeout`` seconds for something)."""
        if not self.items and not self.ended and self.dropped is None:
            with trio.move_on_after(timeout):
                await self._lot.park()
        else:
            await trio.lowlevel.checkpoint()
        out = list(self.items)
        self.items.clear()
        self.size = 0
        self.sent += len(out)
        return out

    @property
    def finished(self) -> bool:
        """Nothing more to send: ended and emptied, or dropped."""
        return self.dropped is not None or (self.ended and not self.items)
