"""``jsonvisor serve`` benchmark: ingest over HTTP against in-process ``send``, event latency
from ingest to a subscriber's event stream at 1,000 live messages, memory per idle
connection; for both servers (jsonvisor's h11 server and hypercorn's trio worker).

Run: ``python bench/bench_serve.py [--quick] [--server h11|hypercorn|both] [--markdown PATH]
[--results PATH]``; the tables are merged into ``bench/results.json`` (``bench/results.py``).

The service runs in a subprocess (``python -m jsonvisor serve --port 0``); the clients are
raw keep-alive sockets in this process (no HTTP client library in the way).  Every figure
is one run on the machine it ran on; the same bytes go to every contender.

Sections:

``ingest``   200 messages x 20 KB of LLM-like JSON in 1-8 character chunks: in-process
             ``await sup.send`` per chunk; over HTTP, one streamed (chunked) request per
             message with each chunk an HTTP chunk, 50 requests at once; and one request
             per chunk (a smaller run: that is the per-request cost).
``latency``  1,000 live messages, each with an event stream open; probe chunks are POSTed
             at 500/s spread over the messages, and the time from just before the POST to
             the ``string_grew`` event carrying them on the subscriber's socket is measured.
``memory``   the service's RSS before and after 1,000 idle keep-alive connections (after
             one request each), then 1,000 idle event streams (subscribed, no events).
``stall``    SIGTERM with one event stream whose client stopped reading: time to exit.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import signal
import statistics
import subprocess
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))

import trio

from docs import llm_document, token_chunks
from jsonvisor.supervisor import open_supervisor
from results import Recorder

TABLES: list[str] = []
RECORD: Recorder | None = None  # set by main()


def table(title: str, header: list[str], rows: list[list[Any]]) -> None:
    if RECORD is not None:
        RECORD.table(title, header, rows)
    lines = [f"**{title}**", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        lines.append("| " + " | ".join(str(c) for c in row) + " |")
    text = "\n".join(lines)
    TABLES.append(text)
    print(text + "\n", flush=True)


# -- the service in a subprocess -------------------------------------------------------------


class Service:
    def __init__(self, server: str, *extra: str) -> None:
        self.server = server
        self.extra = extra
        self.proc: trio.Process | None = None
        self.port = 0

    async def __aenter__(self) -> Service:
        self.proc = await trio.lowlevel.open_process(
            [
                sys.executable,
                "-m",
                "jsonvisor",
                "serve",
                "--port",
                "0",
                "--server",
                self.server,
                "--max-connections",
                "20000",
                "--max-messages",
                "20000",
                *self.extra,
            ],
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        text = b""
        with trio.fail_after(30):
            while (m := re.search(rb"http://127\.0\.0\.1:(\d+)", text)) is None:
                data = await self.proc.stderr.receive_some(4096)  # type: ignore[union-attr]
                if not data:
                    raise RuntimeError(text.decode())
                text += data
        self.port = int(m.group(1))
        return self

    def rss(self) -> int:
        assert self.proc is not None
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0

    async def __aexit__(self, *exc: object) -> None:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            with trio.move_on_after(20):
                await self.proc.wait()
            if self.proc.returncode is None:
                self.proc.kill()
                await self.proc.wait()


def get_bytes(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()


class Conn:
    """A raw keep-alive HTTP/1.1 connection (opened again when the server closes it)."""

    def __init__(self, stream: trio.SocketStream, port: int) -> None:
        self.stream = stream
        self.port = port
        self.buf = b""
        self.closing = False

    @classmethod
    async def open(cls, port: int) -> Conn:
        return cls(await trio.open_tcp_stream("127.0.0.1", port), port)

    async def request(self, method: str, path: str, body: bytes = b"") -> int:
        if self.closing:  # the server said it closes this one (hypercorn: every 1000)
            await self.stream.aclose()
            self.stream = await trio.open_tcp_stream("127.0.0.1", self.port)
            self.buf = b""
            self.closing = False
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n\r\n"
        await self.stream.send_all(head.encode() + body)
        return await self.response()

    async def response(self) -> int:
        while b"\r\n\r\n" not in self.buf:
            data = await self.stream.receive_some(65536)
            if not data:
                raise EOFError
            self.buf += data
        head, _, rest = self.buf.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        self.closing = re.search(rb"(?i)\r\nconnection: *close", head) is not None
        length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
        while len(rest) < length:
            rest += await self.stream.receive_some(65536)
        self.buf = rest[length:]
        return status


# -- ingest -----------------------------------------------------------------------------------


def workload(messages: int, size: int) -> list[list[bytes]]:
    doc = llm_document(size)
    return [[c.encode() for c in token_chunks(doc, seed=i)] for i in range(messages)]


async def ingest_in_process(chunks: list[list[bytes]]) -> float:
    async with open_supervisor({"lenient": True}, fan_in=False) as sup:
        start = time.perf_counter()
        cursors = [iter(p) for p in chunks]
        live = list(range(len(chunks)))
        while live:
            still = []
            for i in live:
                chunk = next(cursors[i], None)
                if chunk is None:
                    await sup.end(f"m{i}")
                else:
                    await sup.send(f"m{i}", chunk)
                    still.append(i)
            live = still
        for i in range(len(chunks)):
            await sup.result(f"m{i}")
        return time.perf_counter() - start


async def ingest_streamed(port: int, chunks: list[list[bytes]], at_once: int) -> float:
    limiter = trio.CapacityLimiter(at_once)

    async def one(i: int, parts: list[bytes]) -> None:
        async with limiter:
            conn = await Conn.open(port)
            head = (
                f"POST /messages/s{i}/chunks?end=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                "Transfer-Encoding: chunked\r\n\r\n"
            ).encode()
            framed = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts)
            await conn.stream.send_all(head)
            for k in range(0, len(framed), 16384):  # as a producer writes it
                await conn.stream.send_all(framed[k : k + 16384])
            await conn.stream.send_all(b"0\r\n\r\n")
            assert await conn.response() == 202
            await conn.stream.aclose()

    start = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for i, parts in enumerate(chunks):
            nursery.start_soon(one, i, parts)
    # wait until every message has finished (the last one's end went in)
    conn = await Conn.open(port)
    for i in range(len(chunks)):
        assert await conn.request("GET", f"/messages/s{i}?wait=60") == 200
    return time.perf_counter() - start


async def ingest_per_request(port: int, chunks: list[list[bytes]], connections: int) -> float:
    conns = [await Conn.open(port) for _ in range(connections)]

    async def worker(k: int) -> None:
        for i in range(k, len(chunks), connections):
            for part in chunks[i]:
                assert await conns[k].request("POST", f"/messages/r{i}/chunks", part) == 202
            assert await conns[k].request("POST", f"/messages/r{i}/end") in (200, 202)

    start = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for k in range(connections):
            nursery.start_soon(worker, k)
    return time.perf_counter() - start


# -- latency ----------------------------------------------------------------------------------


async def latency(port: int, live: int, probes: int, rate: float) -> dict[str, float]:
    arrived: dict[int, float] = {}
    ready = 0
    marker = re.compile(rb"~(\d+)~")

    async def subscriber(i: int, task_status: trio.TaskStatus[None]) -> None:
        nonlocal ready
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        await stream.send_all(get_bytes(f"/messages/l{i}/events"))
        buf = b""
        task_status.started()
        while True:
            data = await stream.receive_some(65536)
            if not data:
                return
            now = time.perf_counter()
            buf += data
            cut = buf.rfind(b"\n\n")
            if cut < 0:
                continue
            for m in marker.finditer(buf, 0, cut):
                arrived.setdefault(int(m.group(1)), now)
            buf = buf[cut + 2 :]

    async with trio.open_nursery() as nursery:
        for i in range(live):
            await nursery.start(subscriber, i)
        producers = [await Conn.open(port) for _ in range(32)]
        for i in range(live):
            assert (
                await producers[i % 32].request("POST", f"/messages/l{i}/chunks", b'{"log": "')
                == 202
            )
        await trio.sleep(0.5)
        sent: dict[int, float] = {}
        free = trio.Semaphore(32)
        idle = list(range(32))

        async def probe(seq: int) -> None:
            async with free:
                k = idle.pop()
                try:
                    sent[seq] = time.perf_counter()
                    body = f"~{seq}~".encode()
                    assert (
                        await producers[k].request("POST", f"/messages/l{seq % live}/chunks", body)
                        == 202
                    )
                finally:
                    idle.append(k)

        async with trio.open_nursery() as probing:
            interval = 1.0 / rate
            next_at = time.perf_counter()
            for seq in range(probes):
                probing.start_soon(probe, seq)
                next_at += interval
                await trio.sleep(max(0.0, next_at - time.perf_counter()))
        with trio.move_on_after(10):
            while len(arrived) < probes:
                await trio.sleep(0.05)
        nursery.cancel_scope.cancel()
    lat = sorted((arrived[s] - sent[s]) * 1000 for s in sent if s in arrived)
    q = statistics.quantiles(lat, n=100)
    return {"n": len(lat), "lost": probes - len(lat), "p50": q[49], "p99": q[98], "max": lat[-1]}


# -- memory -----------------------------------------------------------------------------------


async def memory(svc: Service, n: int) -> tuple[float, float]:
    await trio.sleep(0.5)
    base = svc.rss()
    idle = [await Conn.open(svc.port) for _ in range(n)]
    for c in idle:
        assert await c.request("GET", "/stats") == 200
    await trio.sleep(0.5)
    with_idle = svc.rss()
    streams = []
    for i in range(n):
        s = await trio.open_tcp_stream("127.0.0.1", svc.port)
        await s.send_all(get_bytes(f"/messages/idle{i}/events"))
        streams.append(s)
    for s in streams:  # until its snapshot came
        data = b""
        while b"event: snapshot" not in data:
            data += await s.receive_some(65536)
    await trio.sleep(0.5)
    with_streams = svc.rss()
    for c in idle:
        await c.stream.aclose()
    for s in streams:
        await s.aclose()
    return (with_idle - base) / n, (with_streams - with_idle) / n


# -- a stalled subscriber at shutdown ---------------------------------------------------------


async def stall(server: str) -> float:
    async with Service(server, "--grace", "3", "--write-timeout", "2") as svc:
        sock = trio.socket.socket()
        sock.setsockopt(trio.socket.SOL_SOCKET, trio.socket.SO_RCVBUF, 4096)
        await sock.connect(("127.0.0.1", svc.port))
        stalled = trio.SocketStream(sock)
        await stalled.send_all(b"GET /messages/st/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        conn = await Conn.open(svc.port)
        await conn.request("POST", "/messages/st/chunks", b'{"s": "')
        for _ in range(300):  # 3 MB of events the stalled client never reads
            await conn.request("POST", "/messages/st/chunks", b"x" * 10_000)
        start = time.perf_counter()
        assert svc.proc is not None
        svc.proc.send_signal(signal.SIGTERM)
        with trio.move_on_after(30):
            await svc.proc.wait()
        elapsed = time.perf_counter() - start
        if svc.proc.returncode is None:
            elapsed = float("inf")
        await stalled.aclose()
        return elapsed


# -- main -------------------------------------------------------------------------------------


async def main(args: argparse.Namespace) -> None:
    global RECORD
    servers = ["h11", "hypercorn"] if args.server == "both" else [args.server]
    quick = args.quick
    RECORD = Recorder("serve", setup=f"trio {trio.__version__}", quick=quick, path=args.results)
    RECORD.section("serve" if args.server == "both" else f"serve-{args.server}")
    n_msg, size = (50, 10_000) if quick else (200, 20_000)
    chunks = workload(n_msg, size)
    n_chunks = sum(len(c) for c in chunks)
    n_bytes = sum(len(p) for c in chunks for p in c)
    small = chunks[: (5 if quick else 20)]
    small_chunks = sum(len(c) for c in small)
    print(
        f"# jsonvisor serve benchmark ({platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, trio {trio.__version__})\n"
    )
    t = await ingest_in_process(chunks)
    rows = [
        [
            "in-process `await sup.send` per chunk",
            "-",
            f"{n_chunks / t:,.0f}",
            f"{n_bytes / t / 1e6:.1f}",
            "1.00x",
        ]
    ]
    base = n_chunks / t
    results: dict[str, dict[str, Any]] = {}
    for server in servers:
        res: dict[str, Any] = {}
        async with Service(server) as svc:
            t = await ingest_streamed(svc.port, chunks, 50)
            rows.append(
                [
                    f"HTTP, one streamed request per message ({n_msg}, 50 at once)",
                    server,
                    f"{n_chunks / t:,.0f}",
                    f"{n_bytes / t / 1e6:.1f}",
                    f"{n_chunks / t / base:.2f}x",
                ]
            )
            res["streamed"] = n_chunks / t
            t = await ingest_per_request(svc.port, small, 32)
            rows.append(
                [
                    "HTTP, one request per chunk (32 keep-alive connections)",
                    server,
                    f"{small_chunks / t:,.0f}",
                    f"{sum(len(p) for c in small for p in c) / t / 1e6:.2f}",
                    f"{small_chunks / t / base:.3f}x",
                ]
            )
            res["per_request"] = small_chunks / t
        async with Service(server) as svc:
            res["latency"] = await latency(svc.port, 1000, 1000 if quick else 3000, 500)
        async with Service(server) as svc:
            res["memory"] = await memory(svc, 1000)
        res["stall"] = await stall(server)
        results[server] = res
    table(
        f"Ingest: {n_msg} messages x {size // 1000} KB in 1-8 character chunks "
        f"({n_chunks:,} chunks, {n_bytes / 1e6:.1f} MB; per request: {small_chunks:,} chunks)",
        ["path", "server", "chunks/s", "MB/s", "vs in-process"],
        rows,
    )
    table(
        "Event latency, ingest (POST) to the subscriber's socket (string_grew), 1,000 live "
        "messages each with an event stream, probes at 500/s",
        ["server", "probes", "p50 ms", "p99 ms", "max ms", "lost"],
        [
            [
                s,
                r["latency"]["n"],
                f"{r['latency']['p50']:.2f}",
                f"{r['latency']['p99']:.2f}",
                f"{r['latency']['max']:.1f}",
                r["latency"]["lost"],
            ]
            for s, r in results.items()
        ],
    )
    table(
        "Memory per idle connection (service RSS, 1,000 of each)",
        ["server", "idle keep-alive connection", "idle event stream (a waiting message)"],
        [
            [s, f"{r['memory'][0] / 1024:.1f} KB", f"{r['memory'][1] / 1024:.1f} KB"]
            for s, r in results.items()
        ],
    )
    table(
        "SIGTERM (grace 3 s) with one event stream whose client stopped reading",
        ["server", "seconds to exit"],
        [
            [
                s,
                "did not exit in 30 s (killed)"
                if r["stall"] == float("inf")
                else f"{r['stall']:.2f}",
            ]
            for s, r in results.items()
        ],
    )
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write("\n\n".join(TABLES) + "\n")
    RECORD.save()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller runs")
    ap.add_argument("--server", choices=["h11", "hypercorn", "both"], default="both")
    ap.add_argument("--markdown", help="also write the tables to this file")
    ap.add_argument(
        "--results",
        help="merge into this results file (default: bench/results.json; --quick: none)",
    )
    random.seed(0)
    trio.run(main, ap.parse_args())
