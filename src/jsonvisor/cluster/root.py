"""The root of a cluster: :func:`open_cluster`.

:func:`open_cluster` has the interface of :func:`jsonvisor.supervisor.open_supervisor`;
see the README's cluster section for the design.  In short: each message ID maps to a
worker *slot* by a stable hash; chunks are queued per message and sent to the slot's
worker in batches (many IDs per IPC message, each message's chunks joined into one
piece), one batch at a time: the next one leaves when the worker has applied the
previous one, so batches grow with the load.  The worker runs an ordinary supervisor and
sends back batches of its events.  The root keeps each live message's input (up to
``replay_bytes``) so that when a worker dies or stops answering, a replacement takes its
slot and the input is replayed; a message that cannot be replayed ends with
``Failed(WorkerLost)``.

The root is split in modules: :mod:`.core` (the ``Cluster`` API: producers, consumers,
stats), :mod:`.delivery` (worker events to the fan-in, subscribers and results),
:mod:`.pool` (starting, watching and replacing workers), :mod:`.link` (one worker
connection), :mod:`.state` (the bookkeeping).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import trio

from ..mailboxes import DeadLetter
from . import wire
from ._tractor import free_port, import_tractor
from .core import Cluster
from .state import Options

if sys.version_info < (3, 11):  # pragma: no cover
    from exceptiongroup import BaseExceptionGroup

__all__ = ["Cluster", "open_cluster"]


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
    window: int = 262144,
    flush_interval: float = 0.0,
    max_batch: int = 256,
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
    options = Options(
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
