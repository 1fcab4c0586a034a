"""A small HTTP/1.1 server for ASGI apps, on Trio and h11 (the default of ``jsonvisor serve``).

Why not only hypercorn (which ``jsonvisor serve --server hypercorn`` also runs): hypercorn's
trio worker writes every response byte inside a *shielded* cancel scope with no write
timeout, so a client that stops reading a server-sent-event stream holds its task, its
socket and the server's shutdown for as long as the client stays connected.  This server
is the part of hypercorn that ``jsonvisor serve`` needs, with the bounds it needs (see
docs/serve.md for the measurements):

* **The request body is pulled, never pushed.**  The socket is read only when the app
  calls ``receive()``, at most ``read_size`` bytes at a time; an app that waits (a full
  mailbox) stops the reads, the kernel's buffers fill and TCP flow control slows the
  client.  Nothing is buffered beyond one read.
* **Every write has a deadline** (``write_timeout``): a client that does not take the bytes
  in time is disconnected, and the app's ``send()`` raises :class:`ClientDisconnected` (an
  ``OSError``, as the ASGI spec asks).  Writes are never shielded, so a cancelled send
  (a dropped subscriber, a shutdown past its grace period) ends at once.
* **Timeouts and sizes**: the request head must arrive within ``header_timeout`` and fit in
  ``max_header_bytes`` (431), a body may pause at most ``body_timeout`` (408), one chunk of
  a chunked body may be at most ``max_chunk_bytes`` (413), an idle keep-alive connection
  is closed after ``keep_alive_timeout``, and at most ``max_connections`` are served at
  once (the next ones get a 503).  Every refusal is a JSON body.
* **Graceful stop**: :meth:`HttpServer.stop_accepting` closes the listeners and the idle
  connections; connections busy with a request finish it (the app decides how fast) and
  are then closed; :meth:`HttpServer.close` cancels whatever is left.

HTTP/1.1 only (keep-alive, chunked bodies both ways, ``Expect: 100-continue``); no TLS
(put a TLS-terminating proxy in front, or use hypercorn).
"""

from __future__ import annotations

import errno
import json
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import h11
import trio

__all__ = ["ASGIApp", "ClientDisconnected", "HttpServer", "ServerLimits"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[
    [Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
    Awaitable[None],
]

_ACCEPT_RETRY = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS})
_SERVER_HEADER = (b"server", b"jsonvisor")
_REASONS = {
    400: b"Bad Request",
    408: b"Request Timeout",
    413: b"Content Too Large",
    431: b"Request Header Fields Too Large",
    500: b"Internal Server Error",
    503: b"Service Unavailable",
}


@dataclass(frozen=True)
class ServerLimits:
    """Bounds of the HTTP server (seconds and bytes)."""

    max_header_bytes: int = 16 * 1024
    max_chunk_bytes: int = 1 << 20
    header_timeout: float = 10.0
    body_timeout: float = 60.0
    keep_alive_timeout: float = 30.0
    write_timeout: float = 10.0
    max_connections: int = 10_000
    read_size: int = 64 * 1024


class ClientDisconnected(OSError):
    """The client went away, or did not take a write within ``write_timeout``
    (``timed_out``)."""

    def __init__(self, message: str, *, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


class _Refusal(Exception):
    """The server refuses the request itself (status, code, message)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_body(code: str, message: str, **extra: Any) -> bytes:
    """The JSON body of every refusal: ``{"error": {"code": ..., "message": ..., ...}}``."""
    return json.dumps({"error": {"code": code, "message": message, **extra}}).encode()


class _Connection:
    """One client connection: a loop of requests, each handed to the app."""

    def __init__(self, server: HttpServer, stream: trio.SocketStream) -> None:
        self.server = server
        self.limits = server.limits
        self.stream = stream
        self.conn = h11.Connection(
            h11.SERVER, max_incomplete_event_size=self.limits.max_header_bytes
        )
        self.idle = True  # waiting for a request (closed at once by stop_accepting)
        self.scope: trio.CancelScope | None = None
        self.broken = False
        # per request
        self.body_done = False
        self.end_told = False  # the app was given the body's end
        self.chunk_size = 0
        self.chunked = False
        self.refusal: _Refusal | None = None
        self.response_started = False
        self.head_sent = False
        self.response_done = False
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []

    # -- reading -----------------------------------------------------------------------

    async def _read(self, timeout: float) -> None:
        """Read once from the socket into h11 (an empty read is the end of the stream)."""
        try:
            with trio.fail_after(timeout):
                data = await self.stream.receive_some(self.limits.read_size)
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            data = b""
            self.broken = True
        self.conn.receive_data(data)

    async def _next_event(self, timeout: float) -> Any:
        while True:
            event = self.conn.next_event()
            if event is not h11.NEED_DATA:
                return event
            if self.conn.they_are_waiting_for_100_continue:
                await self._write(
                    self.conn.send(h11.InformationalResponse(status_code=100, headers=[]))
                )
            await self._read(timeout)

    async def receive(self) -> Message:
        """The ASGI ``receive``: the next piece of the body, pulled from the socket now."""
        if self.refusal is not None or self.broken:
            return {"type": "http.disconnect"}
        if self.body_done:
            if not self.end_told:  # a request without a body: its (empty) end, once
                self.end_told = True
                return {"type": "http.request", "body": b"", "more_body": False}
            return await self._wait_disconnect()
        try:
            event = await self._next_event(self.limits.body_timeout)
        except trio.TooSlowError:
            self.refusal = _Refusal(
                408, "body_timeout", f"no request body byte for {self.limits.body_timeout:g} s"
            )
            return {"type": "http.disconnect"}
        except h11.RemoteProtocolError as exc:
            self.refusal = _Refusal(400, "bad_request", f"malformed request body: {exc}")
            return {"type": "http.disconnect"}
        if isinstance(event, h11.Data):
            # everything of the body already read goes up at once (a burst of small HTTP
            # chunks is one piece, not one piece per chunk); nothing more is read for it
            body = bytearray()
            while True:
                if not self._count_chunk(event):
                    return {"type": "http.disconnect"}
                body += event.data
                if len(body) >= self.limits.read_size:
                    break
                try:
                    event = self.conn.next_event()
                except h11.RemoteProtocolError as exc:  # said at the next receive()
                    self.refusal = _Refusal(400, "bad_request", f"malformed request body: {exc}")
                    break
                if isinstance(event, h11.Data):
                    continue
                if isinstance(event, h11.EndOfMessage):
                    self.body_done = self.end_told = True
                    return {"type": "http.request", "body": bytes(body), "more_body": False}
                if event is not h11.NEED_DATA:  # ConnectionClosed
                    self.broken = True
                break
            return {"type": "http.request", "body": bytes(body), "more_body": True}
        if isinstance(event, h11.EndOfMessage):
            self.body_done = self.end_told = True
            return {"type": "http.request", "body": b"", "more_body": False}
        # ConnectionClosed: the client went away in the middle of the body
        self.broken = True
        return {"type": "http.disconnect"}

    def _count_chunk(self, event: h11.Data) -> bool:
        """Track the size of the HTTP chunk ``event`` belongs to; False (and a 413 to come)
        when it is over ``max_chunk_bytes``."""
        if event.chunk_start:
            self.chunk_size = 0
        self.chunk_size += len(event.data)
        if self.chunked and self.chunk_size > self.limits.max_chunk_bytes:
            self.refusal = _Refusal(
                413,
                "chunk_too_large",
                f"a chunk of the request body is larger than {self.limits.max_chunk_bytes} "
                "bytes; send smaller chunks",
            )
            return False
        return True

    async def _wait_disconnect(self) -> Message:
        """After the body: wait until the client goes away (pipelined bytes are kept)."""
        while not self.broken:
            if len(self.conn.trailing_data[0]) > self.limits.max_header_bytes:
                await trio.sleep_forever()  # a pipelining client: read no more for now
            try:
                data = await self.stream.receive_some(self.limits.read_size)
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                data = b""
            if not data:
                self.broken = True
                break
            self.conn.receive_data(data)
        return {"type": "http.disconnect"}

    # -- writing -----------------------------------------------------------------------

    async def _write(self, data: bytes) -> None:
        if self.broken:
            raise ClientDisconnected("the client has disconnected")
        try:
            with trio.fail_after(self.limits.write_timeout):
                await self.stream.send_all(data)
        except trio.TooSlowError:
            self.broken = True
            raise ClientDisconnected(
                f"the client took no data for {self.limits.write_timeout:g} s", timed_out=True
            ) from None
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            self.broken = True
            raise ClientDisconnected(f"the client has disconnected: {exc}") from None
        except trio.Cancelled:
            self.broken = True  # part of the data may have been written: unusable now
            raise

    async def send(self, message: Message) -> None:
        """The ASGI ``send``."""
        kind = message["type"]
        if kind == "http.response.start":
            if self.response_started:
                raise RuntimeError("http.response.start sent twice")
            self.response_started = True
            self.status = int(message["status"])
            self.headers = [(bytes(k).lower(), bytes(v)) for k, v in message.get("headers", ())]
            return
        if kind != "http.response.body":
            raise RuntimeError(f"unexpected ASGI message {kind!r}")
        if not self.response_started:
            raise RuntimeError("http.response.body before http.response.start")
        if self.response_done:
            raise RuntimeError("the response has ended")
        if self.broken:
            raise ClientDisconnected("the client has disconnected")
        out = b""
        if not self.head_sent:
            self.head_sent = True
            out = self._start(self.status, self.headers)
        body = message.get("body", b"")
        if body:
            out += self.conn.send(h11.Data(data=body))
        if not message.get("more_body", False):
            out += self.conn.send(h11.EndOfMessage())
            self.response_done = True
        if out:
            await self._write(out)

    def _start(self, status: int, headers: list[tuple[bytes, bytes]]) -> bytes:
        headers = [*headers, _SERVER_HEADER]
        if not self.body_done or self.server.draining:
            headers.append((b"connection", b"close"))  # an unread body: cannot reuse
        return self.conn.send(h11.Response(status_code=status, headers=headers))

    async def respond_json(self, status: int, body: bytes, *, close: bool = False) -> None:
        """A whole JSON response from the server itself."""
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            _SERVER_HEADER,
        ]
        if close or not self.body_done or self.server.draining:
            headers.append((b"connection", b"close"))
        try:
            out = self.conn.send(h11.Response(status_code=status, headers=headers))
            out += self.conn.send(h11.Data(data=body))
            out += self.conn.send(h11.EndOfMessage())
        except h11.LocalProtocolError:  # h11 cannot frame it (a broken request): raw bytes
            reason = _REASONS.get(status, b"Error")
            out = b"HTTP/1.1 %d %s\r\n" % (status, reason)
            out += b"".join(k + b": " + v + b"\r\n" for k, v in headers)
            out += b"connection: close\r\n\r\n" + body
            self.broken = True
        self.response_started = self.response_done = self.head_sent = True
        await self._write(out)

    # -- the request loop --------------------------------------------------------------

    async def run(self) -> None:
        try:
            with trio.CancelScope() as self.scope:
                await self._serve()
        except ClientDisconnected:
            pass
        finally:
            with trio.CancelScope(shield=True):
                await self.stream.aclose()

    async def _serve(self) -> None:
        first = True
        while True:
            self.idle = True
            if self.server.draining:
                return
            timeout = self.limits.header_timeout if first else self.limits.keep_alive_timeout
            try:
                event = await self._next_event(timeout)
            except trio.TooSlowError:
                if self.conn.their_state is h11.IDLE and not self.conn.trailing_data[0]:
                    return  # an idle keep-alive connection: close quietly
                await self.respond_json(
                    408, error_body("header_timeout", "the request head took too long"), close=True
                )
                return
            except h11.RemoteProtocolError as exc:
                status = exc.error_status_hint
                if status == 431:
                    message = (
                        f"the request head is larger than {self.limits.max_header_bytes} bytes"
                    )
                    await self.respond_json(431, error_body("headers_too_large", message))
                else:
                    message = f"bad HTTP request: {exc}"
                    await self.respond_json(status, error_body("bad_request", message))
                return
            if isinstance(event, h11.ConnectionClosed) or self.broken:
                return
            if not isinstance(event, h11.Request):
                return
            first = False
            self.idle = False
            size = len(event.target) + sum(len(k) + len(v) + 4 for k, v in event.headers)
            if size > self.limits.max_header_bytes:  # (h11 only bounds a head cut in pieces)
                message = f"the request head is larger than {self.limits.max_header_bytes} bytes"
                await self.respond_json(431, error_body("headers_too_large", message), close=True)
                return
            await self._handle(event)
            if self.broken or self.conn.our_state is h11.MUST_CLOSE:
                return
            if self.conn.our_state is not h11.DONE or self.conn.their_state is not h11.DONE:
                return  # the body was not read to its end: the connection cannot be reused
            try:
                self.conn.start_next_cycle()
            except h11.LocalProtocolError:
                return

    async def _handle(self, request: h11.Request) -> None:
        self.body_done = self.end_told = False
        self.refusal = None
        self.response_started = self.response_done = self.head_sent = False
        self.status = 0
        self.headers = []
        self.chunk_size = 0
        headers = request.headers
        self.chunked = any(
            k.lower() == b"transfer-encoding" and b"chunked" in v.lower() for k, v in headers
        )
        length = [v for k, v in request.headers if k.lower() == b"content-length"]
        if not self.chunked and (not length or length[0].strip() == b"0"):
            # no body: take its end now, so the connection can be kept alive
            if isinstance(self.conn.next_event(), h11.EndOfMessage):
                self.body_done = True
        target = bytes(request.target)
        raw_path, _, query = target.partition(b"?")
        if not raw_path.startswith(b"/"):
            await self.respond_json(400, error_body("bad_request", "the target must be a path"))
            return
        peer = self._address(self.stream.socket.getpeername)
        local = self._address(self.stream.socket.getsockname)
        scope: Scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": request.http_version.decode(),
            "method": request.method.decode("ascii", "replace").upper(),
            "scheme": "http",
            "path": unquote(raw_path.decode("latin-1")),
            "raw_path": raw_path,
            "query_string": query,
            "root_path": "",
            "headers": [(bytes(k), bytes(v)) for k, v in request.headers],
            "client": peer,
            "server": local,
            "state": {},
        }
        if self.server.draining:
            await self.respond_json(
                503, error_body("shutting_down", "the server is shutting down"), close=True
            )
            return
        try:
            await self.server.app(scope, self.receive, self.send)
        except ClientDisconnected:
            self.broken = True
            return
        except Exception as exc:  # an app error: a 500 if nothing was sent yet
            self.server.app_errors += 1
            if self.server.on_error is not None:
                self.server.on_error(exc)
            if not self.response_started:
                await self.respond_json(
                    500, error_body("internal_error", f"{type(exc).__name__}: {exc}"), close=True
                )
            self.broken = True
            return
        if self.refusal is not None:
            if not self.response_started:
                r = self.refusal
                await self.respond_json(r.status, error_body(r.code, r.message), close=True)
            self.broken = True
            return
        if not self.response_done:
            if not self.response_started:
                await self.respond_json(
                    500, error_body("internal_error", "the app sent no response"), close=True
                )
            self.broken = True  # a response the app did not end

    @staticmethod
    def _address(get: Callable[[], Any]) -> tuple[str, int] | None:
        try:
            addr = get()
        except OSError:
            return None
        return (addr[0], addr[1]) if isinstance(addr, tuple) else None


class HttpServer:
    """Serve an ASGI app on Trio listeners (see the module docstring)."""

    def __init__(
        self,
        app: ASGIApp,
        limits: ServerLimits | None = None,
        *,
        on_error: Callable[[BaseException], object] | None = None,
    ) -> None:
        self.app = app
        self.limits = limits or ServerLimits()
        self.on_error = on_error
        self.draining = False
        self.connections: set[_Connection] = set()
        self.accepted = 0
        self.refused = 0
        self.app_errors = 0
        self._accept_scope: trio.CancelScope | None = None
        self._conn_scope: trio.CancelScope | None = None
        self._empty: trio.Event | None = None

    async def serve(
        self,
        listeners: list[trio.SocketListener],
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Accept and serve connections until :meth:`close` (or cancellation)."""
        try:
            async with trio.open_nursery() as conns:
                self._conn_scope = conns.cancel_scope
                async with trio.open_nursery() as accept:
                    self._accept_scope = accept.cancel_scope
                    for listener in listeners:
                        accept.start_soon(self._accept_loop, listener, conns)
                    task_status.started()
                # no more accepting: busy connections finish their request and close
                self._accept_scope = None
                for listener in listeners:
                    with trio.CancelScope(shield=True):
                        await listener.aclose()
        finally:
            for listener in listeners:
                with trio.CancelScope(shield=True):
                    await listener.aclose()

    async def _accept_loop(self, listener: trio.SocketListener, conns: trio.Nursery) -> None:
        while True:
            try:
                stream = await listener.accept()
            except OSError as exc:
                if exc.errno in _ACCEPT_RETRY:
                    await trio.sleep(0.1)
                    continue
                raise
            self.accepted += 1
            if len(self.connections) >= self.limits.max_connections:
                self.refused += 1
                conns.start_soon(self._refuse, stream)
                continue
            conns.start_soon(self._connection, stream)

    async def _connection(self, stream: trio.SocketStream) -> None:
        conn = _Connection(self, stream)
        self.connections.add(conn)
        try:
            await conn.run()
        finally:
            self.connections.discard(conn)
            if not self.connections and self._empty is not None:
                self._empty.set()

    async def _refuse(self, stream: trio.SocketStream) -> None:
        body = error_body(
            "too_many_connections",
            f"the server has {self.limits.max_connections} connections open; try again later",
        )
        head = (
            b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
            b"connection: close\r\nretry-after: 1\r\ncontent-length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
        )
        with trio.move_on_after(1.0):
            try:
                await stream.send_all(head + body)
            except (trio.BrokenResourceError, OSError):
                pass
        with trio.CancelScope(shield=True):
            await stream.aclose()

    def stop_accepting(self) -> None:
        """Close the listeners and the idle connections; busy ones finish their request."""
        self.draining = True
        if self._accept_scope is not None:
            self._accept_scope.cancel()
        for conn in list(self.connections):
            if conn.idle and conn.scope is not None:
                conn.scope.cancel()

    async def drained(self) -> None:
        """Wait until every connection has closed (after :meth:`stop_accepting`)."""
        while self.connections:
            self._empty = trio.Event()
            await self._empty.wait()

    def close(self) -> None:
        """Stop everything now: every connection is cancelled and closed."""
        self.stop_accepting()
        if self._conn_scope is not None:
            self._conn_scope.cancel()

    @property
    def busy(self) -> int:
        """Connections in the middle of a request."""
        return sum(1 for c in self.connections if not c.idle)


def listener_port(listeners: list[trio.SocketListener]) -> int:
    """The port the first listener is bound to (useful with port 0)."""
    return int(listeners[0].socket.getsockname()[1])
