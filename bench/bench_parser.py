"""Parser benchmark: jsonvisor vs re-parsing anchors, in one process run.

Run: ``make bench`` (or ``python bench/bench_parser.py [--quick]``).  Prints a table of
times and ratios against the anchors measured in the same run, and each target met or not.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator

sys.path.insert(0, os.path.dirname(__file__))

import ujson

from docs import llm_document, token_chunks
from jsonvisor.parsers import StreamingJsonParser
from jsonvisor.parsers.streaming import SPEEDUPS

try:
    import jiter
except ImportError:  # pragma: no cover - the dev extra installs it
    jiter = None
try:
    import partial_json_parser
except ImportError:  # pragma: no cover
    partial_json_parser = None

SIZES = {"1 KB": 1_000, "10 KB": 10_000, "100 KB": 100_000, "1 MB": 1_000_000}


def best_of(fn: Callable[[], object], repeat: int) -> float:
    """Best wall time of ``repeat`` runs, in seconds (GC off while timing)."""
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        try:
            t = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t)
        finally:
            gc.enable()
    return best


def jsonvisor_tokens(chunks: list[str], **options: bool) -> object:
    """Feed token chunks and take the partial value after every one."""
    p = StreamingJsonParser(**options)
    feed = p.feed
    snap = p.snapshot
    for c in chunks:
        feed(c)
        snap()
    return p.finish().value


def jsonvisor_feed_only(chunks: list[str]) -> object:
    p = StreamingJsonParser()
    feed = p.feed
    for c in chunks:
        feed(c)
    return p.finish().value


def jiter_reparse(chunks: list[str]) -> object:
    buf = b""
    value = None
    for c in chunks:
        buf += c.encode()
        value = jiter.from_json(buf, partial_mode="trailing-strings")
    return value


def pjp_reparse(chunks: list[str]) -> object:
    buf = ""
    value = None
    for c in chunks:
        buf += c
        try:
            value = partial_json_parser.loads(buf)
        except Exception:  # it raises on some prefixes (e.g. a lone '-')
            pass
    return value


def fixed(doc: str, size: int) -> list[str]:
    return [doc[i : i + size] for i in range(0, len(doc), size)]


def row(name: str, t: float, anchor: float | None, target: str = "", ok: bool | None = None) -> str:
    ratio = f"{t / anchor:8.2f}x" if anchor else " " * 9
    verdict = "" if ok is None else ("met" if ok else "MISSED")
    return f"| {name:<48} | {t * 1e3:10.2f} ms | {ratio} | {target:<22} | {verdict:<6} |"


def ndjson_stream(total: int, chunk: int) -> Iterator[str]:
    """About ``total`` characters of NDJSON in ``chunk``-sized pieces, generated lazily."""
    docs = [llm_document(10_000, seed=s) + "\n" for s in range(20)]
    buf = ""
    made = 0
    i = 0
    while made < total:
        while len(buf) < chunk:
            buf += docs[i % len(docs)]
            i += 1
        yield buf[:chunk]
        made += chunk
        buf = buf[chunk:]


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def bench_ndjson(total: int) -> tuple[float, int, int, int]:
    p = StreamingJsonParser(multiple_values=True)
    gc.collect()
    start = rss_bytes()
    peak = start
    count = 0
    t = time.perf_counter()
    for i, chunk in enumerate(ndjson_stream(total, 65536)):
        p.feed(chunk)
        while p.has_complete_object():
            p.get()
            count += 1
        if i % 16 == 0:
            peak = max(peak, rss_bytes())
    elapsed = time.perf_counter() - t
    return elapsed, peak - start, count, total


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="skip the slowest anchors")
    args = ap.parse_args()
    print(
        f"# jsonvisor parser benchmark, {time.strftime('%Y-%m-%d')}, "
        f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"parser: {'C accelerator' if SPEEDUPS else 'pure Python (JSONVISOR_PURE=1 or not built)'}"
    )
    print("| case | time | vs anchor | target | |")
    print("|---|---|---|---|---|")
    for label, size in SIZES.items():
        doc = llm_document(size)
        chunks = token_chunks(doc)
        expected = json.loads(doc)
        assert jsonvisor_tokens(chunks) == expected
        repeat = 7 if size <= 100_000 else 3
        floor = best_of(lambda d=doc: ujson.loads(d), 20)
        ours = best_of(lambda c=chunks: jsonvisor_tokens(c), repeat)
        feed_only = best_of(lambda c=chunks: jsonvisor_feed_only(c), repeat)
        print(row(f"{label}: ujson.loads whole doc (floor)", floor, None))
        tgt = {"100 KB": 30.0}.get(label)
        print(
            row(
                f"{label}: jsonvisor, {len(chunks)} token chunks + snapshot",
                ours,
                floor,
                f"<= {tgt:g}x ujson" if tgt else "",
                (ours / floor <= tgt) if tgt else None,
            )
        )
        print(row(f"{label}: jsonvisor, token chunks, events only", feed_only, floor))
        if label == "100 KB":
            assert jsonvisor_tokens(chunks, lenient=True) == expected
            llm = best_of(lambda c=chunks: jsonvisor_tokens(c, lenient=True), repeat)
            print(
                row(
                    f"{label}: LLM mode (lenient=True), tokens + snapshot",
                    llm,
                    ours,
                    "<= 1.3x strict",
                    llm / ours <= 1.3,
                )
            )
        if jiter is not None and (size <= 100_000):
            j = best_of(lambda c=chunks: jiter_reparse(c), 1 if size >= 100_000 else 3)
            speed = j / ours
            want = {"1 KB": 1.0, "10 KB": 5.0, "100 KB": 100.0}[label]
            print(
                row(
                    f"{label}: jiter re-parse per chunk (SDK way)",
                    j,
                    ours,
                    f"ours >= {want:g}x faster",
                    speed >= want,
                )
                + f" ours {speed:.1f}x faster"
            )
        if partial_json_parser is not None and size <= 10_000 and not args.quick:
            pj = best_of(lambda c=chunks: pjp_reparse(c), 1)
            speed = pj / ours
            want = 100.0 if label == "10 KB" else None
            print(
                row(
                    f"{label}: partial-json-parser re-parse per chunk",
                    pj,
                    ours,
                    f"ours >= {want:g}x faster" if want else "",
                    (speed >= want) if want else None,
                )
                + f" ours {speed:.1f}x faster"
            )
        if size == 1_000_000:
            whole = best_of(lambda d=doc: StreamingJsonParser().feed(d), 7)
            print(
                row(
                    f"{label}: jsonvisor, whole doc as one chunk",
                    whole,
                    floor,
                    "<= 2x ujson",
                    whole / floor <= 2.0,
                )
            )
            pieces = fixed(doc, 65536)
            big = best_of(lambda c=pieces: jsonvisor_feed_only(c), 5)
            print(
                row(
                    f"{label}: jsonvisor, 64 KiB chunks",
                    big,
                    floor,
                    "<= 3x ujson",
                    big / floor <= 3.0,
                )
            )
    total = 20_000_000 if args.quick else 100_000_000
    elapsed, grew, count, size = bench_ndjson(total)
    print(
        f"| NDJSON {size // 1_000_000} MB in 64 KiB chunks: {count} docs | "
        f"{elapsed * 1e3:10.0f} ms | {size / elapsed / 1e6:.0f} MB/s | peak RSS growth "
        f"<= 64 MB | {'met' if grew <= 64 * 2**20 else 'MISSED'} ({grew / 2**20:.1f} MB) |"
    )


if __name__ == "__main__":
    main()
