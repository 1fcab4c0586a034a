"""Running the service: the supervisor, the message pumps, the HTTP server, the demo, and
the shutdown sequence.

On SIGTERM (or SIGINT, or :meth:`Running.stop`) the service, within ``grace`` seconds:

1. stops accepting connections and closes the idle ones; requests arriving on busy
   keep-alive connections get a 503;
2. stops taking input: request bodies being read are cut off (their clients get a 503
   saying how many bytes were accepted), proxied upstream streams and the demo stop;
3. ends every open message, so each parser finishes what it has (repairing a cut value)
   and each message gets its terminal event, which every subscriber receives;
4. waits for the event streams to flush and close;
5. past ``grace``, cancels whatever is left (the supervisor then ends any message still
   open with ``Cancelled(reason="shutdown")``) and returns.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import trio

from ..supervisor import open_supervisor
from .app import App
from .config import ServeConfig
from .registry import Registry
from .server import HttpServer, listener_port

__all__ = ["Running", "serve"]

_SUPERVISOR_DEFAULTS = {"fan_in": False}


@dataclass
class Running:
    """A running service, as ``await nursery.start(serve, config)`` returns it."""

    host: str
    port: int
    registry: Registry
    app: App
    server: Any
    stopping: trio.Event = field(default_factory=trio.Event)
    stopped_at: float | None = None

    @property
    def url(self) -> str:
        """``http://host:port``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def stop(self) -> None:
        """Begin the shutdown (as SIGTERM does)."""
        self.stopping.set()


def _log_stderr(line: str) -> None:
    try:
        print(f"jsonvisor serve: {line}", file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


async def _signalled(running: Running, signals: bool) -> None:
    if not signals:
        await running.stopping.wait()
        return
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as received:
        async with trio.open_nursery() as nursery:

            async def on_signal() -> None:
                async for _ in received:
                    break
                nursery.cancel_scope.cancel()

            async def on_stop() -> None:
                await running.stopping.wait()
                nursery.cancel_scope.cancel()

            nursery.start_soon(on_signal)
            nursery.start_soon(on_stop)


def supervisor_options(config: ServeConfig, registry: Registry) -> dict[str, Any]:
    """The ``open_supervisor`` options the service runs with."""
    options: dict[str, Any] = {
        **_SUPERVISOR_DEFAULTS,
        "max_bytes": config.max_message_bytes,
        "keep_results": max(config.keep_recent, 1),
        **config.supervisor,
    }
    options["fan_in"] = False  # the service reads subscriptions only
    options["on_dead_letter"] = registry.on_dead_letter
    return options


async def serve(
    config: ServeConfig,
    *,
    signals: bool = False,
    log: Callable[[str], None] | None = _log_stderr,
    task_status: trio.TaskStatus[Running] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run the service until it is stopped (``signals``: also on SIGTERM and SIGINT).

    ``task_status.started`` gets the :class:`Running` service once it listens.
    """
    config.check()
    log = log or (lambda line: None)
    registry = Registry(config, remember=int(config.supervisor.get("remember_finished", 10_000)))
    if config.demo:
        from .demo import demo_schemas

        for name, schema in demo_schemas().items():
            config.schemas.setdefault(name, schema)
    client = None
    if config.upstreams:
        import httpx

        client = httpx.AsyncClient(
            timeout=httpx.Timeout(
                config.upstream_timeout, connect=min(10.0, config.upstream_timeout)
            ),
            follow_redirects=False,
            trust_env=False,
        )
    try:
        async with trio.open_nursery() as pumps:
            async with open_supervisor(
                registry.parser_for, **supervisor_options(config, registry)
            ) as sup:
                registry.bind(sup, pumps)
                await _run(config, registry, client, signals, log, task_status)
            # the supervisor has closed: every message got its terminal event; pumps end
    finally:
        if client is not None:
            with trio.CancelScope(shield=True):
                await client.aclose()


async def _run(
    config: ServeConfig,
    registry: Registry,
    client: Any,
    signals: bool,
    log: Callable[[str], None],
    task_status: trio.TaskStatus[Running],
) -> None:
    proxy = None
    if client is not None:
        from .upstream import Proxy

        proxy = Proxy(config, registry, client)
    server: Any
    async with trio.open_nursery() as top:
        if config.server == "hypercorn":
            server = _Hypercorn(config)
            app = App(config, registry, proxy=proxy)
            port = await top.start(server.serve, app)
        else:
            listeners = await trio.open_tcp_listeners(config.port, host=config.host)
            server = HttpServer(None, config.limits)  # type: ignore[arg-type]
            app = App(config, registry, server_stats=lambda: _server_stats(server), proxy=proxy)
            server.app = app
            port = listener_port(listeners)
            await top.start(server.serve, listeners)
        running = Running(config.host, port, registry, app, server)
        if config.demo:
            from .demo import run_demo

            top.start_soon(lambda: run_demo(registry, speed=config.demo_speed))
        log(f"listening on {running.url} ({config.server}; the web view is at {running.url}/)")
        task_status.started(running)
        await _signalled(running, signals)
        began = trio.current_time()
        log(f"shutting down (grace {config.grace:g} s)")
        with trio.move_on_after(config.grace) as grace:
            server.stop_accepting()
            await registry.shutdown()
            await server.drained()
        if grace.cancelled_caught:
            log("the grace period is over: closing what is left")
        server.close()
        top.cancel_scope.cancel()
    running.stopped_at = trio.current_time() - began
    log(f"stopped in {running.stopped_at:.2f} s")


def _server_stats(server: HttpServer) -> dict[str, Any]:
    return {
        "kind": "h11",
        "connections": len(server.connections),
        "busy_connections": server.busy,
        "accepted": server.accepted,
        "refused_connections": server.refused,
        "app_errors": server.app_errors,
    }


class _Hypercorn:
    """The same app under hypercorn's trio worker (``--server hypercorn``)."""

    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        self._stop = trio.Event()
        self._done = trio.Event()

    async def serve(self, app: App, *, task_status: trio.TaskStatus[int]) -> None:
        from hypercorn.config import Config
        from hypercorn.trio import serve

        hc = Config()
        host = f"[{self.config.host}]" if ":" in self.config.host else self.config.host
        hc.bind = [f"{host}:{self.config.port}"]
        hc.graceful_timeout = self.config.grace
        hc.keep_alive_timeout = self.config.limits.keep_alive_timeout
        hc.h11_max_incomplete_size = self.config.limits.max_header_bytes
        hc.accesslog = None
        hc.errorlog = None

        async def started(*, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED) -> None:
            try:
                await serve(app, hc, shutdown_trigger=self._stop.wait, task_status=task_status)  # type: ignore[arg-type]
            finally:
                self._done.set()

        async with trio.open_nursery() as nursery:
            binds = await nursery.start(started)
            task_status.started(int(str(binds[0]).rsplit(":", 1)[1]))

    def stop_accepting(self) -> None:
        self._stop.set()

    async def drained(self) -> None:
        await self._done.wait()

    def close(self) -> None:
        self._stop.set()
