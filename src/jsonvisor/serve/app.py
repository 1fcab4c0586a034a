"""The ASGI app of ``jsonvisor serve``: routes, checks and handlers (the API is described in
docs/serve.md and served as ``/openapi.json``)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import asdict
from importlib import resources
from itertools import islice
from typing import Any
from urllib.parse import urlsplit

import trio

from ..supervisor import BusyResourceError, ClosedResourceError
from .config import Schema, ServeConfig
from .encoding import dumps
from .errors import HTTPError
from .http import Request, stream_events
from .messages import Message
from .openapi import openapi
from .registry import Registry
from .security import check_id, is_loopback, token_matches, watcher_for
from .subscribers import Subscriber

__all__ = ["App"]

ASGIMessage = MutableMapping[str, Any]

_STATIC = {
    "": ("index.html", b"text/html; charset=utf-8"),
    "app.js": ("app.js", b"text/javascript; charset=utf-8"),
    "app.css": ("app.css", b"text/css; charset=utf-8"),
}
_PAGE_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self' data:; "
        b"frame-ancestors 'none'",
    ),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]
_PUBLIC = frozenset({"", "app.js", "app.css", "openapi.json"})  # no token needed
_MAX_WAIT = 300.0


class App:
    """The service as an ASGI app (runs under jsonvisor's server or hypercorn)."""

    def __init__(
        self,
        config: ServeConfig,
        registry: Registry,
        *,
        server_stats: Callable[[], dict[str, Any]] | None = None,
        proxy: Callable[[Request, str], Awaitable[None]] | None = None,
    ) -> None:
        self.config = config
        self.registry = registry
        self.server_stats = server_stats
        self.proxy = proxy
        self.token = None if config.token is None else config.token.encode()
        self.static: dict[str, bytes] = {}
        files = resources.files("jsonvisor.serve") / "static"
        for key, (name, _) in _STATIC.items():
            self.static[key] = (files / name).read_bytes()
        self.openapi = dumps(openapi(config))

    @property
    def sup(self) -> Any:
        return self.registry.sup

    # -- ASGI ----------------------------------------------------------------------------

    async def __call__(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[ASGIMessage]],
        send: Callable[[ASGIMessage], Awaitable[None]],
    ) -> None:
        if scope["type"] == "lifespan":  # hypercorn
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        request: Request | None = None
        try:
            request = Request(scope, receive, send)
            await self._route(request)
        except HTTPError as error:
            self.registry.refused(error.code)
            if request is None or not request.started:
                headers = error.headers
                if request is None:
                    request = Request.__new__(Request)
                    request.send, request.started = send, False
                await request.json(error.status, error.body(), headers)

    # -- routing -------------------------------------------------------------------------

    async def _route(self, req: Request) -> None:
        segments = req.segments
        head = segments[0] if segments else ""
        self._check_host(req)
        if req.method in ("POST", "DELETE", "PUT", "PATCH"):
            self._check_origin(req)
        if head in _PUBLIC and len(segments) <= 1:
            self._method(req, "GET")
            if head == "openapi.json":
                await req.respond(200, self.openapi, b"application/json")
                return
            name, kind = _STATIC[head]
            await req.respond(200, self.static[head], kind, _PAGE_HEADERS)
            return
        self._check_token(req)
        n = len(segments)
        if head == "messages":
            if n == 1:
                self._method(req, "GET")
                await self._list(req)
                return
            msg_id = check_id(segments[1])
            if n == 2:
                if req.method == "DELETE":
                    await self._cancel(req, msg_id)
                    return
                self._method(req, "GET", "DELETE")
                await self._get(req, msg_id)
                return
            if n == 3 and segments[2] == "chunks":
                self._method(req, "POST")
                await self._ingest(req, msg_id)
                return
            if n == 3 and segments[2] == "end":
                self._method(req, "POST")
                await self._end(req, msg_id)
                return
            if n == 3 and segments[2] == "events":
                self._method(req, "GET")
                await self._events(req, msg_id)
                return
        elif head == "events" and n == 1:
            self._method(req, "GET")
            await self._lobby(req)
            return
        elif head == "stats" and n == 1:
            self._method(req, "GET")
            await req.json(200, self.stats())
            return
        elif head == "schemas" and n <= 2:
            self._method(req, "GET")
            if n == 1:
                await req.json(200, {"schemas": sorted(self.config.schemas)})
            else:
                await req.json(200, self._schema(segments[1]).source)
            return
        elif head == "upstreams" and n <= 2:
            if n == 1:
                self._method(req, "GET")
                await req.json(
                    200,
                    {
                        "upstreams": [
                            {"name": u.name, "format": u.format, "host": urlsplit(u.url).hostname}
                            for u in self.config.upstreams.values()
                        ]
                    },
                )
                return
            self._method(req, "POST")
            name = check_id(segments[1], "upstream name")
            if name not in self.config.upstreams or self.proxy is None:
                raise HTTPError(404, "unknown_upstream", f"no upstream named {name!r}")
            await self.proxy(req, name)
            return
        raise HTTPError(404, "not_found", f"no route for {req.method} /{'/'.join(segments)}")

    @staticmethod
    def _method(req: Request, *allowed: str) -> None:
        if req.method not in allowed:
            error = HTTPError(
                405,
                "method_not_allowed",
                f"{req.method} is not allowed here; use {', '.join(allowed)}",
            )
            error.headers = [(b"allow", ", ".join(allowed).encode())]
            raise error

    # -- checks --------------------------------------------------------------------------

    def _check_token(self, req: Request) -> None:
        if self.token is None:
            return
        if not token_matches(req.header(b"authorization"), self.token):
            error = HTTPError(
                401, "unauthorized", "send the service's token: Authorization: Bearer <token>"
            )
            error.headers = [(b"www-authenticate", b'Bearer realm="jsonvisor"')]
            raise error

    def _check_host(self, req: Request) -> None:
        if self.token is not None:
            return
        host = (req.header(b"host") or b"").decode("latin-1")
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if host and not is_loopback(name):
            raise HTTPError(
                403,
                "forbidden_host",
                f"Host {host!r} is not a loopback name; without a token the service answers "
                "only 127.0.0.1, localhost and [::1]",
            )

    @staticmethod
    def _check_origin(req: Request) -> None:
        origin = req.header(b"origin")
        if origin is None:
            return
        host = req.header(b"host") or b""
        if urlsplit(origin.decode("latin-1")).netloc.encode("latin-1") != host:
            raise HTTPError(
                403,
                "cross_origin",
                "requests that change state must come from the service's own page",
            )

    def _schema(self, name: str) -> Schema:
        schema = self.config.schemas.get(check_id(name, "schema name"))
        if schema is None:
            known = ", ".join(sorted(self.config.schemas)) or "none"
            raise HTTPError(400, "unknown_schema", f"no schema named {name!r} (known: {known})")
        return schema

    # -- input ---------------------------------------------------------------------------

    async def _ingest(self, req: Request, msg_id: str) -> None:
        cfg = self.config
        reg = self.registry
        schema_name = req.param("schema")
        schema = self._schema(schema_name) if schema_name else None
        length = req.content_length()
        if length is not None and length > cfg.max_request_bytes:
            raise HTTPError(
                413,
                "request_too_large",
                f"the body ({length} bytes) is larger than {cfg.max_request_bytes} bytes",
                limit=cfg.max_request_bytes,
            )
        msg = reg.open(msg_id, schema=schema)
        self._check_open(msg)
        if length is not None and msg.bytes_in + length > cfg.max_message_bytes:
            raise self._too_big(msg, length)
        accepted = 0
        sup = self.sup
        async with msg.lock:  # one request appends at a time, in the order they came
            with reg.input_scope() as scope:
                while True:
                    message = await req.receive()
                    if message["type"] == "http.disconnect":
                        reg.counts["ingest_disconnected"] += 1
                        return  # what came stays; the message remains open
                    body = message.get("body", b"")
                    if body:
                        if accepted + len(body) > cfg.max_request_bytes:
                            raise HTTPError(
                                413,
                                "request_too_large",
                                f"the body is larger than {cfg.max_request_bytes} bytes; "
                                f"the first {accepted} bytes were accepted",
                                limit=cfg.max_request_bytes,
                                accepted=accepted,
                            )
                        if msg.bytes_in + len(body) > cfg.max_message_bytes:
                            raise self._too_big(msg, len(body), accepted)
                        self._check_open(msg)
                        try:
                            await sup.send(msg_id, bytes(body))  # waits while the mailbox is full
                        except ClosedResourceError:
                            raise HTTPError(
                                503,
                                "shutting_down",
                                "the service is shutting down",
                                accepted=accepted,
                            ) from None
                        accepted += len(body)
                        reg.accepted(msg, len(body))
                    if not message.get("more_body", False):
                        break
            if scope.cancelled_caught:
                raise HTTPError(
                    503,
                    "shutting_down",
                    f"the service is shutting down; the first {accepted} bytes were accepted",
                    accepted=accepted,
                )
        if req.flag("end"):
            await reg.end(msg)
        await req.json(202, {**msg.summary(), "accepted": accepted})

    def _check_open(self, msg: Message) -> None:
        if msg.terminal is not None:
            raise HTTPError(409, "message_finished", f"message {msg.id!r} has {msg.state}")
        if msg.state == "ending":
            raise HTTPError(409, "message_ended", f"message {msg.id!r} was ended: no more input")

    def _too_big(self, msg: Message, size: int, accepted: int = 0) -> HTTPError:
        limit = self.config.max_message_bytes
        return HTTPError(
            413,
            "message_too_large",
            f"message {msg.id!r} would hold more than {limit} bytes "
            f"({msg.bytes_in} so far, {size} more); end it or use a new ID",
            limit=limit,
            accepted=accepted,
        )

    async def _end(self, req: Request, msg_id: str) -> None:
        reg = self.registry
        msg = reg.get(msg_id)
        if msg is None:
            msg = reg.open(msg_id)  # ending an unknown ID: an empty message
        if msg.terminal is None:
            async with msg.lock:  # after the requests appending to it
                await reg.end(msg)
        wait = req.number("wait", None, most=_MAX_WAIT)
        if wait:
            with trio.move_on_after(wait):
                await msg.done.wait()
        await req.json(202 if msg.terminal is None else 200, self._describe(msg, req))

    async def _cancel(self, req: Request, msg_id: str) -> None:
        msg = self.registry.find(msg_id)
        cancelled = self.registry.cancel(msg)
        if cancelled:
            await msg.done.wait()
        await req.json(200, {**self._describe(msg, req), "cancelled": cancelled})

    # -- output --------------------------------------------------------------------------

    async def _list(self, req: Request) -> None:
        limit = int(req.number("limit", 1000, most=10_000) or 0)
        reg = self.registry
        live = [m.summary() for m in islice(reg.live.values(), limit)]
        recent = [m.summary() for m in islice(reversed(reg.recent.values()), limit)]
        await req.json(200, {"live": live, "recent": recent})

    async def _get(self, req: Request, msg_id: str) -> None:
        msg = self.registry.find(msg_id)
        wait = req.number("wait", None, most=_MAX_WAIT)
        if wait and msg.terminal is None:
            with trio.move_on_after(wait):
                await msg.done.wait()
        await req.json(200, self._describe(msg, req))

    def _describe(self, msg: Message, req: Request) -> dict[str, Any]:
        out = msg.summary()
        value = msg.value()
        if msg.terminal is None and self.sup is not None and self.sup.is_open(msg.id):
            try:
                value = self.sup.snapshot(msg.id)  # the parser's own (schema: the skeleton)
            except (KeyError, BusyResourceError):
                pass
        out["value"] = value
        out.update(msg.outcome())
        watcher = watcher_for(req.params("watch"), text=False, limit=self.config.max_watch_paths)
        if watcher is not None:
            sub = Subscriber(1, watcher=watcher)
            result = msg.final_result()
            if result is not None:
                found = watcher.finish(result)
            else:
                found = self.registry.replay_watch(sub, msg, msg.value())
            out["watched"] = [
                {
                    "pattern": f.pattern,
                    "path": list(f.path),
                    "value": f.value,
                    "complete": f.complete,
                }
                for f in found
            ]
        return out

    async def _events(self, req: Request, msg_id: str) -> None:
        cfg = self.config
        reg = self.registry
        watcher = watcher_for(
            req.params("watch"), text=req.flag("watch_text"), limit=cfg.max_watch_paths
        )
        msg = reg.get(msg_id)
        if msg is None:
            if msg_id in reg.forgotten:
                reg.find(msg_id)  # 410
            msg = reg.open(msg_id, declared=False)  # waits for its first chunk
        sub = Subscriber(cfg.stream_buffer, compact=req.flag("compact"), watcher=watcher)
        try:
            reg.attach(msg, sub)
        except HTTPError:
            reg.detach(msg, sub)
            raise
        try:
            outcome = await stream_events(req, sub, heartbeat=cfg.heartbeat)
        finally:
            reg.detach(msg, sub)
        if outcome == "dropped":
            if sub.dropped is None:
                reg.counts["subscribers_dropped"] += 1  # a write timed out
        elif outcome == "disconnected":
            reg.counts["subscribers_disconnected"] += 1

    async def _lobby(self, req: Request) -> None:
        reg = self.registry
        sub = Subscriber(self.config.stream_buffer)
        reg.attach_lobby(sub)
        try:
            outcome = await stream_events(req, sub, heartbeat=self.config.heartbeat)
        finally:
            reg.detach_lobby(sub)
        if outcome == "disconnected":
            reg.counts["subscribers_disconnected"] += 1

    def stats(self) -> dict[str, Any]:
        """``GET /stats``: the supervisor's counters, the service's and the server's."""
        sup = self.sup
        out: dict[str, Any] = {"time": round(time.time(), 3)}
        if sup is not None:
            stats = sup.stats()
            out["supervisor"] = {**asdict(stats), "messages_finished": stats.messages_finished}
            out["dead_letters"] = sup.dead_letters.by_reason()
        out["service"] = self.registry.stats()
        if self.server_stats is not None:
            out["server"] = self.server_stats()
        return out
