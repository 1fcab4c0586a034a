"""The worker actor: an ordinary supervisor fed and drained over one tractor stream.

Two ways to run one:

* the root spawns it (``open_cluster(workers=N)``) as a tractor child actor;
* on any host, ``jsonvisor worker --registry HOST:PORT [--host ADDR]`` (or
  ``python -m jsonvisor.cluster.worker ...``) starts a worker actor that registers with
  the cluster's tractor registry, where a root with ``remote_workers=M`` finds it.

With a cluster key (``--auth-key-file FILE``, or ``$JSONVISOR_CLUSTER_KEY_FILE``; needed
off loopback) a root first runs :func:`authenticate` on the connection, a mutual HMAC
challenge-response (:mod:`jsonvisor.cluster._auth`), and the worker refuses to open
:func:`parse_session` on a connection that has not passed it.

The root opens :func:`parse_session` as a tractor context.  Over its bidirectional stream
the root sends pickled batches of ``(msg_id, data, flags)`` (input already coalesced per
message, ``flags`` ending or cancelling the message) and the worker answers with pickled
batches of ``(acked, events, results, stats)``: how many of the root's ``send`` calls it
has applied (the root's flow-control window, and its signal to send the next batch), the
supervisor events in order as columns (``None`` if there are none; see
:mod:`jsonvisor.cluster._eventbatch`, which also merges consecutive ``StringGrew`` events
of a message), the ``ParseResult`` of each message that completed, and now and then its
supervisor's stats.
When there is nothing to say it still sends a heartbeat every ``heartbeat`` seconds, so
the root notices a worker that stopped answering.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import importlib
import os
import signal
import socket
import sys
import time
import types
import weakref
from collections.abc import Hashable, Sequence
from typing import Any

import trio

from ..mailboxes import current_pacer
from ..parsers import ParseResult, StreamingJsonParser
from ..parsers.schema import SchemaWarning
from ..supervisor import (
    Completed,
    ModelValidationError,
    ResultUnavailable,
    Supervisor,
    WatchEvent,
    open_supervisor,
)
from . import _auth
from . import _wire as wire
from ._errors import ClusterAuthError
from ._eventbatch import EventBatch
from ._tractor import import_tractor
from ._wire import FLAG_CANCEL, FLAG_END

#: The round budget of a worker's event loop (seconds): in effect, no pacing (see
#: :func:`parse_session`).
WORKER_ROUND_BUDGET = 3600.0

tractor = import_tractor()

__all__ = [
    "FACTORIES_ENV",
    "FLAG_CANCEL",
    "FLAG_END",
    "authenticate",
    "main",
    "parse_session",
    "ping",
    "serve_worker",
]

_MODULE = "jsonvisor.cluster.worker"

FACTORIES_ENV = "JSONVISOR_WORKER_FACTORIES"
"""Comma-separated ``module:function`` parser factories this worker may import."""

_allowed_factories: set[str] = set()


def allow_factories(paths: Sequence[str]) -> None:
    """Let roots ask this worker process for these ``module:function`` parser factories."""
    _allowed_factories.update(p.strip() for p in paths if p.strip())


allow_factories(os.environ.get(FACTORIES_ENV, "").split(","))


def _resolve_factory(path: str | None, options: dict[str, Any]) -> Any:
    """The ``parser(msg_id)`` factory for this session's supervisor."""
    if path is None:
        if not options:
            return None  # the supervisor's default: StreamingJsonParser()

        def make(msg_id: Hashable) -> StreamingJsonParser:
            return StreamingJsonParser(**options)

        return make
    if path not in _allowed_factories:
        raise PermissionError(
            f"parser factory {path!r} is not allowed on this worker "
            f"(start it with --allow-factory {path})"
        )
    module, _, name = path.partition(":")
    obj: Any = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


# ====================================================================== authentication

_HANDSHAKE_TIMEOUT = 10.0
_key: _auth.AuthKey | None = None
_key_loaded = False
_served = False  # this process runs serve_worker (a registered worker, not a child)
_authenticated: weakref.WeakSet[Any] = weakref.WeakSet()  # connections that proved the key


def _set_key(key: _auth.AuthKey | None) -> None:
    global _key, _key_loaded
    _key, _key_loaded = key, True


def _worker_key() -> _auth.AuthKey | None:
    """This worker's cluster key: set by :func:`serve_worker`, else (a worker the root
    spawned) from ``$JSONVISOR_CLUSTER_KEY_FILE``, read once."""
    if not _key_loaded:
        _set_key(_auth.load_key(None))
    return _key


@tractor.context
async def authenticate(ctx: Any, hello: Any) -> None:
    """The handshake a root with a key runs before :func:`parse_session` (see
    :mod:`jsonvisor.cluster._auth`): on success this connection may open sessions."""
    key = _worker_key()
    if key is None:
        raise ClusterAuthError(
            "this worker has no cluster key but the root asks for one: start the worker with "
            "--auth-key-file FILE (the root's key file)"
        )
    actor = tractor.current_actor()
    own = _auth.identity(actor.uid, actor.accept_addr if _served else None)
    response = _auth.Response(key, own)
    await ctx.started(response.answer(hello))
    async with ctx.open_stream() as stream:
        with trio.fail_after(_HANDSHAKE_TIMEOUT):
            proof = await stream.receive()
        try:
            response.verify(proof)
        except ClusterAuthError as exc:
            await stream.send(str(exc))  # the verdict, then the error (logged here)
            raise
        _authenticated.add(ctx.chan)
        await stream.send(True)


def _require_authenticated(ctx: Any) -> None:
    if _worker_key() is not None and ctx.chan not in _authenticated:
        raise ClusterAuthError(
            "refused a session: this worker has a cluster key and the root has not proved it "
            "(open the cluster with auth_key_file= the same key file)"
        )


async def ping() -> dict[str, Any]:
    """Health check: who and where this worker is."""
    actor = tractor.current_actor()
    return {"pid": os.getpid(), "host": socket.gethostname(), "name": actor.name}


class _Session:
    """The worker end of one root connection."""

    def __init__(self, sup: Supervisor, stream: Any, config: dict[str, Any]) -> None:
        self.sup = sup
        self.stream = stream
        self.heartbeat: float = config["heartbeat"]
        self.max_batch: int = config["max_batch"]
        self.stats_interval: float = config["stats_interval"]
        self.trusted: tuple[str, ...] = tuple(config.get("trusted", ("jsonvisor",)))
        self.acked = 0
        self.events = EventBatch()
        self.results: dict[Hashable, ParseResult] = {}
        self.wake = trio.Event()
        self.drained = trio.Event()
        self.drained.set()
        self.last_stats = -1e9

    async def receive_loop(self) -> None:
        """Apply the root's batches to the supervisor, in order."""
        sup = self.sup
        async for payload in self.stream:
            count, items = wire.loads(wire.unwrap(payload))
            sends = [(mid, data) for mid, data, _ in items if data is not None]
            if sends:
                await sup.send_many(sends)
            for mid, _, flags in items:
                if flags & FLAG_CANCEL:
                    sup.cancel(mid)
                elif flags & FLAG_END:
                    if not sup.closed:
                        sup.end_nowait(mid)
            self.acked += count
            self.wake.set()

    async def event_loop(self) -> None:
        """Drain the supervisor's fan-in into the outgoing batch."""
        sup = self.sup
        limit = self.max_batch
        async for event in sup.events():
            cls = event.__class__
            if cls is Completed:
                result = await _result_of(sup, event)
                if event.model is not None:
                    event, result = self._completed_deliverable(event, result)
                self.results[event.msg_id] = result
            elif cls is WatchEvent and getattr(event.item, "model", None) is not None:
                event = self._watched_deliverable(event)
            self.events.add(event)
            if not self.wake.is_set():
                self.wake.set()
            if len(self.events) >= limit:
                self.drained = trio.Event()
                await self.drained.wait()

    def _completed_deliverable(
        self, event: Completed, result: ParseResult
    ) -> tuple[Completed, ParseResult]:
        """``event`` and ``result`` as the root can receive them: a model the root would
        refuse (see :func:`wire.undeliverable`) is left out, as a value that does not
        validate leaves it out, and the warning says why."""
        why = wire.undeliverable(event.model, self.trusted)
        if why is None:
            return event, result
        warning = _undelivered(event.model, (), why)
        event = event._replace(
            model=None,
            warnings=(*event.warnings, warning),
            validation_error=ModelValidationError(event.msg_id, [warning]),
        )
        result = dataclasses.replace(result, model=None, warnings=(*result.warnings, warning))
        return event, result

    def _watched_deliverable(self, event: WatchEvent) -> WatchEvent:
        """The same for a watched value's model."""
        item = event.item
        why = wire.undeliverable(item.model, self.trusted)
        if why is None:
            return event
        warning = _undelivered(item.model, item.path, why)
        item = dataclasses.replace(item, model=None, errors=(*item.errors, warning))
        return event._replace(item=item)

    async def send_loop(self) -> None:
        """Send batches: as soon as there is something, or a heartbeat when idle."""
        sent_acked = -1
        while True:
            with trio.move_on_after(self.heartbeat):
                await self.wake.wait()
            self.wake = trio.Event()
            await trio.lowlevel.checkpoint()  # let more events gather
            events, self.events = self.events, EventBatch()
            results, self.results = self.results, {}
            self.drained.set()
            now = time.monotonic()
            stats = None
            if now - self.last_stats >= self.stats_interval:
                stats = self.sup.stats()
                self.last_stats = now
            if not events and self.acked == sent_acked and stats is None:
                stats = self.sup.stats()  # a heartbeat
            sent_acked = self.acked
            packed = events.pack() if len(events) else None
            await self.stream.send(wire.wrap(wire.dumps((self.acked, packed, results, stats))))


def _undelivered(model: Any, path: Any, why: str) -> SchemaWarning:
    cls = type(model)
    return SchemaWarning(
        path,
        "validation",
        f"the model ({cls.__module__}.{cls.__qualname__}) cannot reach the root: {why}",
    )


async def _result_of(sup: Supervisor, event: Completed) -> ParseResult:
    try:
        return await sup.result(event.msg_id)
    except ResultUnavailable:
        return ParseResult(
            event.value,
            event.complete,
            event.repairs,
            event.confidence,
            warnings=event.warnings,
            model=event.model,
        )


@tractor.context
async def parse_session(ctx: Any, config: bytes) -> None:
    """The tractor context a root opens on this worker: see the module docstring."""
    _require_authenticated(ctx)  # before the configuration is even unpickled
    cfg = wire.loads(config)
    factory = _resolve_factory(cfg["parser_factory"], cfg["parser_options"])
    options = cfg["options"]  # the root's jsonvisor.hub.Options, made for a worker
    # A worker's loop only parses: no interactive task shares it, so its message tasks need
    # not take turns (the pacer keeps an application's loop responsive; here it would only
    # cut parse steps small, and more steps make more events to send: 2.2x fewer without).
    current_pacer().limit = WORKER_ROUND_BUDGET
    # Its fan_in is True: the session's event loop reads every event (never switched off).
    async with open_supervisor(factory, options=options.replace(fan_in=True)) as sup:
        actor = tractor.current_actor()
        await ctx.started(
            {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "name": actor.name,
                "address": tuple(actor.accept_addr or ("", 0)),
            }
        )
        async with ctx.open_stream() as stream:
            session = _Session(sup, stream, cfg)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(session.event_loop)
                nursery.start_soon(session.send_loop)
                await session.receive_loop()
                # The root closed its end: nothing more will be read.
                nursery.cancel_scope.cancel()


# ====================================================================== remote workers


def parse_address(text: str, default_port: int = 1616) -> tuple[str, int]:
    """``"HOST:PORT"`` (or ``"HOST"``) as a ``(host, port)`` tuple."""
    host, sep, port = text.rpartition(":")
    if not sep:
        return text, default_port
    return host.strip("[]"), int(port)


async def _registry_up(registry: tuple[str, int], timeout: float) -> bool:
    with trio.move_on_after(timeout):
        try:
            stream = await trio.open_tcp_stream(*registry)
        except OSError:
            return False
        await stream.aclose()
        return True
    return False


async def _ensure_registered(actor: Any, registry: tuple[str, int]) -> None:
    """Register again if the registry forgot us (it restarted, or a new root took over)."""
    from tractor._discovery import get_arbiter

    async with get_arbiter(*registry) as arb:
        entries = await arb.run_from_ns("self", "get_registry")
        if ".".join(actor.uid) not in entries:
            await arb.run_from_ns(
                "self", "register_actor", uid=actor.uid, sockaddr=actor.accept_addr
            )


async def serve_worker(
    registry: tuple[str, int],
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    name: str = "jsonvisor-worker",
    check_interval: float = 1.0,
    loglevel: str = "error",
    auth_key_file: str | os.PathLike[str] | None = None,
    task_status: Any = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run a worker actor bound to ``host:port`` that registers with ``registry``.

    Waits for the registry to be reachable, keeps re-registering if the registry forgets
    it, and runs until cancelled (unregistering on the way out).  ``task_status`` gets the
    bound ``(host, port)``.

    ``auth_key_file`` (default ``$JSONVISOR_CLUSTER_KEY_FILE``): the cluster key; roots
    must prove it before they may open a session here (and this worker proves it to
    them).  Required, else :exc:`ClusterAuthError`, when ``host`` or the registry is not
    a loopback address.  Only the functions roots call (``ping``, ``authenticate``,
    ``parse_session``) are exposed to tractor's RPC.

    tractor 0.1.0a5's ``open_root_actor`` binds a non-registry actor to the registry's
    host, so this starts the actor runtime itself (``Actor._async_main``) to bind where
    asked; it is the one private tractor API this module uses.
    """
    from tractor import _state
    from tractor._actor import Actor

    global _served
    _set_key(_check_auth(registry, host, auth_key_file))
    _served = True
    while not await _registry_up(registry, 1.0):
        await trio.sleep(0.5)
    uid_name = f"{name}@{host}:{os.getpid()}"
    actor = Actor(
        uid_name,
        arbiter_addr=registry,
        enable_modules=[_MODULE],
        loglevel=loglevel,
    )

    def load_modules() -> None:
        Actor.load_modules(actor)
        actor._mods[_MODULE] = _RPC  # not every function of this module: the entry points

    actor.load_modules = load_modules  # type: ignore[method-assign]
    tractor.log.get_console_log(loglevel)
    _state._runtime_vars["_is_root"] = True
    _state._current_actor = actor
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(
                functools.partial(actor._async_main, accept_addr=(host, port), parent_addr=None)
            )
            task_status.started(tuple(actor.accept_addr))
            try:
                while True:
                    await trio.sleep(check_interval)
                    with trio.move_on_after(check_interval):
                        try:
                            await _ensure_registered(actor, registry)
                        except (OSError, trio.BrokenResourceError, trio.ClosedResourceError):
                            pass
            finally:
                with trio.CancelScope(shield=True), trio.move_on_after(2):
                    await actor.cancel()
    finally:
        _state._current_actor = None


def _check_auth(
    registry: tuple[str, int], host: str, auth_key_file: str | os.PathLike[str] | None
) -> _auth.AuthKey | None:
    """The worker's key (``auth_key_file`` or ``$JSONVISOR_CLUSTER_KEY_FILE``), or None;
    :exc:`ClusterAuthError` if it is unusable, or missing with an address off loopback."""
    key = _auth.load_key(auth_key_file)
    fix = "start the worker with --auth-key-file FILE"
    _auth.require_key(registry[0], key, f"the registry {registry[0]}:{registry[1]}", fix)
    _auth.require_key(host, key, f"the worker's address --host {host}", fix)
    return key


# What tractor's RPC may call on a worker started by serve_worker (its Actor looks names
# up in this namespace instead of the whole module).
_RPC = types.SimpleNamespace(ping=ping, authenticate=authenticate, parse_session=parse_session)


def _build_argparser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="jsonvisor worker",
        description="Join a jsonvisor cluster as a parse worker (tractor actor).",
    )
    ap.add_argument("--registry", required=True, help="the cluster's tractor registry, HOST:PORT")
    ap.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    ap.add_argument("--port", type=int, default=0, help="port to bind (default: any)")
    ap.add_argument(
        "--name", default="jsonvisor-worker", help="name prefix roots look for in the registry"
    )
    ap.add_argument(
        "--allow-factory",
        action="append",
        default=[],
        metavar="MODULE:FUNCTION",
        help="a parser factory roots may ask for (repeatable)",
    )
    ap.add_argument(
        "--auth-key-file",
        default=None,
        metavar="FILE",
        help=(
            f"the cluster key, shared with the root (default ${_auth.KEY_FILE_ENV}); needed "
            "when --registry or --host is not a loopback address (docs/cluster-trust.md)"
        ),
    )
    ap.add_argument("--loglevel", default="error", help="tractor log level")
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    """``jsonvisor worker``: run a worker until SIGINT or SIGTERM; returns the exit code."""
    args = _build_argparser().parse_args(list(sys.argv[1:] if argv is None else argv))
    allow_factories(args.allow_factory)
    registry = parse_address(args.registry)
    try:
        _check_auth(registry, args.host, args.auth_key_file)
    except ClusterAuthError as exc:
        print(f"jsonvisor worker: {exc}", file=sys.stderr)
        return 2

    async def run() -> None:
        async with trio.open_nursery() as nursery:

            async def stop_on_signal() -> None:
                with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                    async for _ in signals:
                        nursery.cancel_scope.cancel()
                        return

            nursery.start_soon(stop_on_signal)
            address = await nursery.start(
                functools.partial(
                    serve_worker,
                    registry,
                    host=args.host,
                    port=args.port,
                    name=args.name,
                    loglevel=args.loglevel,
                    auth_key_file=args.auth_key_file,
                )
            )
            print(
                f"jsonvisor worker {os.getpid()} listening on {address[0]}:{address[1]}, "
                f"registry {registry[0]}:{registry[1]}",
                flush=True,
            )

    trio.run(run)
    return 0


if __name__ == "__main__":
    # Run the canonical module, not this ``__main__`` copy: tractor exposes functions by
    # module path, and the factory allow-list must be the one parse_session reads.
    from jsonvisor.cluster.worker import main as _main

    sys.exit(_main())
