"""Helpers for the ``jsonvisor serve`` tests: a service on 127.0.0.1, raw HTTP, SSE."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import httpx
import trio

from jsonvisor.serve import ServeConfig, serve
from jsonvisor.serve.run import Running


@asynccontextmanager
async def service(**options: Any) -> AsyncIterator[Running]:
    """A service on 127.0.0.1 (any free port) for the duration of the block."""
    config = ServeConfig(port=0, **options)
    async with trio.open_nursery() as nursery:
        running: Running = await nursery.start(partial(serve, config, log=None))
        try:
            yield running
        finally:
            running.stop()


def client(running: Running, **kwargs: Any) -> httpx.AsyncClient:
    """An httpx client for the service (no proxies from the environment)."""
    return httpx.AsyncClient(base_url=running.url, trust_env=False, timeout=30, **kwargs)


def parse_sse(text: str) -> list[tuple[str, Any]]:
    """``(event, data)`` of each complete server-sent event in ``text``."""
    out = []
    for block in text.split("\n\n")[:-1]:
        name, data = "message", []
        for line in block.split("\n"):
            if not line or line.startswith(":"):
                continue
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)
        if data:
            out.append((name, json.loads("\n".join(data))))
    return out


async def read_events(
    http: httpx.AsyncClient, url: str, *, until: str | None = None, headers: Any = None
) -> list[tuple[str, Any]]:
    """Every event of an event stream, to its end (or to the first ``until`` event)."""
    text = ""
    async with http.stream("GET", url, headers=headers) as response:
        assert response.status_code == 200, await response.aread()
        async for chunk in response.aiter_text():
            text += chunk
            if until is not None and any(n == until for n, _ in parse_sse(text)):
                break
    return parse_sse(text)


def post_bytes(path: str, body: bytes) -> bytes:
    """A whole ``POST`` request with a Content-Length, as bytes."""
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


class RawConnection:
    """A bare TCP connection to the service, for what httpx will not do."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.buffer = b""

    @classmethod
    async def open(cls, running: Running, *, rcvbuf: int | None = None) -> RawConnection:
        sock = trio.socket.socket()
        if rcvbuf is not None:
            sock.setsockopt(trio.socket.SOL_SOCKET, trio.socket.SO_RCVBUF, rcvbuf)
        await sock.connect(("127.0.0.1", running.port))
        return cls(trio.SocketStream(sock))

    async def send(self, data: bytes) -> None:
        await self.stream.send_all(data)

    async def read_until(self, marker: bytes) -> bytes:
        while marker not in self.buffer:
            data = await self.stream.receive_some(65536)
            if not data:
                raise EOFError(self.buffer)
            self.buffer += data
        head, _, self.buffer = self.buffer.partition(marker)
        return head + marker

    async def response(self) -> tuple[int, dict[str, str], bytes]:
        """One whole response with a Content-Length (status, headers, body)."""
        head = await self.read_until(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                k, _, v = line.partition(":")
                headers[k.strip().lower()] = v.strip()
        length = int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            data = await self.stream.receive_some(65536)
            if not data:
                break
            self.buffer += data
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return status, headers, body

    async def aclose(self) -> None:
        await self.stream.aclose()
