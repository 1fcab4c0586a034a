"""The root supervisor: the producer and consumer side of :func:`open_cluster`.

See :mod:`jsonvisor.cluster.root` for the design.  :class:`Cluster` takes ``send``,
``end`` and ``cancel`` calls and queues them per worker slot (a chunk goes into its
message's list in the slot's pending batch: the hot path of ``send`` is an append);
each slot's :class:`~jsonvisor.cluster.link.Link` sends the pending batch when the
worker has applied the previous one.  Events come back through
:class:`~jsonvisor.cluster.delivery.Delivery`; workers are kept up by
:class:`~jsonvisor.cluster.pool.WorkerPool`.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Hashable, Iterable
from typing import Any

import trio

from ..mailboxes import Chunk, DeadLetter, DeadLetterBox
from ..parsers import ParseResult
from ..supervisor import (
    Cancelled,
    EventStream,
    ResultUnavailable,
    Subscription,
)
from ..supervisor.restarts import RestartBudget
from ..supervisor.results import ResultRegistry
from ..supervisor.streams import EventQueue
from .delivery import Delivery
from .link import Link
from .pool import WorkerPool
from .routing import shard
from .state import FLAG_CANCEL, FLAG_END, Counters, FinishedIds, Live, Options, Slot, join_chunks
from .stats import ClusterStats, WorkerInfo

__all__ = ["Cluster"]

_SCHEDULE_INTERVAL = 0.005  # as the supervisor: a schedule point every 5 ms of sends
_now = time.perf_counter
_checkpoint = trio.lowlevel.checkpoint
_checkpoint_if_cancelled = trio.lowlevel.checkpoint_if_cancelled
_cancel_shielded_checkpoint = trio.lowlevel.cancel_shielded_checkpoint


def _as_chunk(chunk: object) -> Chunk:
    if isinstance(chunk, str):
        return str(chunk)
    if isinstance(chunk, (bytes, bytearray, memoryview)):
        return bytes(chunk)
    raise TypeError(f"a chunk must be str or bytes, not {type(chunk).__name__}")


class Cluster(Delivery, WorkerPool):
    """Message IDs sharded over worker actors.  Made by :func:`open_cluster`.

    The methods are those of :class:`jsonvisor.supervisor.Supervisor` (``send``,
    ``send_nowait``, ``send_many``, ``end``, ``end_nowait``, ``cancel``, ``events``,
    ``subscribe``, ``result``, ``is_open``, ``dead_letters``, ``closed``, ``stats``) with
    the same meaning, except: ``snapshot()`` is not available (the parser lives in
    another process), and backpressure is per worker (``window`` calls not yet applied by
    the worker) rather than per message.  Call them from the Trio thread that opened it.
    """

    def __init__(
        self,
        nursery: trio.Nursery,
        actor_nursery: Any,
        options: Options,
        session_config: bytes,
        *,
        local_slots: int,
        remote_slots: int,
        registry: tuple[str, int],
        fan_in: bool,
        events_buffer: int,
        keep_results: int,
        remember_finished: int,
        on_dead_letter: Callable[[DeadLetter], object] | None,
        max_worker_restarts: int | None,
        worker_restart_window: float,
    ) -> None:
        self._nursery = nursery
        self._an = actor_nursery
        self.options = options
        self.session_config = session_config
        self.registry = registry
        self.hostname = socket.gethostname()
        self.counters = Counters()
        self.closing = False
        self._slots = [Slot(i, "local") for i in range(local_slots)] + [
            Slot(local_slots + i, "remote") for i in range(remote_slots)
        ]
        self._nslots = len(self._slots)
        self._live: dict[Hashable, Live] = {}
        self._finished = FinishedIds(remember_finished)
        self._results = ResultRegistry(keep_results)
        self._dead = DeadLetterBox(on_dead_letter=on_dead_letter)
        self._fan_in: EventQueue | None = EventQueue(events_buffer) if fan_in else None
        self._events_buffer = events_buffer
        self._pending_subs: dict[Hashable, list[Subscription]] = {}
        self._subscribed = 0
        self._closed = False
        self._last_schedule = _now()
        self._remote_in_use: set[str] = set()
        self._remote_bad: set[str] = set()
        self._budget = RestartBudget(max_worker_restarts, worker_restart_window)
        self._links: dict[int, Link] = {}
        self._window = options.window

    # ================================================================== producers

    async def send(self, msg_id: Hashable, chunk: Chunk) -> None:
        """Route ``chunk`` to message ``msg_id`` (see ``Supervisor.send``).

        Waits while the message's worker has ``window`` calls not yet applied (the
        backpressure).  Always a cancellation point; a schedule point when it waits and
        otherwise every 5 ms, like the supervisor's.  A chunk for a message that has
        ended or finished becomes a dead letter.  Raises ``trio.ClosedResourceError``
        once the cluster is closing.
        """
        await _checkpoint_if_cancelled()
        # The hot path: the message already has a list in its slot's pending batch.
        live = self._live.get(msg_id)
        if live is not None and live.queue is not None:
            slot = live.owner
            cls = chunk.__class__
            if slot.unacked < self._window and (cls is str or cls is bytes):
                live.queue.append(chunk)
                slot.unacked += 1
                if slot.idle:
                    slot.kick()
                if _now() - self._last_schedule >= _SCHEDULE_INTERVAL:
                    await _cancel_shielded_checkpoint()
                    self._last_schedule = _now()
                return
        if not self._route(msg_id, chunk):
            await self._send_blocking(msg_id, chunk)
            self._last_schedule = _now()
        elif _now() - self._last_schedule >= _SCHEDULE_INTERVAL:
            await _cancel_shielded_checkpoint()
            self._last_schedule = _now()

    def send_nowait(self, msg_id: Hashable, chunk: Chunk) -> None:
        """Like :meth:`send` but never waits: raises ``trio.WouldBlock`` if it would."""
        if not self._route(msg_id, chunk):
            raise trio.WouldBlock

    async def send_many(self, items: Iterable[tuple[Hashable, Chunk]]) -> None:
        """Route many ``(msg_id, chunk)`` pairs in order, with one schedule point."""
        await _checkpoint_if_cancelled()
        route = self._route
        for msg_id, chunk in items:
            if not route(msg_id, chunk):
                await self._send_blocking(msg_id, chunk)
        await _cancel_shielded_checkpoint()
        self._last_schedule = _now()

    async def end(self, msg_id: Hashable) -> None:
        """End of stream for ``msg_id`` (see ``Supervisor.end``).  A checkpoint."""
        await _checkpoint_if_cancelled()
        self.end_nowait(msg_id)
        await _cancel_shielded_checkpoint()

    def end_nowait(self, msg_id: Hashable) -> None:
        """:meth:`end` without a checkpoint."""
        if self._closed:
            raise trio.ClosedResourceError("the cluster is closed")
        live = self._live.get(msg_id)
        if live is None:
            if msg_id in self._finished:
                return
            live = self._open(msg_id)
        if live.ended:
            return
        live.ended = True
        self._flag(live, FLAG_END)

    def cancel(self, msg_id: Hashable) -> bool:
        """Cancel message ``msg_id``; it ends with ``Cancelled(msg_id, "cancelled")``.

        Returns False if the message is not open or a cancel was already requested.
        The terminal event comes from the worker (or from the root if the worker is lost
        first).
        """
        live = self._live.get(msg_id)
        if live is None or live.cancel_requested:
            return False
        live.cancel_requested = True
        live.ended = True
        self._flag(live, FLAG_CANCEL)
        return True

    def _flag(self, live: Live, flag: int) -> None:
        """Queue an end or cancel for the message's worker (never waits)."""
        live.queue = None  # chunks from now on are dead letters: the slow path decides
        slot = live.owner
        msg_id = live.msg_id
        slot.flags[msg_id] = slot.flags.get(msg_id, 0) | flag
        slot.flag_calls += 1
        slot.unacked += 1
        slot.notify()

    def _route(self, msg_id: Hashable, chunk: Chunk) -> bool:
        """Queue one chunk for its worker; False if the worker's window is full."""
        if self._closed:
            raise trio.ClosedResourceError("the cluster is closed")
        cls = chunk.__class__
        if cls is not str and cls is not bytes:
            chunk = _as_chunk(chunk)
        live = self._live.get(msg_id)
        if live is None:
            if msg_id in self._finished:
                self._dead.add(msg_id, chunk, "finished")
                return True
            live = self._open(msg_id)
        elif live.ended:
            self._dead.add(msg_id, chunk, "ended")
            return True
        slot = live.owner
        if slot.unacked >= self._window:
            return False
        queue = live.queue
        if queue is None:
            queue = live.queue = slot.pending.setdefault(msg_id, [])
        queue.append(chunk)
        slot.unacked += 1
        slot.notify()
        return True

    async def _send_blocking(self, msg_id: Hashable, chunk: Chunk) -> None:
        while True:
            live = self._live.get(msg_id)
            if live is None or live.ended:
                if self._route(msg_id, chunk):
                    return
                continue
            slot = live.owner
            if slot.unacked < self._window:
                if self._route(msg_id, chunk):
                    return
                continue
            await slot.room.park()

    def _open(self, msg_id: Hashable) -> Live:
        index = shard(msg_id, self._nslots) if self._nslots > 1 else 0
        live = Live(msg_id, self._slots[index], self.options.replay_bytes is not None)
        self._live[msg_id] = live
        if self._pending_subs:
            subs = self._pending_subs.pop(msg_id, None)
            if subs:
                live.subscribers = subs
        self.counters.started += 1
        return live

    def batch_items(
        self, flag_calls: int, pending: dict[Hashable, list[Chunk]], flags: dict[Hashable, int]
    ) -> tuple[int, list[tuple[Hashable, Chunk | None, int]]]:
        """Turn a slot's pending batch (from ``Slot.take_batch``) into wire items:
        ``(calls, items)``.  Counts the input and keeps it for replays."""
        live_map = self._live
        limit = self.options.replay_bytes or 0
        items: list[tuple[Hashable, Chunk | None, int]] = []
        calls = flag_calls
        size = 0
        for msg_id, chunks in pending.items():
            n = len(chunks)
            calls += n
            data = chunks[0] if n == 1 else join_chunks(chunks)
            nbytes = len(data)
            size += nbytes
            live = live_map.get(msg_id)
            if live is not None:
                if live.queue is chunks:
                    live.queue = None
                live.nbytes += nbytes
                if live.retained is not None:
                    live.retain(data, limit)
            items.append((msg_id, data, flags.pop(msg_id, 0) if flags else 0))
        if flags:
            items.extend((msg_id, None, f) for msg_id, f in flags.items())
        c = self.counters
        c.chunks_in += calls - flag_calls
        c.bytes_in += size
        return calls, items

    # ================================================================== consumers

    def events(self) -> EventStream:
        """The fan-in of every message's events (see ``Supervisor.events``)."""
        if self._fan_in is None:
            raise RuntimeError("this cluster has fan_in=False: use subscribe() or result()")
        return EventStream(self._fan_in)

    def subscribe(self, msg_id: Hashable) -> Subscription:
        """One message's events (see ``Supervisor.subscribe``)."""
        if self._closed:
            raise trio.ClosedResourceError("the cluster is closed")
        queue = EventQueue(self._events_buffer)
        subscription = Subscription(msg_id, queue, self._unsubscribe)
        live = self._live.get(msg_id)
        if live is not None:
            if live.subscribers is None:
                live.subscribers = []
            live.subscribers.append(subscription)
            self._subscribed += 1
            return subscription
        outcome = self._results.get(msg_id)
        if outcome is not None:
            queue.push(outcome.terminal)
            queue.close()
        elif msg_id in self._finished:
            raise ResultUnavailable(msg_id)
        else:
            self._pending_subs.setdefault(msg_id, []).append(subscription)
            self._subscribed += 1
        return subscription

    def _unsubscribe(self, subscription: Subscription) -> None:
        msg_id = subscription.msg_id
        live = self._live.get(msg_id)
        subs = live.subscribers if live is not None else self._pending_subs.get(msg_id)
        if subs and subscription in subs:
            subs.remove(subscription)
            self._subscribed -= 1
            if not subs and live is None:
                del self._pending_subs[msg_id]

    async def result(self, msg_id: Hashable) -> ParseResult:
        """Wait for ``msg_id`` to end; its ``ParseResult`` (see ``Supervisor.result``)."""
        return await self._results.result(
            msg_id, live=msg_id in self._live, finished=msg_id in self._finished, owner="cluster"
        )

    def is_open(self, msg_id: Hashable) -> bool:
        """True while message ``msg_id`` is live (started, not yet finished)."""
        return msg_id in self._live

    @property
    def dead_letters(self) -> DeadLetterBox:
        """Chunks the root refused (sent after their message ended or finished)."""
        return self._dead

    @property
    def closed(self) -> bool:
        """True once the cluster is shutting down or has shut down."""
        return self._closed

    def stats(self) -> ClusterStats:
        """A snapshot of the counters (see :class:`ClusterStats`)."""
        c = self.counters
        open_by_slot = [0] * self._nslots
        for live in self._live.values():
            open_by_slot[live.slot] += 1
        per_worker = []
        wchunks = wevents = wcrashes = 0
        for slot in self._slots:
            link = self._links.get(slot.index)
            up = link is not None and link.ready.is_set() and not link.lost.is_set()
            info = link.info if link is not None else {}
            address = info.get("address")
            per_worker.append(
                WorkerInfo(
                    slot=slot.index,
                    name=link.name if link is not None else "",
                    kind=slot.kind,
                    pid=link.pid if link is not None else None,
                    address=tuple(address) if address else None,  # type: ignore[arg-type]
                    generation=slot.generation,
                    up=up,
                    open_messages=open_by_slot[slot.index],
                )
            )
            stats = slot.last_stats
            if up and stats is not None:
                wchunks += stats.chunks_in
                wevents += stats.events_out
                wcrashes += stats.crashes
        queued_chunks = queued_size = 0
        for slot in self._slots:
            chunks, size = slot.pending_chunks()
            queued_chunks += chunks
            queued_size += size
        return ClusterStats(
            open_mailboxes=len(self._live),
            messages_started=c.started,
            messages_completed=c.completed,
            messages_failed=c.failed,
            messages_expired=c.expired,
            messages_cancelled=c.cancelled,
            chunks_in=c.chunks_in + queued_chunks,
            bytes_in=c.bytes_in + queued_size,
            events_out=c.events_out,
            dead_letters=self._dead.total,
            restarts=c.restarts,
            workers=self._nslots,
            workers_up=sum(1 for w in per_worker if w.up),
            workers_started=c.workers_started,
            workers_lost=c.workers_lost,
            workers_hung=c.workers_hung,
            replacements=c.replacements,
            messages_replayed=c.replayed,
            messages_lost=c.lost_messages,
            last_recovery=c.last_recovery,
            ipc_batches_out=c.ipc_batches_out,
            ipc_batches_in=c.ipc_batches_in,
            ipc_ops_out=c.ipc_ops_out,
            ipc_items_in=c.ipc_items_in,
            ipc_bytes_out=c.ipc_bytes_out,
            ipc_bytes_in=c.ipc_bytes_in,
            ipc_send_seconds=c.ipc_send_seconds,
            ipc_recv_seconds=c.ipc_recv_seconds,
            worker_chunks_in=wchunks,
            worker_events_out=wevents,
            worker_crashes=wcrashes,
            per_worker=tuple(per_worker),
        )

    # ================================================================== lifetime

    def _begin_close(self) -> None:
        """Refuse new input and cancel every live message (``Cancelled("shutdown")``)."""
        self._closed = True
        self.closing = True
        for live in list(self._live.values()):
            self._finish(live, Cancelled(live.msg_id, "shutdown"), None)
        for slot in self._slots:
            if slot.room:
                slot.room.unpark_all()

    def _end_close(self) -> None:
        self._closed = True
        self.closing = True
        if self._fan_in is not None:
            self._fan_in.close()
        pending, self._pending_subs = self._pending_subs, {}
        for subscriptions in pending.values():
            for subscription in subscriptions:
                subscription.queue.close()
        self._results.close()
