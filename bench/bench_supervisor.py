"""Supervisor benchmark: fan-in throughput, latency, loop responsiveness, offload, memory.

Run: ``python bench/bench_supervisor.py [--backend trio|asyncio] [--quick] [--only SECTION
...] [--results PATH]``.  Prints a table per section, with every target met or not, and merges
the sections into ``bench/results.json`` (``bench/results.py``).  Everything runs in one
process, on one backend (trio by default), and the reference rate -- a bare memory
channel with a schedule point per ``await send``: trio's memory channel, or AnyIO's memory
object stream on asyncio -- is measured in the same run (on asyncio, an ``asyncio.Queue``,
whose ``put`` does not yield while there is room, is shown too).  The header says when,
where, and how loaded the machine was.

Sections:

``fanin``       1 000 concurrent messages of 10 KB, chunks of 1-8 characters sent
                round-robin; end to end (first chunk sent -> last terminal event read).
``latency``     send -> first event caused, at 10 000 chunks/s offered load.
``offload``     a 1 MB and a 20 MB document arriving as one chunk, inline / thread /
                process: time to ``Completed`` and a heartbeat task's worst lag.
``memory``      10 000 open mailboxes, beyond the parsers' own state (tracemalloc).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import gc
import importlib.metadata
import json
import os
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))

import anyio
import trio

from docs import llm_document, token_chunks
from jsonvisor.parsers import StreamingJsonParser
from jsonvisor.parsers.streaming import SPEEDUPS
from jsonvisor.supervisor import Completed, MessageEvent, is_terminal, open_supervisor
from results import Recorder

RESULTS: list[tuple[str, str, bool]] = []  # (target, measured, met)
RECORD: Recorder | None = None  # set by main()


def target(name: str, measured: str, met: bool, key: str) -> None:
    RESULTS.append((name, measured, met))
    if RECORD is not None:
        RECORD.target(key, name, measured, met)


def note(line: str) -> None:
    print(line)
    if RECORD is not None:
        RECORD.note(line.strip())


def table(title: str, header: list[str], rows: list[list[str]]) -> None:
    if RECORD is not None and not title.startswith("Targets"):
        RECORD.table(title, header, rows)
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    print(f"\n{title}")
    print("  " + "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  " + "  ".join("-" * w for w in widths))
    for row in rows:
        print("  " + "  ".join(str(c).rjust(w) for c, w in zip(row, widths, strict=True)))


# ---------------------------------------------------------------------------- fan-in


def fan_in_workload(n: int, size: int) -> tuple[list[tuple[int, str]], int]:
    """Round-robin ``(msg_id, chunk)`` order of ``n`` documents of ``size`` characters."""
    chunks = [token_chunks(llm_document(size, seed=i % 97), seed=i) for i in range(n)]
    order: list[tuple[int, str]] = []
    for r in range(max(map(len, chunks))):
        order.extend((i, c[r]) for i, c in enumerate(chunks) if r < len(c))
    return order, n


BACKEND = "trio"  # set by main()


async def bare_channel_rate(items: int) -> float:
    """Items/s through a bare memory channel between two tasks, one ``await send`` each
    (a schedule point per item, as ``Supervisor.send`` would be without its batching): a
    trio memory channel on trio, AnyIO's memory object stream on asyncio."""
    if BACKEND == "asyncio":
        return await _anyio_stream_rate(items)
    send, receive = trio.open_memory_channel[object](1024)

    async def consume() -> None:
        async for _ in receive:
            pass

    start = time.perf_counter()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(consume)
        async with send:
            for i in range(items):
                await send.send(i)
    return items / (time.perf_counter() - start)


async def _anyio_stream_rate(items: int) -> float:
    send, receive = anyio.create_memory_object_stream[object](1024)

    async def consume() -> None:
        async with receive:
            async for _ in receive:
                pass

    start = time.perf_counter()
    async with anyio.create_task_group() as tg:
        tg.start_soon(consume)
        async with send:
            for i in range(items):
                await send.send(i)
    return items / (time.perf_counter() - start)


async def _asyncio_queue_rate(items: int) -> float:
    """Items/s through an ``asyncio.Queue``: ``put`` only yields when the queue is full."""
    queue: asyncio.Queue[object] = asyncio.Queue(1024)
    end = object()

    async def consume() -> None:
        while await queue.get() is not end:
            pass

    start = time.perf_counter()
    consumer = asyncio.ensure_future(consume())
    for i in range(items):
        await queue.put(i)
    await queue.put(end)
    await consumer
    return items / (time.perf_counter() - start)


async def run_fan_in(
    order: list[tuple[int, str]], n: int, produce: Callable[[Any], Awaitable[None]], **options: Any
) -> tuple[float, int, int]:
    """Seconds from the first chunk sent to the last terminal event read; events; failures."""
    events = failures = 0
    async with open_supervisor(**options) as sup:
        done = anyio.Event()

        async def consume() -> None:
            nonlocal events, failures
            finished = 0
            async for event in sup.events():
                events += 1
                if is_terminal(event):
                    finished += 1
                    failures += not isinstance(event, Completed)
                    if finished == n:
                        done.set()

        async with anyio.create_task_group() as nursery:
            nursery.start_soon(consume)
            gc.collect()
            start = time.perf_counter()
            await produce(sup)
            for i in range(n):
                sup.end_nowait(i)
            await done.wait()
            elapsed = time.perf_counter() - start
            nursery.cancel_scope.cancel()
    return elapsed, events, failures


async def bench_fan_in(quick: bool) -> None:
    n = 200 if quick else 1000
    order, n = fan_in_workload(n, 10_000)
    total = len(order)
    # The best of three: the most demanding reference for the 70% target.
    bare = max([await bare_channel_rate(100_000 if quick else 200_000) for _ in range(3)])

    async def one_send_per_chunk(sup: Any) -> None:
        send = sup.send
        for msg_id, chunk in order:
            await send(msg_id, chunk)

    def batched(rounds: int) -> Callable[[Any], Awaitable[None]]:
        step = n * rounds

        async def produce(sup: Any) -> None:
            for k in range(0, total, step):
                await sup.send_many(order[k : k + step])

        return produce

    rows = [["bare memory channel (await send per item, best of 3)", f"{bare:,.0f}", "", "", ""]]
    if BACKEND == "asyncio":
        queue = max([await _asyncio_queue_rate(100_000 if quick else 200_000) for _ in range(3)])
        rows.append(["asyncio.Queue (put yields only when full; best of 3)", f"{queue:,.0f}"])
        rows[-1] += ["", "", ""]
    runs = [
        ("await sup.send() per chunk, defaults", one_send_per_chunk, {}),
        ("send_many, 64 rounds per call, defaults", batched(64), {}),
        ("send_many, 256 rounds per call, defaults", batched(256), {}),
        ("send_many, 64 rounds per call, mailbox_size=64", batched(64), {"mailbox_size": 64}),
    ]
    rates = {}
    for label, produce, options in runs:
        elapsed, events, failures = await run_fan_in(order, n, produce, **options)
        rates[label] = total / elapsed
        rows.append(
            [label, f"{total / elapsed:,.0f}", f"{elapsed:.2f}", f"{events:,}", str(failures)]
        )
    table(
        f"Fan-in: {n} messages x 10 KB, {total:,} chunks of 1-8 chars, round-robin, inline",
        ["producer", "chunks/s", "seconds", "events out", "failed"],
        rows,
    )
    one = rates[runs[0][0]]
    target(
        "one await send per chunk >= 70% of a bare channel",
        f"{one:,.0f}/s = {one / bare:.0%} of {bare:,.0f}/s",
        one >= 0.7 * bare,
        "send_per_chunk",
    )
    best = max(rates[runs[1][0]], rates[runs[2][0]])
    target(
        "batched (send_many) >= 500 000 chunks/s",
        f"{rates[runs[1][0]]:,.0f}/s (64 rounds), {rates[runs[2][0]]:,.0f}/s (256 rounds)",
        best >= 500_000,
        "send_many",
    )


# ---------------------------------------------------------------------------- latency


def causes_events(chunks: list[str]) -> list[bool]:
    """Whether each chunk, fed alone after the previous ones, makes the parser emit."""
    parser = StreamingJsonParser()
    return [bool(parser.feed(c)) for c in chunks]


async def bench_latency(quick: bool) -> None:
    n, rate, seconds = 1000, 10_000, (1.5 if quick else 4.0)
    total = int(rate * seconds)
    per_msg = total // n + 1
    chunks = [token_chunks(llm_document(10_000, seed=i % 97), seed=i)[:per_msg] for i in range(n)]
    emits = [causes_events(c) for c in chunks]
    order = [(i, r) for r in range(per_msg) for i in range(n)][:total]
    pending: dict[Hashable, float] = {}
    latencies: list[float] = []
    async with open_supervisor() as sup:

        async def consume() -> None:
            async for event in sup.events():
                if isinstance(event, MessageEvent):
                    sent = pending.pop(event.msg_id, None)
                    if sent is not None:
                        latencies.append(time.perf_counter() - sent)

        async with anyio.create_task_group() as nursery:
            nursery.start_soon(consume)
            clock_start = anyio.current_time()
            start = time.perf_counter()
            for k, (i, r) in enumerate(order):
                await anyio.sleep_until(clock_start + k / rate)
                if emits[i][r]:
                    pending[i] = time.perf_counter()
                await sup.send(i, chunks[i][r])
            achieved = total / (time.perf_counter() - start)
            await anyio.sleep(0.05)
            nursery.cancel_scope.cancel()
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1e6

    buckets = [25, 50, 100, 200, 500, 1000, 2000, float("inf")]
    counts = []
    lo = 0.0
    for b in buckets:
        counts.append(sum(1 for x in latencies if lo <= x * 1e6 < b))
        lo = b
    rows = [
        [
            f"< {b:g} us" if b != float("inf") else ">= 2000 us",
            f"{c:,}",
            f"{c / len(latencies):.1%}",
        ]
        for b, c in zip(buckets, counts, strict=True)
    ]
    table(
        f"Latency send -> first event: {n} messages, offered {rate:,} chunks/s for {seconds} s "
        f"(achieved {achieved:,.0f}/s), {len(latencies):,} samples",
        ["bucket", "count", "share"],
        rows,
    )
    note(
        f"  p50 {pct(0.5):.0f} us, p90 {pct(0.9):.0f} us, p99 {pct(0.99):.0f} us, "
        f"p99.9 {pct(0.999):.0f} us, max {latencies[-1] * 1e6:.0f} us"
    )
    target(
        "p99 send -> first event < 1 ms at 10 000 chunks/s",
        f"p99 {pct(0.99):.0f} us",
        pct(0.99) < 1000,
        "latency_p99",
    )


# ---------------------------------------------------------------------------- offload


def big_document(megabytes: int) -> str:
    """A compact LLM-like document of about ``megabytes`` MB (built from a 1 MB one)."""
    base = json.loads(llm_document(1_000_000, seed=5))
    items = base["results"]
    out = dict(base)
    reps = max(1, round(megabytes * 1_000_000 / len(json.dumps(base, ensure_ascii=False))))
    out["results"] = [dict(item, id=i) for i, item in enumerate(items * reps)]
    return json.dumps(out, ensure_ascii=False)


def parser_factory(msg_id: Hashable) -> StreamingJsonParser:
    return StreamingJsonParser(max_bytes=64 * 1024 * 1024)


async def one_big_document(doc: str, mode: str, **options: Any) -> dict[str, float]:
    """Send ``doc`` as one chunk; time to Completed and the heartbeat's worst lag."""
    period = 0.002
    lags: list[float] = []
    after: list[float] = []
    measuring = True
    async with open_supervisor(parser_factory, offload=mode, fan_in=False, **options) as sup:

        async def heartbeat() -> None:
            while True:
                t = anyio.current_time()
                await anyio.sleep(period)
                lag = anyio.current_time() - t - period
                (lags if measuring else after).append(lag)

        async with anyio.create_task_group() as nursery:
            nursery.start_soon(heartbeat)
            await anyio.sleep(0.05)
            lags.clear()
            start = time.perf_counter()
            await sup.send("doc", doc)
            await sup.end("doc")
            result = await sup.result("doc")
            elapsed = time.perf_counter() - start
            measuring = False
            assert result.complete
            await anyio.sleep(1.0)  # the value is still alive: does a deferred GC pause hit?
            nursery.cancel_scope.cancel()
    return {
        "seconds": elapsed,
        "worst": max(lags, default=0.0),
        "worst_after": max(after) if after else 0.0,
        "ticks": len(lags),
    }


async def bench_offload(quick: bool) -> None:
    sizes = [1] if quick else [1, 20]
    rows = []
    worst_default = None
    for mb in sizes:
        doc = big_document(mb)
        configs: list[tuple[str, str, dict[str, Any]]] = [
            ("inline", "inline (default)", {}),
            ("thread", "thread", {}),
            ("process", "process", {}),
            ("inline", "inline, defer_gc=False", {"defer_gc": False}),
        ]
        if mb == 1:
            configs.append(("inline", "inline, one slice (no slicing)", {"slice_size": 1 << 30}))
        for mode, label, options in configs:
            # Warm up (thread pool, worker process) with a small document first.
            await one_big_document(llm_document(50_000), mode, offload_threshold=10_000)
            gc.collect()
            runs = [await one_big_document(doc, mode, **options) for _ in range(1 if mb > 1 else 3)]
            r = min(runs, key=lambda x: x["worst"])
            rows.append(
                [
                    f"{len(doc.encode()) / 1e6:.1f} MB",
                    label,
                    f"{statistics.median(x['seconds'] for x in runs) * 1e3:.0f}",
                    f"{r['worst'] * 1e3:.1f}",
                    f"{r['worst_after'] * 1e3:.1f}",
                ]
            )
            if mb == sizes[-1] and label.startswith("inline (default)"):
                worst_default = r["worst"]
    table(
        "Offload: one document arriving as one chunk (slice_size 64 KiB, offload_threshold "
        "1 MiB); heartbeat every 2 ms",
        ["document", "mode", "ms to Completed", "worst lag ms", "worst lag in the next 1 s"],
        rows,
    )
    assert worst_default is not None
    target(
        f"worst heartbeat lag <= 20 ms, {sizes[-1]} MB as one chunk, default settings",
        f"{worst_default * 1e3:.1f} ms",
        worst_default <= 0.020,
        "heartbeat_lag",
    )


# ---------------------------------------------------------------------------- memory


async def bench_memory(quick: bool) -> None:
    n = 2_000 if quick else 10_000
    chunk = '{"title": "Hel'
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    parsers = [StreamingJsonParser() for _ in range(n)]
    for p in parsers:
        p.feed(chunk)
    parsers_only = tracemalloc.get_traced_memory()[0] - base
    del parsers, p
    gc.collect()
    base = tracemalloc.get_traced_memory()[0]
    async with open_supervisor(fan_in=False) as sup:
        await sup.send_many([(i, chunk) for i in range(n)])
        while sup.stats().queued_chunks:  # every parser has taken its chunk
            await anyio.sleep(0.01)
        assert sup.stats().open_mailboxes == n
        gc.collect()
        total = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    beyond = total - parsers_only
    table(
        f"Memory: {n:,} open mailboxes, one chunk each (tracemalloc)",
        ["what", "MB", "bytes per message"],
        [
            ["parsers alone", f"{parsers_only / 1e6:.1f}", f"{parsers_only / n:,.0f}"],
            ["supervisor with those messages", f"{total / 1e6:.1f}", f"{total / n:,.0f}"],
            ["beyond the parsers", f"{beyond / 1e6:.1f}", f"{beyond / n:,.0f}"],
        ],
    )
    scaled = beyond / n * 10_000
    target(
        "10 000 open mailboxes <= 30 MB beyond the parsers",
        f"{scaled / 1e6:.1f} MB" + ("" if n == 10_000 else f" (scaled from {n:,})"),
        scaled <= 30e6,
        "memory",
    )


SECTIONS = {
    "fanin": bench_fan_in,
    "latency": bench_latency,
    "offload": bench_offload,
    "memory": bench_memory,
}


async def main(quick: bool, only: list[str], backend: str, results: str | None) -> None:
    global BACKEND, RECORD
    BACKEND = backend
    lib = f"trio {trio.__version__}" if backend == "trio" else "asyncio"
    RECORD = Recorder(
        f"supervisor-{backend}",
        setup=f"{lib}, anyio {importlib.metadata.version('anyio')}, "
        + ("C accelerator" if SPEEDUPS else "pure-Python parser"),
        quick=quick,
        path=results,
    )
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"jsonvisor supervisor benchmark on {backend} - {datetime.date.today()}, "
        f"{platform.machine()} {platform.system()}, Python {platform.python_version()}, "
        f"{lib}, anyio {importlib.metadata.version('anyio')}, "
        f"{os.cpu_count()} CPUs, load average {load} at start{' (quick)' if quick else ''}"
    )
    for name, fn in SECTIONS.items():
        if not only or name in only:
            RECORD.section(name)
            await fn(quick)
    table(
        f"Targets ({backend})",
        ["target", "measured", "met"],
        [[t, m, "yes" if ok else "NO"] for t, m, ok in RESULTS],
    )
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\nload average {load} at the end")
    RECORD.save()


if __name__ == "__main__":  # (process offload workers re-import this module)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller workloads")
    parser.add_argument("--only", nargs="*", default=[], choices=sorted(SECTIONS))
    parser.add_argument("--backend", choices=["trio", "asyncio"], default="trio")
    parser.add_argument(
        "--results",
        help="merge into this results file (default: bench/results.json; --quick: none)",
    )
    args = parser.parse_args()
    anyio.run(main, args.quick, args.only, args.backend, args.results, backend=args.backend)
