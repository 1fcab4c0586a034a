"""The root of a cluster: :class:`Cluster` and :func:`open_cluster`.

:func:`open_cluster` has the interface of :func:`jsonvisor.supervisor.open_supervisor`
(the same ``jsonvisor.hub.Options``, the same ``jsonvisor.hub.FrontEnd``);
see the cluster guide for the design.  In short: each message ID maps to a worker *slot*
by a stable hash; chunks are queued per message and sent to the slot's worker in batches
(many IDs per IPC message, each message's chunks joined into one piece), one batch at a
time: the next one leaves when the worker has applied the previous one, so batches grow
with the load.  The worker runs an ordinary supervisor and sends back batches of its
events, which the root hands to its message hub (``jsonvisor.hub``): the fan-in,
subscriptions, results and dead letters are the supervisor's own.  The root keeps each
live message's input (up to ``replay_bytes``) so that when a worker dies or stops
answering, a replacement takes its slot and the input is replayed; a message that cannot
be replayed ends with ``Failed(WorkerLost)``.

The root's parts share one :class:`~jsonvisor.cluster._state.ClusterState`: this module
(the producer side and the consumers' entry points), :mod:`._pool` (starting, watching
and replacing workers), :mod:`._link` (one worker connection), :mod:`._delivery` (worker
events into the hub).
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import AsyncIterator, Callable, Hashable, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import trio

from ..hub import (
    DEFAULTS,
    SCHEDULE_INTERVAL,
    Cancelled,
    FanIn,
    HubFrontEnd,
    MessageHub,
    OffloadMode,
    Options,
    OverflowPolicy,
    RestartBudget,
    as_chunk,
    options_from,
)
from ..mailboxes import Chunk, DeadLetter
from ..mailboxes.lowlevel import TRIO_HUB, ClosedResourceError
from ..supervisor._factory import as_factory
from ..supervisor.offload import utf8_len
from . import _auth
from . import _wire as wire
from ._delivery import Delivery
from ._live import Live
from ._pool import WorkerPool
from ._routing import shard
from ._slot import Slot
from ._state import ClusterState, Counters, RootSettings
from ._stats import ClusterStats, WorkerInfo
from ._tractor import free_port, import_tractor
from ._wire import FLAG_CANCEL, FLAG_END

if sys.version_info < (3, 11):  # pragma: no cover
    from exceptiongroup import BaseExceptionGroup

__all__ = ["Cluster", "open_cluster"]

_now = time.perf_counter
_checkpoint_if_cancelled = trio.lowlevel.checkpoint_if_cancelled
_cancel_shielded_checkpoint = trio.lowlevel.cancel_shielded_checkpoint


class Cluster(HubFrontEnd):
    """Message IDs sharded over worker actors.  Made by :func:`open_cluster`.

    A ``jsonvisor.hub.FrontEnd``, like :class:`jsonvisor.supervisor.Supervisor`:
    the same methods with the same meaning (the consumer side is the same message hub,
    and the methods that only delegate to it are ``jsonvisor.hub.HubFrontEnd``'s),
    except that ``snapshot()`` is not available (the parser lives in another process),
    and backpressure is per worker (``window`` calls not yet applied by the worker) rather
    than per message.  Call them from the Trio thread that opened it.
    """

    def __init__(self, state: ClusterState, pool: WorkerPool) -> None:
        self._state = state
        self._pool = pool
        self._hub = state.hub
        self._live: dict[Hashable, Live] = state.hub.open  # the hot path reads it directly
        self._slots = state.slots
        self._nslots = len(state.slots)
        self._window = state.settings.window
        self._retain = state.settings.replay_bytes is not None
        self._last_schedule = _now()

    @property
    def options(self) -> RootSettings:
        """The root's settings."""
        return self._state.settings

    @property
    def counters(self) -> Counters:
        """The cluster's own counters, live (``stats()`` is the snapshot to use)."""
        return self._state.counters

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
                if _now() - self._last_schedule >= SCHEDULE_INTERVAL:
                    await _cancel_shielded_checkpoint()
                    self._last_schedule = _now()
                return
        if not self._deliver(msg_id, chunk):
            await self._send_blocking(msg_id, chunk)
            self._last_schedule = _now()
        elif _now() - self._last_schedule >= SCHEDULE_INTERVAL:
            await _cancel_shielded_checkpoint()
            self._last_schedule = _now()

    def end_nowait(self, msg_id: Hashable) -> None:
        """:meth:`end` without a checkpoint."""
        hub = self._hub
        if hub.closed:
            raise ClosedResourceError("the cluster is closed")
        live = self._live.get(msg_id)
        if live is None:
            if msg_id in hub.finished:
                return
            live = self._open(msg_id)
        if live.ended:
            return
        live.ended = True
        self._flag(live, FLAG_END)

    def cancel(self, msg_id: Hashable) -> bool:
        """Cancel message ``msg_id`` now; it ends with ``Cancelled(msg_id, "cancelled")``.

        A control message, as the supervisor's: the message ends here at once (its
        subscribers and ``result()`` see it even while the worker's events wait behind a
        slow consumer), its chunks not yet sent to the worker become dead letters
        (``"unread"``), and the worker is told to drop the rest.  Returns False if the
        message is not open.
        """
        live = self._live.get(msg_id)
        if live is None:
            return False
        live.ended = True
        slot = live.owner
        queued = slot.pending.pop(msg_id, None)
        if queued:  # never sent: unread, like the chunks in a supervisor's mailbox
            hub = self._hub
            hub.chunks_in += len(queued)
            hub.bytes_in += sum(map(utf8_len, queued))
            hub.dead.add_many(msg_id, queued, "unread")
            slot.unacked -= len(queued)
        self._flag(live, FLAG_CANCEL)
        self._state.finish(live, Cancelled(msg_id, "cancelled"), None)
        if slot.room:  # a producer waiting to send to it: its chunk is a dead letter now
            slot.room.unpark_all()
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

    def _deliver(self, msg_id: Hashable, chunk: Chunk) -> bool:
        """Queue one chunk for its worker; False if the worker's window is full."""
        hub = self._hub
        if hub.closed:
            raise ClosedResourceError("the cluster is closed")
        cls = chunk.__class__
        if cls is not str and cls is not bytes:
            chunk = as_chunk(chunk)
        live = self._live.get(msg_id)
        if live is None:
            if msg_id in hub.finished:
                hub.dead.add(msg_id, chunk, "finished")
                return True
            live = self._open(msg_id)
        elif live.ended:
            hub.dead.add(msg_id, chunk, "ended")
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
        hub = self._hub
        while True:
            live = self._live.get(msg_id)
            if live is None or live.ended:
                if self._deliver(msg_id, chunk):
                    return
                continue
            slot = live.owner
            if slot.unacked < self._window:
                if self._deliver(msg_id, chunk):
                    return
                continue
            if hub.fan_in_stuck():
                await hub.unstick_fan_in()
                continue
            await slot.room.park()

    def _open(self, msg_id: Hashable) -> Live:
        index = shard(msg_id, self._nslots) if self._nslots > 1 else 0
        live = Live(msg_id, self._slots[index], self._retain)
        self._hub.open_message(live)  # (refused after close_input())
        return live

    # ================================================================== consumers

    def stats(self) -> ClusterStats:
        """A snapshot of the counters (see :class:`ClusterStats`)."""
        state = self._state
        hub = self._hub
        c = state.counters
        open_by_slot = [0] * self._nslots
        for live in self._live.values():
            open_by_slot[live.slot] += 1
        per_worker = []
        wchunks = wevents = wcrashes = 0
        for slot in self._slots:
            link = state.links.get(slot.index)
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
            messages_started=hub.started,
            messages_completed=hub.completed,
            messages_failed=hub.failed,
            messages_expired=hub.expired,
            messages_cancelled=hub.cancelled,
            chunks_in=hub.chunks_in + queued_chunks,
            bytes_in=hub.bytes_in + queued_size,
            events_out=hub.events_out,
            dead_letters=hub.dead.total,
            restarts=hub.restarts,
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
            workers_refused=c.workers_refused,
            per_worker=tuple(per_worker),
        )

    # ================================================================== lifetime

    def _begin_close(self) -> None:
        """Refuse new input and cancel every live message (``Cancelled("shutdown")``)."""
        state = self._state
        self._hub.closed = True
        state.closing = True
        for live in list(self._live.values()):
            state.finish(live, Cancelled(live.msg_id, "shutdown"), None)
        for slot in self._slots:
            if slot.room:
                slot.room.unpark_all()

    def _end_close(self) -> None:
        self._state.closing = True
        self._hub.end()


def _factory_spec(parser: Any) -> tuple[str | None, dict[str, Any]]:
    """``(factory import path, StreamingJsonParser options)`` from ``parser=``.

    Checked here as the supervisor checks it (``as_factory``: options that make a parser,
    a factory that takes the message ID), so a wrong one fails ``open_cluster`` at once,
    not every worker as it starts.  A ``"module:function"`` path is the workers' to import.
    """
    if parser is None:
        return None, {}
    if not isinstance(parser, str):
        as_factory(parser)
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
    auth_key_file: str | os.PathLike[str] | None = None,
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
    window: int = 262144,
    flush_interval: float = 0.0,
    max_batch: int = 256,
    import_main: bool = False,
    trusted_modules: Iterable[str] = (),
    loglevel: str = "critical",
    # The supervisor's options (open_supervisor's, with its defaults): the root's hub and
    # each worker's supervisor get them.
    options: Options | None = None,
    mailbox_size: int = DEFAULTS.mailbox_size,
    mailbox_bytes: int | None = DEFAULTS.mailbox_bytes,
    overflow: OverflowPolicy = DEFAULTS.overflow,
    offload: OffloadMode = DEFAULTS.offload,
    offload_threshold: int = DEFAULTS.offload_threshold,
    slice_size: int = DEFAULTS.slice_size,
    idle_timeout: float | None = DEFAULTS.idle_timeout,
    ttl: float | None = DEFAULTS.ttl,
    max_restarts: int | None = DEFAULTS.max_restarts,
    restart_window: float = DEFAULTS.restart_window,
    restart_backoff: float = DEFAULTS.restart_backoff,
    max_restart_backoff: float = DEFAULTS.max_restart_backoff,
    max_total_restarts: int | None = DEFAULTS.max_total_restarts,
    total_restart_window: float = DEFAULTS.total_restart_window,
    max_bytes: int = DEFAULTS.max_bytes,
    fan_in: FanIn = DEFAULTS.fan_in,
    events_buffer: int = DEFAULTS.events_buffer,
    keep_results: int = DEFAULTS.keep_results,
    remember_finished: int = DEFAULTS.remember_finished,
    allow_partial: bool = DEFAULTS.allow_partial,
    defer_gc: bool = DEFAULTS.defer_gc,
    on_dead_letter: Callable[[DeadLetter], object] | None = None,
    watch: str | Iterable[str] | None = DEFAULTS.watch,
    watch_text: bool = DEFAULTS.watch_text,
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
        auth_key_file: a file holding the cluster key (default: the file named by
            ``$JSONVISOR_CLUSTER_KEY_FILE``, if set).  With a key, every worker (local or
            remote) and the root prove to each other that they know it, by an HMAC
            challenge-response, before any configuration or message text is sent; a
            worker that fails is refused (``stats().workers_refused``).  Required when
            the registry is not a loopback address, else :exc:`ClusterAuthError`.  The
            transport stays unencrypted: see ``docs/cluster-trust.md``.
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
            waits (the backpressure bound).  One batch is in flight per worker: the
            next one is sent once the worker has applied it, and grows meanwhile, so
            under load a batch can hold most of the window.
        flush_interval: seconds the batcher lingers before sending a batch (0: one
            scheduler pass; batches still grow with load).
        max_batch: events a worker gathers before it waits to send them to the root.
            Small batches keep the root's memory and latency low and, under load, make
            the worker's parsers take more input per step (fewer, bigger events).
        import_main: let worker actors re-import the root's ``__main__`` (tractor's
            default); off, so scripts without a ``__main__`` guard work.
        trusted_modules: module prefixes besides ``jsonvisor`` whose classes may appear
            in event batches (for example a schema model's module).
        loglevel: tractor's log level in the root and in local workers.

    The remaining arguments are those of ``open_supervisor``, with its defaults: one
    ``jsonvisor.hub.Options`` (or pass ``options=`` and leave them out).  Each
    worker's supervisor runs with it (``overflow="raise"`` becomes ``"drop"`` there: the
    error cannot reach the sender; its fan-in is always read), and the root's message
    hub takes ``fan_in``, ``events_buffer``, ``keep_results``, ``remember_finished`` and
    ``on_dead_letter`` from it.  ``watch`` runs in the workers: their ``WatchEvent`` items
    travel with the other events (a schema's models need ``trusted_modules``).

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
    auth_key = _auth.load_key(auth_key_file)
    if reg is not None:
        _require_key(reg, auth_key)
    # the option keywords, as passed (``locals()`` holds nothing else by those names yet)
    opts = options_from(options, locals(), owner="open_cluster")
    factory_path, parser_options = _factory_spec(parser)
    trusted = ("jsonvisor", *trusted_modules)
    session_config = wire.dumps(
        {
            "parser_factory": factory_path,
            "parser_options": parser_options,
            "options": worker_options(opts),
            "heartbeat": heartbeat_interval,
            "max_batch": max_batch,
            "stats_interval": 0.5,
            "trusted": trusted,
        }
    )
    child_env = {"JSONVISOR_WORKER_FACTORIES": factory_path} if factory_path else {}
    if auth_key is not None:  # local workers read the key from the same file
        child_env[_auth.KEY_FILE_ENV] = auth_key.path
    settings = RootSettings(
        spawn_timeout=spawn_timeout,
        ping_timeout=ping_timeout,
        heartbeat_timeout=heartbeat_timeout,
        flush_interval=flush_interval,
        window=window,
        replay_bytes=replay_bytes,
        trusted=trusted,
        discovery_timeout=discovery_timeout,
        worker_name=worker_name,
        loglevel=loglevel,
        local_fallback=local_fallback,
        import_main=import_main,
        factory_env=child_env,
        auth_key=auth_key,
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
            _require_key(reg, auth_key)  # type: ignore[arg-type]
        assert reg is not None
        an = await stack.enter_async_context(tractor.open_nursery())
        cluster: Cluster | None = None
        try:
            async with _cluster_nursery() as nursery:
                hub = MessageHub(
                    TRIO_HUB,
                    fan_in=opts.fan_in,
                    events_buffer=opts.events_buffer,
                    keep_results=opts.keep_results,
                    remember_finished=opts.remember_finished,
                    on_dead_letter=on_dead_letter,
                    owner="cluster",
                )
                slots = [Slot(i, "local") for i in range(workers)] + [
                    Slot(workers + i, "remote") for i in range(remote_workers)
                ]
                budget = RestartBudget(max_worker_restarts, worker_restart_window)
                state = ClusterState(settings, session_config, hub, slots, reg, budget)
                pool = WorkerPool(state, Delivery(state), nursery, an)
                cluster = Cluster(state, pool)
                try:
                    await pool.start()
                    yield cluster
                finally:
                    cluster._begin_close()
                    nursery.cancel_scope.cancel()
        finally:
            if cluster is not None:
                cluster._end_close()
            with trio.CancelScope(shield=True):
                await an.cancel()


def worker_options(options: Options) -> Options:
    """The options a worker's supervisor runs with: ``overflow="raise"`` becomes
    ``"drop"`` (the error could not reach the sender), its fan-in is always read (the
    session drains it), and it keeps the results its session may still ask for."""
    return options.replace(
        overflow="drop" if options.overflow == "raise" else options.overflow,
        fan_in=True,
        keep_results=max(options.keep_results, 4 * options.events_buffer, 64),
    )


def _require_key(reg: tuple[str, int], key: _auth.AuthKey | None) -> None:
    where = f"the registry {reg[0]}:{reg[1]}"
    _auth.require_key(reg[0], key, where, "open_cluster(..., auth_key_file=FILE)")


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
