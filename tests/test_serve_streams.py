"""``jsonvisor serve`` under pressure, over real sockets: backpressure to the client, a
subscriber that stops reading, clients that disconnect, 1,000 concurrent messages in
bounded memory, the upstream proxy, the demo, and the same app under hypercorn."""

from __future__ import annotations

import gc
import json
import time
import tracemalloc
from functools import partial
from typing import Any

import pytest
import trio

from jsonvisor.llm import load_recording
from jsonvisor.parsers import StreamingJsonParser as Parser
from jsonvisor.serve import HttpServer, ServerLimits, parse_upstream
from jsonvisor.serve.demo import run_demo
from jsonvisor.serve.server import listener_port
from serve_support import RawConnection, client, parse_sse, post_bytes, read_events, service


class SlowParser:
    """A parser that takes 5 ms per feed: its mailbox fills, and the service must slow
    the request body instead of buffering it."""

    def __init__(self) -> None:
        self.parser = Parser(max_bytes=64 * 1024 * 1024)

    def feed(self, chunk: Any) -> Any:
        time.sleep(0.005)
        return self.parser.feed(chunk)

    def finish(self) -> Any:
        return self.parser.finish()

    def snapshot(self) -> Any:
        return self.parser.snapshot()


def _rmem_max() -> int:
    try:
        with open("/proc/sys/net/ipv4/tcp_rmem") as f:
            return int(f.read().split()[2])
    except OSError:
        return 6 * 1024 * 1024


async def test_a_full_mailbox_slows_the_request_body() -> None:
    total = 24 * 1024 * 1024
    options = dict(
        parser_factory=lambda msg_id, schema: SlowParser(),
        supervisor={"mailbox_size": 1, "mailbox_bytes": 1024},
        max_request_bytes=total + 1,
        max_message_bytes=total + 1,
    )
    async with service(**options) as svc, client(svc) as http:
        sock = trio.socket.socket()
        sock.setsockopt(trio.socket.SOL_SOCKET, trio.socket.SO_SNDBUF, 64 * 1024)
        await sock.connect(("127.0.0.1", svc.port))
        sndbuf = sock.getsockopt(trio.socket.SOL_SOCKET, trio.socket.SO_SNDBUF)
        stream = trio.SocketStream(sock)
        head = (
            f"POST /messages/bp/chunks HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Length: {total}\r\n\r\n"
        ).encode()
        piece = b"[" + b" " * (64 * 1024 - 1)
        await stream.send_all(head)
        with trio.fail_after(120):
            for i in range(total // len(piece)):
                await stream.send_all(piece if i == 0 else b" " * len(piece))
        # the client could only write this much ahead of what the service took in: the
        # kernel's buffers on both sides, one read of the server, one mailbox
        msg = svc.registry.get("bp")
        ahead = total - msg.bytes_in
        assert ahead <= sndbuf + _rmem_max() + 1024 * 1024, (ahead, sndbuf, _rmem_max())
        assert msg.bytes_in > 0
        raw = RawConnection(stream)
        status, _, body = await raw.response()
        assert status == 202 and json.loads(body)["accepted"] == total
        await raw.aclose()
        assert (await http.get("/messages/bp")).json()["bytes"] == total


async def test_a_subscriber_that_stops_reading_is_dropped_alone() -> None:
    limits = ServerLimits(write_timeout=2.0)
    async with service(limits=limits, subscriber_buffer=4 << 20) as svc, client(svc) as http:
        # a subscriber with a tiny receive buffer that reads the head and then nothing
        stalled = await RawConnection.open(svc, rcvbuf=4096)
        await stalled.send(b"GET /messages/big/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        await stalled.read_until(b"\r\n\r\n")
        got: list[Any] = []
        async with trio.open_nursery() as nursery:

            async def reader() -> None:
                got.extend(await read_events(http, "/messages/big/events"))

            nursery.start_soon(reader)
            await trio.sleep(0.1)
            assert len(svc.registry.get("big").subscribers) == 2
            text = "x" * 2000
            await http.post("/messages/big/chunks", content=b'{"s": "')
            with trio.fail_after(60):
                for _ in range(500):  # 1 MB of string in 2 KB pieces: ~500 string_grew events
                    r = await http.post("/messages/big/chunks", content=text.encode())
                    assert r.status_code == 202
                await http.post("/messages/big/chunks?end=1", content=b'"}')
        assert got[-1][0] == "completed" and got[-1][1]["value"] == {"s": text * 500}
        # dropped when its queue overflowed, or when a write waited write_timeout
        with trio.fail_after(30):
            while svc.registry.counts["subscribers_dropped"] != 1:
                await trio.sleep(0.05)
        stats = (await http.get("/stats")).json()["service"]
        assert stats["subscribers_dropped"] == 1 and stats["subscribers_disconnected"] == 0
        assert svc.registry.get("big").subscribers == []
        # the stalled connection was closed by the service
        with trio.fail_after(10):
            while True:
                try:
                    data = await stalled.stream.receive_some(1 << 20)
                except trio.BrokenResourceError:
                    break
                if not data:
                    break
        await stalled.aclose()


async def test_clients_that_disconnect_mid_stream() -> None:
    async with service() as svc, client(svc) as http:
        # a subscriber that goes away after the first events
        raw = await RawConnection.open(svc)
        await raw.send(b"GET /messages/d/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        await raw.read_until(b"\r\n\r\n")
        others: list[Any] = []
        async with trio.open_nursery() as nursery:

            async def reader() -> None:
                others.extend(await read_events(http, "/messages/d/events"))

            nursery.start_soon(reader)
            await trio.sleep(0.05)
            await http.post("/messages/d/chunks", content=b'{"a": [1, 2')
            await raw.read_until(b"event: value_started")
            await raw.aclose()
            with trio.fail_after(10):
                while len(svc.registry.get("d").subscribers) != 1:
                    await trio.sleep(0.01)
            # a producer that goes away in the middle of a chunked body
            prod = await RawConnection.open(svc)
            await prod.send(
                b"POST /messages/d/chunks HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b'Transfer-Encoding: chunked\r\n\r\n4\r\n, 3]\r\n3\r\n, "'
            )
            with trio.fail_after(10):
                while svc.registry.get("d").bytes_in < 15:
                    await trio.sleep(0.01)
            await prod.aclose()
            with trio.fail_after(10):
                while svc.registry.counts["ingest_disconnected"] != 1:
                    await trio.sleep(0.01)
            assert svc.registry.get("d").state == "open"  # what came stays, it stays open
            await http.post("/messages/d/chunks?end=1", content=b'b": true}')
        assert others[-1][1]["value"] == {"a": [1, 2, 3], "b": True}
        stats = (await http.get("/stats")).json()["service"]
        assert stats["subscribers_disconnected"] >= 1 and stats["subscribers_dropped"] == 0


async def test_a_thousand_concurrent_messages_in_bounded_memory() -> None:
    n = 1000
    doc = json.dumps({"id": 0, "text": "lorem ipsum " * 20, "items": list(range(30))}).encode()

    async def wave(prefix: str, live: list[int]) -> None:
        opened = trio.Event()
        count = 0

        async def one(i: int) -> None:  # a connection per message, kept alive
            nonlocal count
            conn = await RawConnection.open(svc)
            await conn.send(post_bytes(f"/messages/{prefix}{i}/chunks", doc[:50]))
            assert (await conn.response())[0] == 202
            count += 1
            if count == n:
                opened.set()
            await opened.wait()  # every message is open at once
            await conn.send(post_bytes(f"/messages/{prefix}{i}/chunks?end=1", doc[50:]))
            assert (await conn.response())[0] == 202
            await conn.aclose()

        async with trio.open_nursery() as nursery:
            for i in range(n):
                nursery.start_soon(one, i)
            await opened.wait()
            live.append(len(svc.registry.live))
        while svc.registry.live or svc.server.connections:  # every message and connection gone
            await trio.sleep(0.01)

    # finished IDs are remembered (their late chunks are refused) up to remember_finished:
    # at most 1,000 here, so after the first wave that memory is full and stays so
    options = dict(keep_recent=100, supervisor={"remember_finished": 1000})
    async with service(**options) as svc, client(svc) as http:
        live: list[int] = []
        with trio.fail_after(300):
            await wave("warm", live)
            gc.collect()
            tracemalloc.start()
            try:
                after = []
                for prefix in "abc":
                    tracemalloc.reset_peak()
                    await wave(prefix, live)
                    gc.collect()
                    current, peak = tracemalloc.get_traced_memory()
                    after.append((current, peak))
            finally:
                tracemalloc.stop()
        assert live == [n] * 4
        assert len(svc.registry.recent) == 100  # the rest are forgotten, by ID only
        assert len(svc.registry.forgotten) == 1000
        stats = (await http.get("/stats")).json()
        assert stats["supervisor"]["messages_completed"] == 4 * n
        assert stats["supervisor"]["open_mailboxes"] == 0
        # two thousand more messages leave nothing behind but the high-water marks of a few
        # hash tables (a leak of even 500 bytes per message would be 1 MB here)
        grown = max(after[1][0], after[2][0]) - after[0][0]
        assert grown < 1024 * 1024, [a for a, _ in after]
        # a thousand live at once, clients and service together: bounded, per message
        peak = max(p for _, p in after) - after[0][0]
        assert peak / n < 64 * 1024, peak


async def _upstream_app(calls: list[Any], scope: Any, receive: Any, send: Any) -> None:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    calls.append((scope["path"], dict(scope["headers"]), body))
    if scope["path"] == "/fail":
        await send({"type": "http.response.start", "status": 429, "headers": []})
        await send({"type": "http.response.body", "body": b'{"error": "rate limited"}'})
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/event-stream")],
        }
    )
    data = load_recording("openai_chat_parallel_tools")
    for i in range(0, len(data), 700):
        await send({"type": "http.response.body", "body": data[i : i + 700], "more_body": True})
        await trio.sleep(0.001)
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def test_the_proxy_calls_only_the_configured_upstream() -> None:
    calls: list[Any] = []
    upstream = HttpServer(partial(_upstream_app, calls))
    async with trio.open_nursery() as nursery:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        await nursery.start(upstream.serve, listeners)
        base = f"http://127.0.0.1:{listener_port(listeners)}"
        ups = {
            "oa": parse_upstream(f"oa={base}/v1/chat/completions"),
            "bad": parse_upstream(f"bad=openai-chat+{base}/fail"),
        }
        from jsonvisor.serve.demo import demo_schemas

        async with service(upstreams=ups, schemas=demo_schemas()) as svc, client(svc) as http:
            request = {"model": "m", "stream": True, "url": "http://elsewhere.invalid/"}
            r = await http.post(
                "/upstreams/oa?url=http://elsewhere.invalid/",
                json=request,
                headers={"X-Upstream-Authorization": "Bearer sk-up", "x-api-key": "k"},
            )
            assert r.status_code == 200
            lines = [json.loads(line) for line in r.text.splitlines()]
            started = [rec["id"] for rec in lines if rec["type"] == "message"]
            assert len(started) == 3 and all(i.startswith("oa-1:chatcmpl-") for i in started)
            assert lines[-1]["type"] == "done" and lines[-1]["errors"] == []
            path, headers, body = calls[0]
            assert path == "/v1/chat/completions" and json.loads(body) == request
            assert headers[b"authorization"] == b"Bearer sk-up" and headers[b"x-api-key"] == b"k"
            first = (await http.get(f"/messages/{started[0]}?wait=10")).json()
            assert first["result"]["value"]["location"] == "Zürich, Switzerland"
            assert first["schema"] == "get_weather" and first["name"] == "get_weather"
            r = await http.post("/upstreams/bad", json=request)
            assert r.status_code == 502 and r.json()["error"]["upstream_status"] == 429, r.text
            r = await http.post("/upstreams/nope", json=request)
            assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_upstream"
            assert len(calls) == 2  # nothing else was called
        upstream.close()


async def test_the_demo_replays_every_recording() -> None:
    async with service() as svc, client(svc) as http:
        from jsonvisor.serve.demo import demo_schemas

        svc.registry.config.schemas.update(demo_schemas())
        with trio.fail_after(60):
            await run_demo(svc.registry, speed=50, rounds=1)
            while svc.registry.live:
                await trio.sleep(0.01)
        recent = (await http.get("/messages")).json()["recent"]
        assert len(recent) == 9 and {m["state"] for m in recent} == {"completed"}
        tools = {m["name"]: m["schema"] for m in recent if m.get("kind") == "tool_call"}
        assert tools["search_flights"] == "search_flights"


@pytest.mark.parametrize("server", ["hypercorn"])
async def test_the_same_app_under_hypercorn(server: str) -> None:
    async with service(server=server) as svc, client(svc) as http:
        async with trio.open_nursery() as nursery:
            got: list[Any] = []

            async def reader() -> None:
                got.extend(await read_events(http, "/messages/h/events"))

            nursery.start_soon(reader)
            await trio.sleep(0.1)

            async def body():
                for part in [b'{"a": "x', b'yz", "b": [1', b", 2]}"]:
                    yield part

            assert (await http.post("/messages/h/chunks?end=1", content=body())).status_code == 202
        assert got[-1] == (
            "completed",
            {
                "complete": True,
                "confidence": "high",
                "repairs": [],
                "value": {"a": "xyz", "b": [1, 2]},
            },
        )
        r = await http.get("/messages/bad%2Fid")
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_id"
        assert parse_sse("event: x\ndata: 1\n\n") == [("x", 1)]
