"""Cluster benchmark: in-process supervisor vs worker actors on the fan-in workload.

Workload: 1 000 messages of ~10 KB of LLM-like JSON, split into token-sized chunks (1-8
characters), sent round-robin by one producer task (all messages open at once) while one
consumer task drains ``events()``; timed from the first chunk to the last terminal event.

Runs in the actors environment (tractor 0.1.0a5 needs trio 0.23.x):

    scripts/actors_env.sh --co -q >/dev/null; .venv-actors/bin/python bench/bench_cluster.py

Options: ``--messages N`` (1000), ``--size BYTES`` (10000), ``--workers 1,2,4``,
``--results PATH`` (default ``bench/results.json``, where the tables and targets of a run with
the default workload are merged; see ``bench/results.py``).

Besides chunks/s it reports the events the consumer got, the CPU seconds of the root
process (for the in-process run: of the one process) and of the workers (read from
``/proc``, Linux), and the root side of IPC: batches each way, coalesced operations and
KB per batch out, and the wall time per batch out (pickling plus ``send``, which includes
waiting for the socket while the worker reads), and per batch in (unpickling and delivering,
which includes waiting for room in the fan-in).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import trio

sys.path.insert(0, str(Path(__file__).parent))

from docs import llm_document, token_chunks
from jsonvisor.supervisor import TERMINAL_EVENTS, Completed, open_supervisor
from results import Recorder

try:
    from jsonvisor.cluster import open_cluster
except ImportError:  # pragma: no cover
    open_cluster = None  # type: ignore[assignment]


def workload(messages: int, size: int, chunk: int = 0) -> tuple[list[str], dict[str, list[str]]]:
    """Message IDs and their chunks (20 distinct documents, reused); ``chunk`` > 0 cuts
    fixed-size chunks instead of token-sized ones."""
    docs = [llm_document(size, seed=s) for s in range(20)]
    if chunk:
        distinct = [[d[i : i + chunk] for i in range(0, len(d), chunk)] for d in docs]
    else:
        distinct = [token_chunks(d, seed=s) for s, d in enumerate(docs)]
    ids = [f"msg-{i}" for i in range(messages)]
    return ids, {mid: distinct[i % 20] for i, mid in enumerate(ids)}


async def drive(
    target: Any, ids: list[str], chunks: dict[str, list[str]], kill: Any = None
) -> float:
    """Send everything round-robin, drain events; seconds until the last terminal event."""
    done = 0
    completed = 0
    all_done = trio.Event()

    async def consume() -> None:
        nonlocal done, completed
        async for event in target.events():
            if isinstance(event, TERMINAL_EVENTS):
                done += 1
                completed += isinstance(event, Completed)
                if done == len(ids):
                    all_done.set()
                    return

    rounds = max(len(c) for c in chunks.values())
    start = time.perf_counter()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(consume)
        send = target.send
        for r in range(rounds):
            for mid in ids:
                c = chunks[mid]
                if r < len(c):
                    await send(mid, c[r])
            if kill is not None and r == rounds // 3:
                kill()
        for mid in ids:
            await target.end(mid)
        await all_done.wait()
    elapsed = time.perf_counter() - start
    if completed != len(ids):
        raise RuntimeError(f"only {completed} of {len(ids)} messages completed")
    return elapsed


PARSER: dict[str, Any] = {}


def _factory(msg_id: Any) -> Any:
    from jsonvisor import StreamingJsonParser

    return StreamingJsonParser(**PARSER)


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid`` (None if /proc cannot tell)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


class Run:
    """One measured run: seconds, events delivered, CPU seconds, cluster stats."""

    def __init__(self, elapsed: float, events: int, root_cpu: float, worker_cpu: Any, stats: Any):
        self.elapsed = elapsed
        self.events = events
        self.root_cpu = root_cpu
        self.worker_cpu = worker_cpu
        self.stats = stats


async def run_inprocess(ids: list[str], chunks: dict[str, list[str]]) -> Run:
    async with open_supervisor(_factory) as sup:
        cpu = time.process_time()
        elapsed = await drive(sup, ids, chunks)
        cpu = time.process_time() - cpu
        return Run(elapsed, sup.stats().events_out, cpu, None, None)


async def run_cluster(
    workers: int, ids: list[str], chunks: dict[str, list[str]], kill: bool = False
) -> Run:
    assert open_cluster is not None
    async with open_cluster(workers=workers, parser=dict(PARSER)) as cluster:

        def kill_first() -> None:
            os.kill(cluster.stats().per_worker[0].pid, signal.SIGKILL)

        pids = [w.pid for w in cluster.stats().per_worker]
        before = [_cpu_seconds(p) for p in pids]
        cpu = time.process_time()
        elapsed = await drive(cluster, ids, chunks, kill_first if kill else None)
        cpu = time.process_time() - cpu
        after = [_cpu_seconds(p) for p in pids]
        worker_cpu = None
        if not kill and None not in before and None not in after:
            worker_cpu = sum(after) - sum(before)  # type: ignore[arg-type]
        stats = cluster.stats()
        return Run(elapsed, stats.events_out, cpu, worker_cpu, stats)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=1000)
    ap.add_argument("--size", type=int, default=10_000)
    ap.add_argument("--workers", default="1,2,4")
    ap.add_argument("--chunk", type=int, default=0, help="fixed chunk size (default: tokens)")
    ap.add_argument("--lenient", action="store_true", help="LLM mode parsers (more parse work)")
    ap.add_argument("--no-kill", action="store_true", help="skip the recovery measurement")
    ap.add_argument("--results", help="merge into this results file (default: bench/results.json)")
    args = ap.parse_args()
    if args.lenient:
        PARSER["lenient"] = True
    if open_cluster is None:
        print("bench_cluster: skipped (needs the actors extra: scripts/actors_env.sh)")
        return 0
    try:
        from jsonvisor.cluster._tractor import import_tractor

        import_tractor()
    except ImportError as exc:
        print(f"bench_cluster: skipped ({exc})")
        return 0
    ids, chunks = workload(args.messages, args.size, args.chunk)
    total = sum(len(c) for c in chunks.values())
    nbytes = sum(len("".join(c).encode()) for c in chunks.values())
    cores = os.cpu_count() or 1
    print(
        f"fan-in: {len(ids)} messages x {nbytes / len(ids) / 1000:.1f} KB, "
        f"{total:,} {'token' if not args.chunk else f'{args.chunk}-char'} chunks"
        f"{', lenient parsers' if args.lenient else ''}, {cores} cores, trio {trio.__version__}"
    )
    default = (args.messages, args.size, args.chunk, args.lenient) == (1000, 10_000, 0, False)
    record = Recorder(
        "cluster", setup=f"trio {trio.__version__}", quick=not default, path=args.results
    )
    record.section("fanin")
    anchor = trio.run(run_inprocess, ids, chunks)
    base = anchor.elapsed
    rows = [("in-process supervisor", anchor)]
    for n in (int(x) for x in args.workers.split(",")):
        run = trio.run(run_cluster, n, ids, chunks)
        label = f"cluster, {n} worker{'s' if n > 1 else ''}"
        if n > cores:
            label += f" (oversubscribed: {n + 1} processes on {cores} cores)"
        rows.append((label, run))
    print(
        f"{'':56} {'seconds':>7} {'chunks/s':>10} {'vs in-proc':>10} {'events':>8} "
        f"{'root CPU':>8} {'workers CPU':>11}"
    )
    for label, run in rows:
        wcpu = f"{run.worker_cpu:10.2f}s" if run.worker_cpu is not None else f"{'-':>11}"
        print(
            f"{label:56} {run.elapsed:7.2f} {total / run.elapsed:10,.0f} "
            f"{base / run.elapsed:9.2f}x {run.events:8,} {run.root_cpu:7.2f}s {wcpu}"
        )
    print()
    print(
        f"{'IPC (root side)':22} {'batches out':>11} {'ops/batch':>9} {'KB/batch':>8} "
        f"{'ms/batch':>8} {'batches in':>10} {'events/batch':>12} {'us/batch in':>11}"
    )
    for label, run in rows[1:]:
        s = run.stats
        print(
            f"{label.split(' (')[0]:22} {s.ipc_batches_out:11,} {s.ops_per_batch:9.1f} "
            f"{s.ipc_bytes_out / max(1, s.ipc_batches_out) / 1024:8.1f} "
            f"{s.ipc_cost_per_batch * 1e3:8.1f} {s.ipc_batches_in:10,} "
            f"{s.ipc_items_in / max(1, s.ipc_batches_in):12.1f} "
            f"{s.ipc_recv_seconds / max(1, s.ipc_batches_in) * 1e6:11.0f}"
        )
    record.table(
        f"Fan-in: {len(ids)} messages x {nbytes / len(ids) / 1000:.1f} KB, {total:,} chunks",
        ["", "seconds", "chunks/s", "vs in-process", "events", "root CPU", "workers CPU"],
        [
            [
                label,
                f"{run.elapsed:.2f}",
                f"{total / run.elapsed:,.0f}",
                f"{base / run.elapsed:.2f}x",
                f"{run.events:,}",
                f"{run.root_cpu:.2f} s",
                f"{run.worker_cpu:.2f} s" if run.worker_cpu is not None else "-",
            ]
            for label, run in rows
        ],
    )
    record.table(
        "IPC (root side)",
        ["", "batches out", "ops/batch", "KB/batch", "ms/batch", "batches in", "events/batch"],
        [
            [
                label.split(" (")[0],
                f"{run.stats.ipc_batches_out:,}",
                f"{run.stats.ops_per_batch:.1f}",
                f"{run.stats.ipc_bytes_out / max(1, run.stats.ipc_batches_out) / 1024:.1f}",
                f"{run.stats.ipc_cost_per_batch * 1e3:.1f}",
                f"{run.stats.ipc_batches_in:,}",
                f"{run.stats.ipc_items_in / max(1, run.stats.ipc_batches_in):.1f}",
            ]
            for label, run in rows[1:]
        ],
    )
    two = next((run.elapsed for label, run in rows if label.startswith("cluster, 2 ")), None)
    if two is not None:
        ratio = base / two
        verdict = "met" if ratio >= 1.6 else "MISSED"
        target = "target: cluster with 2 workers >= 1.6x in-process chunks/s"
        print(f"\n{target}: {ratio:.2f}x ({verdict})")
        record.target(
            "two_workers",
            "cluster with 2 workers >= 1.6x in-process chunks/s",
            f"{ratio:.2f}x",
            ratio >= 1.6,
        )
    if args.no_kill:
        record.save()
        return 0
    run = trio.run(run_cluster, 2, ids, chunks, True)
    stats = run.stats
    print(
        f"kill -9 of a worker a third of the way in (2 workers): all {len(ids)} messages "
        f"completed in {run.elapsed:.2f} s; {stats.messages_replayed} replayed; "
        f"time to recover (detection -> replacement ready, input replayed): "
        f"{stats.last_recovery * 1000:.0f} ms"
    )
    record.target(
        "recovery",
        "kill -9 of one of 2 workers a third of the way in: every message completes",
        f"all {len(ids):,} completed, {stats.messages_replayed} replayed, "
        f"{stats.last_recovery * 1000:.0f} ms from detection to the replacement ready",
        True,
    )
    record.save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
