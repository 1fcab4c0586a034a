"""The root supervisor: shards message IDs over worker actors, keeps input for replays.

:func:`open_cluster` has the interface of :func:`jsonvisor.supervisor.open_supervisor`;
see the README's cluster section for the design.  In short: each message ID maps to a
worker *slot* by a stable hash; chunks are coalesced per message and sent to the slot's
worker in batches (many IDs per IPC message); the worker runs an ordinary supervisor and
sends back batches
of its events.  The root keeps each live message's input (up to ``replay_bytes``) so that
when a worker dies or stops answering, a replacement takes its slot and the input is
replayed; a message that cannot be replayed ends with ``Failed(WorkerLost)``.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable, Hashable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import trio

from ..mailboxes import Chunk, DeadLetter, DeadLetterBox
from ..parsers import ParseResult
from ..supervisor import (
    Cancelled,
    Completed,
    EventStream,
    Expired,
    Failed,
    Restarted,
    ResultUnavailable,
    Subscription,
    SupervisorEvent,
    TerminalEvent,
)
from ..supervisor.restarts import RestartBudget
from ..supervisor.results import Outcome, ResultRegistry
from ..supervisor.streams import EventQueue
from . import wire
from ._tractor import free_port, import_tractor, spawn_tweaks
from .errors import ClusterError, WorkerLost, WorkerUnavailable
from .link import Link
from .routing import shard
from .state import FinishedIds, Live, Slot, join_chunks
from .stats import ClusterStats, WorkerInfo

if sys.version_info < (3, 11):  # pragma: no cover
    from exceptiongroup import BaseExceptionGroup

__all__ = ["Cluster", "open_cluster"]

_FLAG_END = 1
_FLAG_CANCEL = 2
_WORKER_MODULE = "jsonvisor.cluster.worker"
_TERMINALS = (Completed, Failed, Expired, Cancelled)

_SCHEDULE_INTERVAL = 0.005  # as the supervisor: a schedule point every 5 ms of sends
_now = time.perf_counter
_checkpoint = trio.lowlevel.checkpoint
_checkpoint_if_cancelled = trio.lowlevel.checkpoint_if_cancelled
_cancel_shielded_checkpoint = trio.lowlevel.cancel_shielded_checkpoint


@dataclass(frozen=True)
class _Options:
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


class _Counters:
    """Plain mutable counters (the hot path increments attributes)."""

    def __init__(self) -> None:
        self.started = 0
        self.completed = 0
        self.failed = 0
        self.expired = 0
        self.cancelled = 0
        self.chunks_in = 0
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


def _as_chunk(chunk: object) -> Chunk:
    if isinstance(chunk, str):
        return str(chunk)
    if isinstance(chunk, (bytes, bytearray, memoryview)):
        return bytes(chunk)
    raise TypeError(f"a chunk must be str or bytes, not {type(chunk).__name__}")


class Cluster:
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
        options: _Options,
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
        self.counters = _Counters()
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
        slot = self._slots[live.slot]
        slot.flags[msg_id] = slot.flags.get(msg_id, 0) | _FLAG_END
        slot.count += 1
        slot.unacked += 1
        slot.notify()

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
        slot = self._slots[live.slot]
        slot.flags[msg_id] = slot.flags.get(msg_id, 0) | _FLAG_CANCEL
        slot.count += 1
        slot.unacked += 1
        slot.notify()
        return True

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
        slot = self._slots[live.slot]
        if slot.unacked >= self.options.window:
            return False
        n = len(chunk)
        live.nbytes += n
        pending = slot.pending.get(msg_id)
        if pending is None:
            slot.pending[msg_id] = [chunk]
        else:
            pending.append(chunk)
        slot.count += 1
        slot.unacked += 1
        c = self.counters
        c.chunks_in += 1
        c.bytes_in += n
        if not slot.wake.is_set():
            slot.wake.set()
        return True

    async def _send_blocking(self, msg_id: Hashable, chunk: Chunk) -> None:
        while True:
            live = self._live.get(msg_id)
            if live is None or live.ended:
                if self._route(msg_id, chunk):
                    return
                continue
            slot = self._slots[live.slot]
            if slot.unacked < self.options.window:
                if self._route(msg_id, chunk):
                    return
                continue
            await slot.room.park()

    def _open(self, msg_id: Hashable) -> Live:
        index = shard(msg_id, self._nslots) if self._nslots > 1 else 0
        live = Live(msg_id, index, self.options.replay_bytes is not None)
        self._live[msg_id] = live
        if self._pending_subs:
            subs = self._pending_subs.pop(msg_id, None)
            if subs:
                live.subscribers = subs
        self.counters.started += 1
        return live

    def batch_items(
        self, pending: dict[Hashable, list[Chunk]], flags: dict[Hashable, int]
    ) -> list[tuple[Hashable, Chunk | None, int]]:
        """Turn a slot's pending batch into wire items, keeping the input for replays."""
        live_map = self._live
        limit = self.options.replay_bytes or 0
        items: list[tuple[Hashable, Chunk | None, int]] = []
        for msg_id, chunks in pending.items():
            data = chunks[0] if len(chunks) == 1 else join_chunks(chunks)
            live = live_map.get(msg_id)
            if live is not None and live.retained is not None:
                live.retain(data, limit)
            items.append((msg_id, data, flags.pop(msg_id, 0) if flags else 0))
        if flags:
            items.extend((msg_id, None, f) for msg_id, f in flags.items())
        return items

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
        outcome = self._results.get(msg_id)
        if outcome is None:
            if msg_id not in self._live:
                if msg_id in self._finished:
                    await _checkpoint()
                    raise ResultUnavailable(msg_id)
                if self._results.closed:
                    await _checkpoint()
                    raise trio.ClosedResourceError("the cluster is closed")
            outcome = await self._results.wait(msg_id)
            if outcome is None:
                raise trio.ClosedResourceError(
                    f"the cluster closed before message {msg_id!r} started"
                )
        else:
            await _checkpoint()
        return outcome.unwrap()

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
        return ClusterStats(
            open_mailboxes=len(self._live),
            messages_started=c.started,
            messages_completed=c.completed,
            messages_failed=c.failed,
            messages_expired=c.expired,
            messages_cancelled=c.cancelled,
            chunks_in=c.chunks_in,
            bytes_in=c.bytes_in,
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

    # ================================================================== delivery

    async def dispatch(
        self,
        slot: Slot,
        link: Link,
        events: list[SupervisorEvent],
        results: dict[Hashable, ParseResult],
    ) -> None:
        """Deliver a worker's batch of events (called by the slot's link)."""
        live_map = self._live
        index = slot.index
        run: list[SupervisorEvent] = []
        for event in events:
            live = live_map.get(event.msg_id)
            if live is None or live.slot != index:
                continue  # finished here already (cancelled, lost, shut down)
            cls = event.__class__
            if cls in _TERMINALS:
                if run:
                    await self._publish(run, link)
                    run = []
                if link.lost.is_set():
                    return
                result = results.get(event.msg_id) if cls is Completed else None
                if cls is Completed and result is None:
                    result = ParseResult(
                        event.value,  # type: ignore[union-attr]
                        event.complete,  # type: ignore[union-attr]
                        event.repairs,  # type: ignore[union-attr]
                        event.confidence,  # type: ignore[union-attr]
                    )
                self._finish(live, event, result)  # type: ignore[arg-type]
            else:
                if cls is Restarted:
                    self.counters.restarts += 1
                run.append(event)
        if run:
            await self._publish(run, link)

    async def _publish(self, run: list[SupervisorEvent], link: Link | None) -> None:
        fan_in = self._fan_in
        if fan_in is not None:
            while fan_in.full:
                await fan_in.wait_room()
            if link is not None and link.lost.is_set():
                return
            fan_in.push_many(run)
        self.counters.events_out += len(run)
        if self._subscribed:
            live_map = self._live
            for event in run:
                live = live_map.get(event.msg_id)
                if live is None or not live.subscribers:
                    continue
                for subscription in list(live.subscribers):
                    queue = subscription.queue
                    while queue.full:
                        await queue.wait_room()
                    queue.push(event)

    def _emit_now(self, live: Live, event: SupervisorEvent) -> None:
        """Deliver one root-made event without waiting (at most one per message)."""
        if self._fan_in is not None:
            self._fan_in.push(event)
        self.counters.events_out += 1
        if live.subscribers:
            for subscription in live.subscribers:
                subscription.queue.push(event)

    def _finish(self, live: Live, terminal: TerminalEvent, result: ParseResult | None) -> None:
        msg_id = live.msg_id
        del self._live[msg_id]
        self._finished.add(msg_id)
        c = self.counters
        cls = terminal.__class__
        if cls is Completed:
            c.completed += 1
        elif cls is Failed:
            c.failed += 1
        elif cls is Expired:
            c.expired += 1
        else:
            c.cancelled += 1
        self._emit_now(live, terminal)
        if live.subscribers:
            for subscription in live.subscribers:
                subscription.queue.close()
            self._subscribed -= len(live.subscribers)
            live.subscribers = None
        live.retained = None
        self._results.record(msg_id, Outcome(terminal, result))

    # ================================================================== workers

    async def start(self) -> None:
        """Start every slot's runner and wait until each has a ready worker."""
        async with trio.open_nursery() as starting:
            for slot in self._slots:
                ready = trio.Event()
                self._nursery.start_soon(self._run_slot, slot, ready)
                starting.start_soon(ready.wait)

    async def _run_slot(self, slot: Slot, first_ready: trio.Event) -> None:
        """Keep a worker in ``slot``: start one, replace it whenever it is lost."""
        replay: tuple[int, list[Any]] | None = None
        lost_at: float | None = None
        failures = 0
        while not self.closing:
            try:
                connect, name, pid, local = await self._acquire(slot, lost_at is not None)
            except WorkerUnavailable as exc:
                failures += 1
                self._fail_slot(slot, "unavailable", str(exc))
                replay = None
                if failures > 3 and not first_ready.is_set():
                    raise
                await trio.sleep(min(0.5 * failures, 5.0))
                continue
            slot.generation += 1
            link = Link(self, slot, connect, name=name, pid=pid, local=local, replay=replay)
            self._links[slot.index] = link
            self._nursery.start_soon(link.run, name=f"jsonvisor link {name}")
            async with trio.open_nursery() as wait:

                async def first(event: trio.Event, scope: trio.CancelScope) -> None:
                    await event.wait()
                    scope.cancel()

                wait.start_soon(first, link.ready, wait.cancel_scope)
                wait.start_soon(first, link.lost, wait.cancel_scope)
            if not link.ready.is_set():
                # It never came up: try again with the same replay; nothing was lost.
                failures += 1
                if link.local and link.pid is not None:
                    from .procwatch import kill_process

                    kill_process(link.pid)
                if failures > 3 and not first_ready.is_set():
                    raise WorkerUnavailable(
                        f"worker for slot {slot.index} failed to start: {link.detail}"
                    )
                await trio.sleep(min(0.2 * failures, 2.0))
                continue
            failures = 0
            self.counters.workers_started += 1
            if lost_at is not None:
                self.counters.replacements += 1
                self.counters.last_recovery = (link.ready_at or trio.current_time()) - lost_at
            first_ready.set()
            replay = None
            await link.lost.wait()
            if self.closing:
                return
            lost_at = trio.current_time()
            replay = self._handle_loss(slot, link)
            if not self._budget.allow(lost_at):
                raise ClusterError(
                    f"worker restart intensity exceeded: more than {self._budget.max_restarts} "
                    f"workers lost within {self._budget.window} s (last: {link.name} "
                    f"{link.reason}: {link.detail})"
                )

    async def _acquire(
        self, slot: Slot, replacing: bool
    ) -> tuple[Callable[[], Any], str, int | None, bool]:
        """A worker for ``slot``: ``(connect, name, pid, is_local_child)``."""
        if slot.kind == "remote":
            timeout = self.options.discovery_timeout
            if replacing and self.options.local_fallback:
                timeout = min(timeout, self.options.heartbeat_timeout)
            found = await self._find_remote(timeout)
            if found is not None:
                return found
            if not (replacing and self.options.local_fallback):
                raise WorkerUnavailable(
                    f"no free worker named {self.options.worker_name}@... in the registry "
                    f"{self.registry[0]}:{self.registry[1]} within {timeout} s"
                )
        return await self._spawn_local(slot)

    async def _spawn_local(self, slot: Slot) -> tuple[Callable[[], Any], str, int | None, bool]:
        name = f"jsonvisor-local-{slot.index}-g{slot.generation + 1}"
        options = self.options
        try:
            with trio.fail_after(options.spawn_timeout):
                with spawn_tweaks(options.import_main, options.factory_env):
                    portal = await self._an.start_actor(
                        name, enable_modules=[_WORKER_MODULE], loglevel=options.loglevel
                    )
        except trio.TooSlowError as exc:
            raise WorkerUnavailable(f"starting {name} took over {options.spawn_timeout} s") from exc
        pid = None
        with contextlib.suppress(Exception):
            pid = self._an._children[portal.channel.uid][1].pid

        @contextlib.asynccontextmanager
        async def connect() -> AsyncIterator[Any]:
            yield portal

        return connect, name, pid, True

    async def _find_remote(
        self, timeout: float
    ) -> tuple[Callable[[], Any], str, int | None, bool] | None:
        """A registered, unused worker (health-checked by the link), or None."""
        tractor = import_tractor()
        prefix = self.options.worker_name + "@"
        with trio.move_on_after(timeout):
            while True:
                try:
                    async with tractor.get_arbiter(*self.registry) as arb:
                        entries = await arb.run_from_ns("self", "get_registry")
                except (OSError, trio.BrokenResourceError, trio.ClosedResourceError):
                    entries = {}
                for key, _addr in sorted(entries.items()):
                    name, _, uuid = key.rpartition(".")
                    if not name.startswith(prefix):
                        continue
                    if uuid in self._remote_in_use or uuid in self._remote_bad:
                        continue
                    self._remote_in_use.add(uuid)  # reserved before any await
                    if not await self._reachable(tuple(_addr)):
                        self._remote_in_use.discard(uuid)
                        self._remote_bad.add(uuid)
                        await self._unregister(name, uuid)
                        continue
                    return self._remote_connect(uuid), name, None, False
                await trio.sleep(0.2)
        return None

    async def _reachable(self, addr: tuple[Any, ...]) -> bool:
        with trio.move_on_after(self.options.ping_timeout):
            try:
                stream = await trio.open_tcp_stream(addr[0], int(addr[1]))
            except OSError:
                return False
            await stream.aclose()
            return True
        return False

    async def _unregister(self, name: str, uuid: str) -> None:
        """Best effort: drop a dead worker's entry from the registry."""
        tractor = import_tractor()
        with trio.move_on_after(1.0):
            with contextlib.suppress(Exception):
                async with tractor.get_arbiter(*self.registry) as arb:
                    await arb.run_from_ns("self", "unregister_actor", uid=(name, uuid))

    def _remote_connect(self, uuid: str) -> Callable[[], Any]:
        tractor = import_tractor()
        registry = self.registry

        @contextlib.asynccontextmanager
        async def connect() -> AsyncIterator[Any]:
            try:
                async with tractor.find_actor(uuid, arbiter_sockaddr=registry) as portal:
                    if portal is None:
                        raise WorkerUnavailable(f"worker {uuid} left the registry")
                    yield portal
            finally:
                self._remote_in_use.discard(uuid)
                self._remote_bad.add(uuid)  # a lost remote worker is not picked again

        return connect

    def _handle_loss(self, slot: Slot, link: Link) -> tuple[int, list[Any]]:
        """A worker was lost: fail or prepare to replay each of its live messages."""
        c = self.counters
        c.workers_lost += 1
        if link.reason == "hung":
            c.workers_hung += 1
        limit = self.options.replay_bytes
        pending, flags = slot.pending, slot.flags
        slot.pending, slot.flags, slot.count = {}, {}, 0
        items: list[tuple[Hashable, Chunk | None, int]] = []
        for live in [lv for lv in self._live.values() if lv.slot == slot.index]:
            msg_id = live.msg_id
            error = WorkerLost(msg_id, link.name, link.reason, link.detail)
            if live.cancel_requested:
                self._finish(live, Cancelled(msg_id, "cancelled"), None)
                continue
            if limit is None or live.retained is None or live.nbytes > limit:
                c.lost_messages += 1
                self._finish(live, Failed(msg_id, error), None)
                continue
            pieces = list(live.retained)
            # Did the lost worker get anything of this message (input, or its end)?
            was_sent = bool(pieces) or (live.ended and not flags.get(msg_id, 0) & _FLAG_END)
            pieces.extend(pending.get(msg_id, ()))
            data = join_chunks(pieces) if pieces else None
            live.retained = [data] if data is not None else []
            if was_sent:
                live.replays += 1
                c.replayed += 1
                c.restarts += 1
                self._emit_now(live, Restarted(msg_id, live.replays, error))
            items.append((msg_id, data, _FLAG_END if live.ended else 0))
        slot.unacked = len(items)
        if slot.room:
            slot.room.unpark_all()
        return len(items), items

    def _fail_slot(self, slot: Slot, reason: str, detail: str) -> None:
        """No worker for ``slot``: end its live messages with ``Failed(WorkerLost)``."""
        slot.pending, slot.flags, slot.count, slot.unacked = {}, {}, 0, 0
        for live in [lv for lv in self._live.values() if lv.slot == slot.index]:
            self.counters.lost_messages += 1
            error = WorkerLost(live.msg_id, f"slot {slot.index}", reason, detail)
            self._finish(live, Failed(live.msg_id, error), None)
        if slot.room:
            slot.room.unpark_all()

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


def _factory_spec(parser: Any) -> tuple[str | None, dict[str, Any]]:
    """``(factory import path, StreamingJsonParser options)`` from ``parser=``."""
    if parser is None:
        return None, {}
    if isinstance(parser, Mapping):
        return None, dict(parser)
    if isinstance(parser, str):
        module, sep, name = parser.partition(":")
        if not sep or not module or not name:
            raise ValueError(f"parser must be 'module:function', not {parser!r}")
        return parser, {}
    if callable(parser):
        module = getattr(parser, "__module__", None)
        qualname = getattr(parser, "__qualname__", "")
        if not module or module == "__main__" or "<" in qualname:
            raise TypeError(
                "a cluster's parser factory must be importable by the workers: a function "
                "defined at module level in an importable module (not a lambda, a nested "
                "function or __main__), its 'module:function' path, or a dict of "
                f"StreamingJsonParser options; got {parser!r}"
            )
        return f"{module}:{qualname}", {}
    raise TypeError(f"parser must be a factory, its import path or a dict, not {parser!r}")


def _registry_address(registry: Any) -> tuple[str, int] | None:
    if registry is None:
        return None
    if isinstance(registry, str):
        from .worker import parse_address

        return parse_address(registry)
    host, port = registry
    return str(host), int(port)


@asynccontextmanager
async def open_cluster(
    workers: int = 2,
    *,
    parser: Any = None,
    remote_workers: int = 0,
    registry: tuple[str, int] | str | None = None,
    worker_name: str = "jsonvisor-worker",
    discovery_timeout: float = 30.0,
    local_fallback: bool = True,
    replay_bytes: int | None = 5 * 1024 * 1024,
    heartbeat_interval: float = 0.5,
    heartbeat_timeout: float = 10.0,
    spawn_timeout: float = 30.0,
    ping_timeout: float = 5.0,
    max_worker_restarts: int | None = 10,
    worker_restart_window: float = 60.0,
    window: int = 65536,
    flush_interval: float = 0.0,
    max_batch: int = 8192,
    import_main: bool = False,
    trusted_modules: Iterable[str] = (),
    loglevel: str = "critical",
    # The supervisor's options: each worker's supervisor gets them.
    mailbox_size: int = 64,
    overflow: str = "block",
    offload: str = "inline",
    offload_threshold: int = 1 << 20,
    slice_size: int = 64 * 1024,
    idle_timeout: float | None = None,
    ttl: float | None = None,
    max_restarts: int | None = 3,
    restart_window: float = 5.0,
    max_total_restarts: int | None = 100,
    total_restart_window: float = 5.0,
    max_bytes: int = 5 * 1024 * 1024,
    fan_in: bool = True,
    events_buffer: int = 1024,
    keep_results: int = 1000,
    remember_finished: int = 10_000,
    allow_partial: bool = True,
    defer_gc: bool = True,
    on_dead_letter: Callable[[DeadLetter], object] | None = None,
) -> AsyncIterator[Cluster]:
    """Run a :class:`Cluster` of worker actors for the duration of the ``async with`` block.

    Needs the ``actors`` extra (tractor 0.1.0a5, trio 0.23.x).

    Args:
        workers: worker actors the root spawns on this host (tractor child processes).
        parser: how workers make a message's parser: None (``StreamingJsonParser()``), a
            dict of ``StreamingJsonParser`` options, or a factory ``parser(msg_id)`` given
            as a module-level function or its ``"module:function"`` path (workers import
            it: remote workers only if started with ``--allow-factory`` for it).
        remote_workers: additional slots served by workers found in the registry
            (started elsewhere with ``jsonvisor worker --registry HOST:PORT``).
        registry: the tractor registry ``(host, port)`` or ``"HOST:PORT"``.  The root
            becomes the registry there if none runs yet.  Default: a private registry
            on a free local port (required when ``remote_workers`` > 0).
        worker_name: the name prefix of remote workers to use.
        discovery_timeout: seconds to wait for enough remote workers at startup.
        local_fallback: replace a lost remote worker by a local actor when no other
            registered worker is free within ``heartbeat_timeout``.
        replay_bytes: input kept per live message for a replay on a replacement worker;
            a message with more input (or all, if None) fails with ``WorkerLost``.
        heartbeat_interval: how often an idle worker says it is alive.
        heartbeat_timeout: a worker silent for this long is declared hung: killed if it
            is a local child, and replaced.
        spawn_timeout: seconds to start a worker actor and open its session.
        ping_timeout: seconds for a worker's health check.
        max_worker_restarts: workers that may be lost within ``worker_restart_window``
            seconds; one more fails the cluster with :exc:`ClusterError`.  None: any.
        worker_restart_window: seconds, see ``max_worker_restarts``.
        window: ``send``/``end`` calls per worker not yet applied by it before ``send``
            waits (the backpressure bound).
        flush_interval: seconds the batcher lingers before sending a batch (0: one
            scheduler pass; batches still grow with load).
        max_batch: events a worker gathers before it waits for the root to take them.
        import_main: let worker actors re-import the root's ``__main__`` (tractor's
            default); off, so scripts without a ``__main__`` guard work.
        trusted_modules: module prefixes besides ``jsonvisor`` whose classes may appear
            in event batches (for example a schema model's module).
        loglevel: tractor's log level in the root and in local workers.

    The remaining arguments are those of ``open_supervisor``: each worker's supervisor
    gets them (``overflow="raise"`` becomes ``"drop"`` there: the error cannot reach the
    sender), except ``fan_in``, ``events_buffer``, ``keep_results``,
    ``remember_finished`` and ``on_dead_letter``, which apply to the root.

    Leaving the block cancels every live message (``Cancelled(reason="shutdown")``),
    stops the sessions, cancels every worker actor the root started and waits for their
    processes to exit.
    """
    tractor = import_tractor()
    if workers < 0 or remote_workers < 0 or workers + remote_workers < 1:
        raise ValueError("a cluster needs at least one worker (workers + remote_workers)")
    if window < 1:
        raise ValueError(f"window must be at least 1, not {window!r}")
    reg = _registry_address(registry)
    if reg is None and remote_workers:
        raise ValueError("remote_workers needs a registry address")
    factory_path, parser_options = _factory_spec(parser)
    supervisor_options = {
        "mailbox_size": mailbox_size,
        "overflow": "drop" if overflow == "raise" else overflow,
        "offload": offload,
        "offload_threshold": offload_threshold,
        "slice_size": slice_size,
        "idle_timeout": idle_timeout,
        "ttl": ttl,
        "max_restarts": max_restarts,
        "restart_window": restart_window,
        "max_total_restarts": max_total_restarts,
        "total_restart_window": total_restart_window,
        "max_bytes": max_bytes,
        "events_buffer": events_buffer,
        "keep_results": max(keep_results, 4 * events_buffer, 64),
        "remember_finished": remember_finished,
        "allow_partial": allow_partial,
        "defer_gc": defer_gc,
    }
    session_config = wire.dumps(
        {
            "parser_factory": factory_path,
            "parser_options": parser_options,
            "supervisor": supervisor_options,
            "heartbeat": heartbeat_interval,
            "max_batch": max_batch,
            "stats_interval": 0.5,
        }
    )
    options = _Options(
        spawn_timeout=spawn_timeout,
        ping_timeout=ping_timeout,
        heartbeat_timeout=heartbeat_timeout,
        flush_interval=flush_interval,
        window=window,
        replay_bytes=replay_bytes,
        trusted=("jsonvisor", *trusted_modules),
        discovery_timeout=discovery_timeout,
        worker_name=worker_name,
        loglevel=loglevel,
        local_fallback=local_fallback,
        import_main=import_main,
        factory_env={"JSONVISOR_WORKER_FACTORIES": factory_path} if factory_path else {},
    )

    async with contextlib.AsyncExitStack() as stack:
        actor = tractor.current_actor(err_on_no_runtime=False)
        if actor is None:
            if reg is None:
                reg = ("127.0.0.1", free_port())
            actor = await stack.enter_async_context(
                tractor.open_root_actor(arbiter_addr=reg, name="jsonvisor-root", loglevel=loglevel)
            )
        elif reg is None:
            reg = tuple(actor._arb_addr)  # type: ignore[assignment]
        assert reg is not None
        an = await stack.enter_async_context(tractor.open_nursery())
        cluster: Cluster | None = None
        try:
            async with _cluster_nursery() as nursery:
                cluster = Cluster(
                    nursery,
                    an,
                    options,
                    session_config,
                    local_slots=workers,
                    remote_slots=remote_workers,
                    registry=reg,
                    fan_in=fan_in,
                    events_buffer=events_buffer,
                    keep_results=keep_results,
                    remember_finished=remember_finished,
                    on_dead_letter=on_dead_letter,
                    max_worker_restarts=max_worker_restarts,
                    worker_restart_window=worker_restart_window,
                )
                try:
                    await cluster.start()
                    yield cluster
                finally:
                    cluster._begin_close()
                    nursery.cancel_scope.cancel()
        finally:
            if cluster is not None:
                cluster._end_close()
            with trio.CancelScope(shield=True):
                await an.cancel()


@asynccontextmanager
async def _cluster_nursery() -> AsyncIterator[trio.Nursery]:
    """A strict nursery whose lone error comes out as itself (like open_supervisor's)."""
    single: BaseException | None = None
    try:
        async with trio.open_nursery(strict_exception_groups=True) as nursery:
            yield nursery
    except BaseExceptionGroup as group:
        if len(group.exceptions) != 1 or isinstance(group.exceptions[0], BaseExceptionGroup):
            raise
        single = group.exceptions[0]
    if single is not None:
        try:
            raise single
        finally:
            single = None
