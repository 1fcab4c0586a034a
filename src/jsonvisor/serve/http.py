"""One ASGI request, with the few helpers the routes need (path segments, query, JSON
responses, a server-sent-event stream)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs, unquote_to_bytes

import trio

from .encoding import dumps, sse
from .errors import HTTPError
from .subscribers import Subscriber

__all__ = ["SSE_HEADERS", "Request", "stream_events"]

Message = MutableMapping[str, Any]

SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-store"),
    (b"x-accel-buffering", b"no"),
]
_MAX_QUERY = 8192
_TRUE = frozenset({"", "1", "true", "yes", "on"})


class Request:
    """An ASGI HTTP request: ``method``, ``segments`` (the decoded path), ``query``."""

    __slots__ = ("headers", "method", "query", "receive", "scope", "segments", "send", "started")

    def __init__(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        self.scope = scope
        self.receive = receive
        self.send = send
        self.started = False
        self.method: str = scope["method"]
        self.headers: dict[bytes, bytes] = {}
        for name, value in scope.get("headers", ()):
            self.headers[bytes(name).lower()] = bytes(value)
        raw = scope.get("raw_path") or scope["path"].encode("utf-8")
        self.segments = [self._decode(s) for s in bytes(raw).split(b"/")[1:]]
        if self.segments and self.segments[-1] == "" and len(self.segments) > 1:
            self.segments.pop()  # a trailing slash
        qs = bytes(scope.get("query_string", b""))
        if len(qs) > _MAX_QUERY:
            raise HTTPError(414, "query_too_long", f"the query string is over {_MAX_QUERY} bytes")
        try:
            self.query = parse_qs(
                qs.decode("utf-8"), keep_blank_values=True, strict_parsing=False, max_num_fields=64
            )
        except (UnicodeDecodeError, ValueError) as exc:
            raise HTTPError(400, "bad_query", f"bad query string: {exc}") from None

    @staticmethod
    def _decode(segment: bytes) -> str:
        try:
            return unquote_to_bytes(segment).decode("utf-8")
        except UnicodeDecodeError:
            raise HTTPError(400, "bad_path", "the path is not UTF-8") from None

    def header(self, name: bytes) -> bytes | None:
        """A request header (the last one of that name)."""
        return self.headers.get(name)

    def param(self, name: str) -> str | None:
        """The first query parameter ``name``."""
        values = self.query.get(name)
        return values[0] if values else None

    def params(self, name: str) -> list[str]:
        """Every query parameter ``name``."""
        return self.query.get(name, [])

    def flag(self, name: str) -> bool:
        """A yes/no query parameter (``?compact``, ``?compact=1``, ``?compact=true``)."""
        value = self.param(name)
        return value is not None and value.lower() in _TRUE

    def number(self, name: str, default: float | None, *, most: float) -> float | None:
        """A number of seconds (or a count) in the query, at most ``most``."""
        value = self.param(name)
        if value is None:
            return default
        try:
            number = float(value) if value else most
        except ValueError:
            raise HTTPError(400, "bad_query", f"?{name}= takes a number, not {value!r}") from None
        if not number >= 0:
            raise HTTPError(400, "bad_query", f"?{name}= must be 0 or more")
        return min(number, most)

    def content_length(self) -> int | None:
        """The declared body size, if any."""
        value = self.header(b"content-length")
        if value is None:
            return None
        try:
            return int(value)
        except ValueError:
            raise HTTPError(400, "bad_request", "Content-Length is not a number") from None

    async def respond(
        self,
        status: int,
        body: bytes,
        content_type: bytes,
        headers: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        """A whole response."""
        self.started = True
        head = [
            (b"content-type", content_type),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"no-store"),
            (b"x-content-type-options", b"nosniff"),
        ]
        await self.send(
            {"type": "http.response.start", "status": status, "headers": head + (headers or [])}
        )
        await self.send({"type": "http.response.body", "body": body, "more_body": False})

    async def json(
        self, status: int, data: Any, headers: list[tuple[bytes, bytes]] | None = None
    ) -> None:
        """A JSON response."""
        await self.respond(status, dumps(data), b"application/json", headers)


async def stream_events(request: Request, sub: Subscriber, *, heartbeat: float) -> str:
    """Send ``sub``'s events as a ``text/event-stream`` response until it ends.

    Returns how it ended: ``"ended"`` (after the terminal event), ``"dropped"`` (too slow:
    its queue overflowed or a write timed out) or ``"disconnected"``.  A keep-alive comment
    goes out after ``heartbeat`` idle seconds; the client's going away is noticed at once
    (``http.disconnect``), and a write never waits longer than the server's write timeout.
    """
    request.started = True
    outcome = "ended"
    async with trio.open_nursery() as nursery:

        async def disconnect() -> None:
            nonlocal outcome
            while True:
                message = await request.receive()
                if message["type"] == "http.disconnect":
                    outcome = "disconnected"
                    nursery.cancel_scope.cancel()
                    return

        broken = False
        try:
            await request.send(
                {"type": "http.response.start", "status": 200, "headers": SSE_HEADERS}
            )
            nursery.start_soon(disconnect)
            while True:
                items = await sub.take(heartbeat)
                if sub.dropped is not None:
                    outcome = "dropped"
                    break
                if items:
                    data = b"".join(items)
                elif sub.ended:
                    break
                else:
                    data = b": keep-alive\n\n"
                with trio.CancelScope() as scope:
                    sub.send_scope = scope
                    await request.send(
                        {"type": "http.response.body", "body": data, "more_body": True}
                    )
                sub.send_scope = None
                if scope.cancelled_caught:  # dropped while writing: the stream is cut
                    outcome, broken = "dropped", True
                    break
            if outcome == "dropped" and not broken:
                note = sse(
                    "dropped",
                    {
                        "error": {
                            "code": "slow_subscriber",
                            "message": "this event stream fell too far behind and was dropped; "
                            "reconnect to start again from a snapshot",
                        }
                    },
                )
                with trio.move_on_after(1.0):
                    await request.send(
                        {"type": "http.response.body", "body": note, "more_body": True}
                    )
            if not broken:
                await request.send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError as exc:  # ClientDisconnected: gone, or a write timed out
            if outcome == "ended":
                outcome = "dropped" if getattr(exc, "timed_out", False) else "disconnected"
        nursery.cancel_scope.cancel()
    return outcome
