"""Provider streams into the service: the proxy to configured upstreams, and the fan-in of
any adapter's items into the service's messages (the demo uses it too).

``POST /upstreams/{name}`` sends the request body to the URL configured for ``name`` (a URL
in a request is never fetched; redirects are not followed) and reads the streamed answer
through the provider's adapter and :func:`jsonvisor.llm.drive`, each text block or tool
call becoming a message of the service: ``{name}-{n}:{the adapter's id}``.  A proxied tool
call is parsed with the schema named like its tool, when there is one.  The reading is
paced by the supervisor: a full mailbox stops it, and with it the upstream's TCP stream.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import trio

from ..llm import MessageEnd, MessageStart, StreamError, adapter_for, detect_format, drive
from .config import ServeConfig
from .encoding import dumps
from .errors import HTTPError
from .http import Request
from .messages import Message
from .registry import Registry

__all__ = ["FanIn", "Proxy", "message_id"]

_BAD = re.compile(r"[^A-Za-z0-9_.~:@+\-]")
_FORWARD = (
    b"x-api-key",
    b"x-goog-api-key",
    b"anthropic-version",
    b"anthropic-beta",
    b"openai-organization",
    b"openai-project",
)
_DETECT_BYTES = 4096


def message_id(prefix: str, adapter_id: str) -> str:
    """The service's ID for an adapter's message: ``prefix:adapter_id``, made valid."""
    return (prefix + ":" + _BAD.sub("_", adapter_id))[:200]


class FanIn:
    """What :func:`jsonvisor.llm.drive` feeds: ``send``/``end`` by adapter message ID, into
    the service's messages (opened by ``on_item`` at each ``MessageStart``)."""

    def __init__(
        self,
        registry: Registry,
        prefix: str,
        *,
        origin: str,
        emit: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.registry = registry
        self.prefix = prefix
        self.origin = origin
        self.emit = emit
        self.messages: dict[str, Message] = {}

    def on_item(self, item: Any) -> None:
        """Open a message at its start; tell ``emit`` about starts and ends."""
        if isinstance(item, MessageStart):
            msg_id = message_id(self.prefix, item.msg_id)
            schema = self.registry.config.schemas.get(item.name) if item.name else None
            try:
                msg = self.registry.open(
                    msg_id, schema=schema, origin=self.origin, kind=item.kind, name=item.name
                )
            except HTTPError as error:  # too many messages, shutting down: skip it
                self.registry.refused(error.code)
                if self.emit is not None:
                    self.emit({"type": "refused", "id": msg_id, "error": error.body()["error"]})
                return
            self.messages[item.msg_id] = msg
            if self.emit is not None:
                self.emit({"type": "message", "id": msg_id, "kind": item.kind, "name": item.name})
        elif isinstance(item, (MessageEnd, StreamError)) and self.emit is not None:
            if item.msg_id is None:
                self.emit({"type": "stream_error", "error": item.message})  # type: ignore[union-attr]
            elif item.msg_id in self.messages:
                reason = item.reason if isinstance(item, MessageEnd) else "error"
                self.emit({"type": "end", "id": self.messages[item.msg_id].id, "reason": reason})

    async def send(self, adapter_id: str, text: str) -> None:
        msg = self.messages.get(adapter_id)
        if msg is None or msg.terminal is not None or msg.state == "ending":
            return
        await self.registry.sup.send(msg.id, text)  # type: ignore[union-attr]
        self.registry.accepted(msg, len(text.encode("utf-8", "surrogatepass")))

    async def end(self, adapter_id: str) -> None:
        msg = self.messages.get(adapter_id)
        if msg is not None:
            try:
                await self.registry.end(msg)
            except HTTPError:
                pass

    async def end_all(self) -> None:
        """End every message still open (the stream stopped)."""
        for msg in self.messages.values():
            if msg.terminal is None:
                try:
                    await self.registry.end(msg)
                except HTTPError:
                    pass


async def _detected(
    chunks: AsyncIterator[bytes], fmt: str | None
) -> tuple[str, AsyncIterator[bytes]]:
    """The stream's format (read ahead up to 4 KiB if need be) and the whole stream."""
    head = b""
    if fmt is None:
        async for chunk in chunks:
            head += chunk
            fmt = detect_format(head)
            if fmt is not None or len(head) >= _DETECT_BYTES:
                break
    if fmt is None:
        raise HTTPError(502, "upstream_format", "the upstream's answer is no known stream format")

    async def replay() -> AsyncIterator[bytes]:
        if head:
            yield head
        async for chunk in chunks:
            yield chunk

    return fmt, replay()


class Proxy:
    """``POST /upstreams/{name}`` (see the module docstring)."""

    def __init__(self, config: ServeConfig, registry: Registry, client: Any) -> None:
        self.config = config
        self.registry = registry
        self.client = client
        self.counter = itertools.count(1)

    async def _body(self, req: Request) -> bytes:
        limit = self.config.max_request_bytes
        length = req.content_length()
        if length is not None and length > limit:
            raise HTTPError(413, "request_too_large", f"the body is larger than {limit} bytes")
        body = bytearray()
        while True:
            message = await req.receive()
            if message["type"] == "http.disconnect":
                raise HTTPError(400, "disconnected", "the client went away")
            body += message.get("body", b"")
            if len(body) > limit:
                raise HTTPError(413, "request_too_large", f"the body is larger than {limit} bytes")
            if not message.get("more_body", False):
                return bytes(body)

    async def __call__(self, req: Request, name: str) -> None:
        import httpx

        upstream = self.config.upstreams[name]
        reg = self.registry
        with reg.input_scope() as scope:
            body = await self._body(req)
            headers = {
                "content-type": (req.header(b"content-type") or b"application/json").decode(
                    "latin-1"
                )
            }
            for key in _FORWARD:
                value = req.header(key)
                if value is not None:
                    headers[key.decode()] = value.decode("latin-1")
            auth = req.header(b"x-upstream-authorization")
            if auth is not None:
                headers["authorization"] = auth.decode("latin-1")
            prefix = f"{name}-{next(self.counter)}"
            try:
                async with self.client.stream(
                    "POST", upstream.url, content=body, headers=headers
                ) as response:
                    if response.status_code >= 400:
                        text = b""
                        async for chunk in response.aiter_raw():
                            text += chunk
                            if len(text) >= 2048:
                                break
                        raise HTTPError(
                            502,
                            "upstream_error",
                            f"upstream {name!r} answered {response.status_code}",
                            upstream_status=response.status_code,
                            body=text[:2048].decode("utf-8", "replace"),
                        )
                    fmt, chunks = await _detected(response.aiter_raw(), upstream.format)
                    await self._fan_in(req, prefix, fmt, chunks)
            except httpx.HTTPError as exc:
                if req.started:
                    return
                raise HTTPError(
                    502, "upstream_unreachable", f"upstream {name!r}: {type(exc).__name__}: {exc}"
                ) from None
        if scope.cancelled_caught and not req.started:
            raise HTTPError(503, "shutting_down", "the service is shutting down")

    async def _fan_in(
        self, req: Request, prefix: str, fmt: str, chunks: AsyncIterator[bytes]
    ) -> None:
        lines: list[bytes] = []
        lot = trio.lowlevel.ParkingLot()
        done = False
        gone = False

        def emit(record: dict[str, Any]) -> None:
            if not gone:
                lines.append(dumps(record) + b"\n")
                lot.unpark_all()

        async def writer() -> None:
            nonlocal gone
            try:
                while True:
                    if not lines:
                        if done:
                            break
                        await lot.park()
                        continue
                    data = b"".join(lines)
                    lines.clear()
                    await req.send({"type": "http.response.body", "body": data, "more_body": True})
                await req.send({"type": "http.response.body", "body": b"", "more_body": False})
            except OSError:
                gone = True  # the client left; the messages go on for their subscribers

        req.started = True
        await req.send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/x-ndjson"),
                    (b"cache-control", b"no-store"),
                    (b"x-jsonvisor-call", prefix.encode()),
                ],
            }
        )
        fan_in = FanIn(
            self.registry, prefix, origin=f"upstream:{prefix.rsplit('-', 1)[0]}", emit=emit
        )
        async with trio.open_nursery() as nursery:
            nursery.start_soon(writer)
            errors: list[Any] = []
            try:
                errors = await drive(adapter_for(fmt), chunks, fan_in, on_item=fan_in.on_item)
            except Exception as exc:  # the upstream broke off (drive ended its messages)
                emit({"type": "stream_error", "error": f"{type(exc).__name__}: {exc}"})
            finally:
                with trio.CancelScope(shield=True):
                    await fan_in.end_all()
            emit(
                {
                    "type": "done",
                    "messages": [m.id for m in fan_in.messages.values()],
                    "errors": [e.message for e in errors],
                }
            )
            done = True
            lot.unpark_all()
