"""Parser benchmark: jsonvisor vs re-parsing anchors and incremental peers, in one process run.

Run: ``make bench`` (or ``python bench/bench_parser.py [--quick] [--markdown PATH] [--results
PATH]``).  Prints markdown tables of times and ratios against anchors measured in the same run,
and each target or budget met or not, and merges each section's report and its headline
targets into ``bench/results.json`` (see ``bench/results.py``; ``bench/tables.py`` renders
``docs/benchmarks-parser.md`` and the summary tables from it):

1. anchors: ujson, jiter and partial-json-parser re-parsing every prefix, NDJSON throughput;
2. peers: incremental parsers (streaming-json-parser with its Rust backend, jsonriver,
   partial-json-stream) on the same documents, str and bytes, three chunkings;
3. budgets for hostile and awkward input (deep nesting, truncation, long strings and keys),
   each measured on growing inputs in a child process so that none can hang the run;
4. schema mode: parser creation and parsing with a pydantic model, and pydantic's own
   ``experimental_allow_partial`` re-validating every prefix.

``--quick`` uses small sizes and few repeats (well under a minute with the C accelerator).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))

import ujson

from docs import card_document, llm_document, scalar_array, token_chunks
from jsonvisor import parsers as jv_parsers
from jsonvisor.parsers import JsonStreamError, StreamingJsonParser, accelerator
from jsonvisor.parsers.streaming import SPEEDUPS
from peers import Peer, describe_differences, load_peers
from results import Recorder, markdown_tables
from timing import (
    Guarded,
    Timeout,
    best_of,
    exponent,
    extrapolate,
    in_fresh_interpreters,
    interleaved,
    isolated,
    kb,
    ladder,
    median_run,
    sizes_up_to,
    timed,
)

try:
    import jiter
except ImportError:  # pragma: no cover - the dev extra installs it
    jiter = None
try:
    import partial_json_parser
except ImportError:  # pragma: no cover
    partial_json_parser = None
try:
    import pydantic
except ImportError:  # pragma: no cover
    pydantic = None

SIZES = {"1 KB": 1_000, "10 KB": 10_000, "100 KB": 100_000, "1 MB": 1_000_000}
READ = 65536  # one "64 KiB read"

OUT: list[str] = []


def emit(line: str = "") -> None:
    """Print a line of the report (markdown) and keep it for ``--markdown``."""
    print(line, flush=True)
    OUT.append(line)


def progress(msg: str) -> None:
    print(f"  .. {msg}", file=sys.stderr, flush=True)


def ms(t: float) -> str:
    if math.isnan(t):
        return "n/a"
    if math.isinf(t):
        return "inf"
    return f"{t * 1e3:.2f} ms" if t < 10 else f"{t:.1f} s"


def brief(e: BaseException, n: int = 90) -> str:
    text = f"{type(e).__name__}: {e}".replace("|", "/").replace("\n", " ")
    return text if len(text) <= n else text[: n - 1] + "…"


def fixed(doc: str | bytes, size: int) -> list[Any]:
    return [doc[i : i + size] for i in range(0, len(doc), size)]


# -- jsonvisor runs ---------------------------------------------------------------------------


def jsonvisor_tokens(chunks: Sequence[str | bytes], **options: Any) -> object:
    """Feed chunks and take the partial value after every one."""
    p = StreamingJsonParser(**options)
    feed = p.feed
    snap = p.snapshot
    for c in chunks:
        feed(c)
        snap()
    return p.finish().value


def jsonvisor_feed_only(chunks: Sequence[str | bytes], **options: Any) -> object:
    p = StreamingJsonParser(**options)
    feed = p.feed
    for c in chunks:
        feed(c)
    return p.finish().value


def calls_floor(chunks: Sequence[str | bytes]) -> None:
    """The loop of :func:`jsonvisor_tokens` with two C functions that do nothing (one
    argument, then none, as ``feed`` and ``snapshot`` take): what the calls alone cost."""
    f = len
    snap = (0).bit_length
    for c in chunks:
        f(c)
        snap()


def jsonvisor_whole(doc: str | bytes, **options: Any) -> object:
    p = StreamingJsonParser(**options)
    p.feed(doc)
    return p.finish().value


# -- section 1: re-parsing anchors ------------------------------------------------------------


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


def row(
    name: str,
    t: float,
    anchor: float | None,
    target: str = "",
    ok: bool | None = None,
    note: str = "",
) -> str:
    ratio = f"{t / anchor:.2f}x" if anchor else ""
    verdict = "" if ok is None else ("met" if ok else "MISSED")
    return f"| {name} | {ms(t)} | {ratio} | {target} | {verdict} | {note} |"


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


def section_anchors(quick: bool) -> None:
    emit("## 1. jsonvisor vs re-parsing anchors")
    emit()
    emit(
        "Token chunks of 1–8 characters, the partial value (`snapshot()`) taken after every "
        "chunk; each ratio is against the row's anchor measured in this run."
    )
    emit()
    emit("| case | time | vs anchor | target | verdict | note |")
    emit("|---|---:|---:|---|---|---|")
    for label, size in SIZES.items():
        progress(f"anchors {label}")
        doc = llm_document(size)
        chunks = token_chunks(doc)
        expected = json.loads(doc)
        wrong = ""
        try:
            if jsonvisor_tokens(chunks) != expected:
                wrong = "WRONG FINAL VALUE"
        except Exception as e:
            emit(row(f"{label}: jsonvisor, token chunks", math.nan, None, note=brief(e)))
            continue
        repeat = 7 if size <= 100_000 else 3
        floor = best_of(lambda d=doc: ujson.loads(d), 20)
        ours = best_of(lambda c=chunks: jsonvisor_tokens(c), repeat)
        feed_only = best_of(lambda c=chunks: jsonvisor_feed_only(c), repeat)
        emit(row(f"{label}: ujson.loads whole doc (floor)", floor, None))
        tgt = {"100 KB": 30.0}.get(label)
        emit(
            row(
                f"{label}: jsonvisor, {len(chunks)} token chunks + snapshot",
                ours,
                floor,
                f"<= {tgt:g}x ujson" if tgt else "",
                (ours / floor <= tgt) if tgt else None,
                wrong,
            )
        )
        emit(row(f"{label}: jsonvisor, token chunks, events only", feed_only, floor))
        if label == "100 KB":
            try:
                ok_value = jsonvisor_tokens(chunks, lenient=True) == expected
                llm = best_of(lambda c=chunks: jsonvisor_tokens(c, lenient=True), repeat)
                emit(
                    row(
                        f"{label}: LLM mode (lenient=True), tokens + snapshot",
                        llm,
                        ours,
                        "<= 1.3x strict",
                        llm / ours <= 1.3,
                        "" if ok_value else "WRONG FINAL VALUE",
                    )
                )
            except Exception as e:
                emit(
                    row(
                        f"{label}: LLM mode (lenient=True), tokens + snapshot",
                        math.nan,
                        None,
                        "<= 1.3x strict",
                        False,
                        f"ERROR {brief(e)}",
                    )
                )
            # A model's answer: a paragraph of prose, the JSON in a fence, prose after it.
            # The prose tokens should cost about what JSON tokens do.
            prose = "Sure! Here is the data you asked for, with each field filled in. " * 30
            answer = f"{prose}\n```json\n{doc}\n```\nLet me know if you need more. {prose}"
            achunks = token_chunks(answer)
            try:
                ok_value = jsonvisor_tokens(achunks, lenient=True) == expected
                t_answer = best_of(lambda c=achunks: jsonvisor_tokens(c, lenient=True), repeat)
                per_token = t_answer / len(achunks)
                emit(
                    row(
                        f"{label}: LLM answer, {len(achunks) - len(chunks)} prose tokens around "
                        "the fenced doc, lenient, tokens + snapshot",
                        t_answer,
                        ours,
                        "<= 1.3x strict per token",
                        per_token / (ours / len(chunks)) <= 1.3,
                        f"per token {per_token / (ours / len(chunks)):.2f}x strict"
                        + ("" if ok_value else "; WRONG FINAL VALUE"),
                    )
                )
            except Exception as e:
                emit(row(f"{label}: LLM answer with prose", math.nan, None, "", False, brief(e)))
        if jiter is not None and (size <= 100_000):
            j = best_of(lambda c=chunks: jiter_reparse(c), 1 if size >= 100_000 else 3)
            speed = j / ours
            want = {"1 KB": 1.0, "10 KB": 5.0, "100 KB": 100.0}[label]
            emit(
                row(
                    f"{label}: jiter re-parse per chunk (SDK way)",
                    j,
                    ours,
                    f"ours >= {want:g}x faster",
                    speed >= want,
                    f"ours {speed:.1f}x faster",
                )
            )
        if partial_json_parser is not None and size <= 10_000 and not quick:
            pj = best_of(lambda c=chunks: pjp_reparse(c), 1)
            speed = pj / ours
            want = 100.0 if label == "10 KB" else None
            emit(
                row(
                    f"{label}: partial-json-parser re-parse per chunk",
                    pj,
                    ours,
                    f"ours >= {want:g}x faster" if want else "",
                    (speed >= want) if want else None,
                    f"ours {speed:.1f}x faster",
                )
            )
        if size == 1_000_000:
            whole = best_of(lambda d=doc: StreamingJsonParser().feed(d), 7)
            emit(
                row(
                    f"{label}: jsonvisor, whole doc as one chunk",
                    whole,
                    floor,
                    "<= 2x ujson",
                    whole / floor <= 2.0,
                )
            )
            pieces = fixed(doc, READ)
            big = best_of(lambda c=pieces: jsonvisor_feed_only(c), 5)
            emit(
                row(
                    f"{label}: jsonvisor, 64 KiB chunks",
                    big,
                    floor,
                    "<= 3x ujson",
                    big / floor <= 3.0,
                )
            )
    progress("NDJSON")
    total = 20_000_000 if quick else 100_000_000
    elapsed, grew, count, size = bench_ndjson(total)
    emit()
    emit("| NDJSON stream | time | throughput | target | verdict |")
    emit("|---|---:|---:|---|---|")
    emit(
        f"| {size // 1_000_000} MB in 64 KiB chunks: {count} docs | {ms(elapsed)} | "
        f"{size / elapsed / 1e6:.0f} MB/s | peak RSS growth <= 64 MB | "
        f"{'met' if grew <= 64 * 2**20 else 'MISSED'} ({grew / 2**20:.1f} MB) |"
    )
    emit()


# -- section 2: incremental peers -------------------------------------------------------------


def section_peers(quick: bool, peers: list[Peer], missing: list[str]) -> None:
    sizes = {k: v for k, v in SIZES.items() if not quick or v <= 100_000}
    limit = 1.0 if quick else 20.0  # skip a peer's cell estimated to take longer (s)
    budget = 0.3 if quick else 3.0  # stop repeating a cell after this much time (s)
    emit("## 2. Incremental peers on the same documents")
    emit()
    emit(
        "Rows: *token chunks* of 1–8 characters with the partial value read after every chunk "
        "(jsonvisor: `p.feed(c); p.snapshot()`), *64 KiB reads* with the partial value read "
        "after each read, and the *whole* document in one feed; every run ends the input and "
        "takes the final value. `bytes` input: the same token chunks UTF-8 encoded, 64 KiB "
        "slices of the UTF-8 bytes (split inside characters), the encoded document. Best of "
        f"up to {3 if quick else 7} runs (fewer for slow cells: a cell stops repeating after "
        f"{budget:g} s); a peer's cell estimated (from its smaller sizes) above {limit:g} s is "
        "skipped. Where both take under 0.5 s, jsonvisor and the best peer are then timed "
        "once more in turn, each keeping its best time (a burst of noise on the machine does "
        "not decide a cell). Ratio = best peer time / jsonvisor time; target: jsonvisor >= "
        "1.5x faster than the best peer."
    )
    emit()
    for p in peers:
        bytes_note = "takes bytes" if p.takes_bytes else "str only: bytes rows decode (†)"
        emit(f"- **{p.name} {p.version}**: {p.note}; {bytes_note}")
    for m in missing:
        emit(f"- {m}")
    emit()
    names = [p.name for p in peers]
    emit(
        "| size | input | chunking | jsonvisor | "
        + " | ".join(names)
        + " | best peer / jsonvisor | target >= 1.5x |"
    )
    emit("|---|---|---|---:|" + "---:|" * len(names) + "---:|---|")
    history: dict[tuple[str, str, str], list[tuple[int, float]]] = {}
    mismatches: dict[str, list[str]] = {n: [] for n in ["jsonvisor", *names]}
    checked: dict[str, int] = {n: 0 for n in ["jsonvisor", *names]}
    met = total = 0
    for label, size in sizes.items():
        doc = llm_document(size)
        raw = doc.encode()
        expected = json.loads(doc)
        toks = token_chunks(doc)
        btoks = [c.encode() for c in toks]
        repeat = (3 if quick else 7) if size <= 10_000 else (2 if quick else 5)
        if size >= 1_000_000:
            repeat = 3
        cells: list[tuple[str, str, Any, bool]] = [
            ("str", f"token chunks ({len(toks)})", toks, True),
            ("str", f"64 KiB reads ({len(fixed(doc, READ))})", fixed(doc, READ), True),
            ("str", "whole", doc, False),
            ("bytes", f"token chunks ({len(btoks)})", btoks, True),
            ("bytes", f"64 KiB reads ({len(fixed(raw, READ))})", fixed(raw, READ), True),
            ("bytes", "whole", raw, False),
        ]
        for kind, chunking, data, streamed in cells:
            progress(f"peers {label} {kind} {chunking}")
            key_row = chunking.split(" (")[0]
            where = f"{label} {kind} {key_row}"
            jv_fn: Callable[[], object] = (
                (lambda d=data: jsonvisor_tokens(d))
                if streamed
                else (lambda d=data: jsonvisor_whole(d))
            )
            try:
                jv_t, jv_val = timed(jv_fn, repeat, budget)
                checked["jsonvisor"] += 1
                diff = describe_differences(jv_val, expected)
                if diff:
                    mismatches["jsonvisor"].append(f"{where}: {diff}")
                jv_cell = ms(jv_t)
            except Exception as e:
                jv_t, jv_cell = math.nan, f"ERROR {brief(e, 60)}"
            peer_cells: list[str] = []
            best: tuple[float, bool] | None = None  # (time, estimated)
            best_at: tuple[int, Callable[[], object], str] | None = None  # (cell, fn, marks)
            for p in peers:
                dagger = "" if p.takes_bytes or kind == "str" else " †"
                hist = history.setdefault((p.name, kind, key_row), [])
                est = 0.0
                if hist:
                    est = extrapolate(hist, len(doc), lo=1.0, hi=2.5)[0]
                if kind == "bytes" and not p.takes_bytes:
                    # bytes are decoded and fed as str: at least the str cell's time
                    same = history.get((p.name, "str", key_row), [])
                    est = max([est] + [t for n, t in same if n == len(doc)])
                if est > limit:
                    hist.append((len(doc), est))
                    peer_cells.append(f"skipped (est. {est:.0f} s){dagger}")
                    if best is None or (best[1] and est < best[0]):
                        best = (est, True)
                    continue
                fn: Callable[[], object] = (
                    (lambda d=data, p=p: p.stream(d))
                    if streamed
                    else (lambda d=data, p=p: p.whole(d))
                )

                def measure(
                    fn: Callable[[], object] = fn, n: int = repeat, want: Any = expected
                ) -> tuple[float, str]:
                    t, val = timed(fn, n, budget)
                    return t, describe_differences(val, want)

                try:
                    if est > limit / 4:  # possibly long: in a child, killed past the limit
                        t, diff = isolated(measure, 1.5 * limit)
                    else:
                        t, diff = measure()
                except Timeout:
                    hist.append((len(doc), 1.5 * limit))
                    peer_cells.append(f"killed after {1.5 * limit:.0f} s (est. {est:.2g} s)")
                    if best is None or (best[1] and 1.5 * limit < best[0]):
                        best = (1.5 * limit, True)
                    continue
                except Exception as e:
                    peer_cells.append(f"ERROR {brief(e, 50)}")
                    continue
                hist.append((len(doc), t))
                checked[p.name] += 1
                if diff:
                    mismatches[p.name].append(f"{where}: {diff}")
                peer_cells.append(ms(t) + ("*" if diff else "") + dagger)
                if best is None or best[1] or t < best[0]:
                    best = (t, False)
                    best_at = (len(peer_cells) - 1, fn, ("*" if diff else "") + dagger)
            if best is not None and not best[1] and best_at and max(best[0], jv_t) < 0.5:
                # the ratio's two sides once more, in turn (each keeps its best time)
                cell, fn, marks = best_at
                jv2, peer2 = interleaved([jv_fn, fn], 5)
                if jv2 < jv_t:
                    jv_t, jv_cell = jv2, ms(jv2)
                if peer2 < best[0]:
                    best = (peer2, False)
                    peer_cells[cell] = ms(peer2) + marks
            if best is None or math.isnan(jv_t):
                ratio_cell, verdict = "", ""
            else:
                ratio = best[0] / jv_t
                ratio_cell = f"{'>= ' if best[1] else ''}{ratio:.2f}x"
                ok = ratio >= 1.5
                verdict = "met" if ok else "MISSED"
                total += 1
                met += ok
            emit(
                f"| {label} | {kind} | {chunking} | {jv_cell} | "
                + " | ".join(peer_cells)
                + f" | {ratio_cell} | {verdict} |"
            )
    emit()
    emit(
        "† str-only peer fed `str`: the bytes chunks go through an incremental UTF-8 decoder "
        "(its time includes the decoding). * final value differs from `json.loads` (below). "
        "'est.' = extrapolated from the peer's smaller sizes (exponent from its last two "
        "sizes, at least 1; a str-only peer's bytes cell is at least its str cell); a cell "
        f"estimated above {limit / 4:g} s runs in a child process killed after "
        f"{1.5 * limit:g} s."
    )
    emit()
    emit(f"Target (jsonvisor >= 1.5x faster than the best peer) met in {met} of {total} cells.")
    emit()
    emit("Final values compared with `json.loads(doc)` (types count: `1.0` is not `1`):")
    emit()
    for name in ["jsonvisor", *names]:
        bad = mismatches[name]
        if not bad:
            emit(f"- {name}: equal in all {checked[name]} cells measured")
        else:
            emit(f"- {name}: differs in {len(bad)} of {checked[name]} cells measured, e.g.")
            for line in bad[:2]:
                emit(f"  - {line}")
            if len(bad) > 2:
                emit(f"  - … and {len(bad) - 2} more cells like these")
    emit()


# -- section 3: hostile and awkward input -------------------------------------------------------


def describe_error(e: JsonStreamError) -> str:
    what = f"limit={e.limit}" if e.limit else ("truncated" if e.truncated else e.reason)
    return f"raised JsonStreamError ({what}) at byte {e.offset}"


class _Stopped(Exception):
    def __init__(self, fed: int, elapsed: float) -> None:
        self.fed = fed
        self.elapsed = elapsed


def stream_case(
    chunk: int | None,
    *,
    snapshot: bool = False,
    repeat: int = 5,
    budget: float = 2.0,
    deadline: float | None = None,
    **options: Any,
) -> Callable[[Any], tuple[Any, ...]]:
    """A guarded run: feed the input (whole, or in ``chunk``-sized pieces), finish().

    With a ``deadline`` (seconds) a chunked run stops itself between chunks once past it and
    reports its time extrapolated linearly in chunks.
    """

    def run(data: Any) -> tuple[Any, ...]:
        chunks = [data] if chunk is None else fixed(data, chunk)
        last = len(chunks) - 1

        def once() -> str:
            p = StreamingJsonParser(**options)
            start = time.perf_counter()
            try:
                for i, c in enumerate(chunks):
                    p.feed(c)
                    if snapshot:
                        p.snapshot()
                    if deadline is not None and i < last:
                        elapsed = time.perf_counter() - start
                        if elapsed > deadline:
                            raise _Stopped(i + 1, elapsed)
                r = p.finish()
            except JsonStreamError as e:
                return describe_error(e)
            return (
                f"finish(): complete={r.complete}, confidence={r.confidence}, "
                f"{len(r.repairs)} repair(s)"
            )

        try:
            return timed(once, repeat, budget)
        except _Stopped as s:
            return (
                s.elapsed * len(chunks) / s.fed,
                "no error yet",
                f"stopped itself after {s.fed} of {len(chunks)} chunks ({s.elapsed:.1f} s); "
                "extrapolated linearly in chunks",
            )

    return run


class Budgets:
    """Rows of section 3: a time, its ratio to the 1 MB one-chunk anchor, and a budget."""

    def __init__(self, anchor: float, anchor_label: str) -> None:
        self.anchor = anchor
        self.anchor_label = anchor_label
        self.met = 0
        self.total = 0
        emit(
            "| row | case | time | vs doc one chunk | compared with | ratio | budget | verdict | "
            "what happened |"
        )
        emit("|---|---|---:|---:|---|---:|---|---|---|")

    def add(
        self,
        tag: str,
        case: str,
        t: float,
        *,
        estimated: bool = False,
        base: tuple[str, float] | None = None,
        budget: float | None = None,
        must: Callable[[str], bool] | None = None,
        outcome: str = "",
        verdict: str | None = None,
    ) -> None:
        est = "est. " if estimated else ""
        vs_anchor = f"{t / self.anchor:.3g}x" if math.isfinite(t) else ""
        base_name, base_t = base if base else (self.anchor_label, self.anchor)
        ratio = t / base_t if math.isfinite(t) else math.nan
        ratio_cell = f"{est}{ratio:.3g}x" if math.isfinite(ratio) else ""
        if verdict is None and budget is not None:
            ok = math.isfinite(ratio) and ratio <= budget and (must is None or must(outcome))
            verdict = "met" if ok else "MISSED"
            self.total += 1
            self.met += ok
        emit(
            f"| {tag} | {case} | {est}{ms(t)} | {est}{vs_anchor} | {base_name} | {ratio_cell} | "
            f"{f'<= {budget:g}x' if budget is not None else ''} | {verdict or ''} | "
            f"{outcome.replace('|', '/')} |"
        )

    def guarded(self, tag: str, case: str, g: Guarded, **kw: Any) -> None:
        outcome = g.outcome + (f" [{g.note}]" if g.note else "")
        if not g.estimated and len(g.points) >= 2 and min(g.points[-2][1], g.seconds) > 5e-3:
            (n1, _), (n2, _) = g.points[-2:]
            k = exponent(g.points, -1.0, 4.0)
            outcome += f" (time ~ size^{k:.2f} from {kb(n1)} to {kb(n2)})"
        self.add(tag, case, g.seconds, estimated=g.estimated, outcome=outcome, **kw)


def versus_ujson(target: int) -> dict[str, float]:
    """Section 3 (d, h), run in a fresh interpreter (``timing.in_fresh_interpreters``):
    100 KB of token chunks with a snapshot after each (as str and as bytes), without, and
    the loop's calls alone, then the whole ``target``-character document, each timed in
    turn with ``ujson.loads`` of the same text (seconds).

    In a fresh interpreter because the chunks' place in memory counts: made in a heap that
    earlier work left full of holes, 22,000 small strings lie scattered, and reading each
    one is a cache miss (str token chunks then measured up to 40% slower, bytes not).
    """
    d100 = llm_document(100_000)
    toks = token_chunks(d100)
    btoks = [c.encode() for c in toks]
    doc = llm_document(target)
    ujson100, tokens, as_bytes, feed, calls = interleaved(
        [
            lambda: ujson.loads(d100),
            lambda: jsonvisor_tokens(toks),
            lambda: jsonvisor_tokens(btoks),
            lambda: jsonvisor_feed_only(toks),
            lambda: calls_floor(toks),
        ],
        25,
    )
    floor, whole = interleaved([lambda: ujson.loads(doc), lambda: jsonvisor_whole(doc)], 15)
    return {
        "chunks": len(toks),
        "ujson100": ujson100,
        "tokens": tokens,
        "bytes": as_bytes,
        "feed": feed,
        "calls": calls,
        "ujson": floor,
        "whole": whole,
    }


def section_hostile(quick: bool) -> None:
    target = 100_000 if quick else 1_000_000
    limit = 1.0 if quick else 10.0  # a ladder step estimated longer than this is not run (s)
    timeout = 5.0 if quick else 30.0  # a child process taking longer is killed (s)
    rep = 3 if quick else 5
    emit(f"## 3. Budgets for hostile and awkward input ({kb(target)})")
    emit()
    emit(
        f"Each row is timed against the valid ~{kb(target)} document fed to jsonvisor as one "
        "chunk (then `finish()`), measured in this run, unless *compared with* names another "
        "anchor. Hostile rows run in a forked child process on growing inputs (x4 each step); "
        f"a step estimated above {limit:g} s is not run and a child is killed after "
        f"{timeout:g} s, so a pathological case is measured on a smaller input and its "
        "full-size time extrapolated (marked *est.*, how in brackets). Where a ratio is "
        "close to its budget, its two sides are timed in turn (rows c, d, h: a machine that "
        "slows down for a while slows both), and rows d and h run in fresh interpreters, the "
        "median shown (a process's own state, such as where its allocator put the chunks, "
        "can move a timing by 10% or more for its whole life)."
    )
    emit()
    progress("hostile: anchor")
    doc = llm_document(target)
    anchor = best_of(lambda: jsonvisor_whole(doc), 7)
    b = Budgets(anchor, f"{kb(len(doc))} doc, one chunk")
    raised = lambda outcome: outcome.startswith("raised JsonStreamError")  # noqa: E731

    # (a) deep nesting, default max_depth=256: must raise, cheaply
    bracket = lambda n: "[" * n  # noqa: E731
    objs = lambda n: '{"a":' * max(1, n // 5)  # noqa: E731
    for tag, name, make in (("a", "`[` x N", bracket), ("a", '`{"a":` x N/5', objs)):
        progress(f"hostile: {name} one chunk")
        one = ladder(
            make,
            stream_case(None, repeat=rep),
            sizes_up_to(target, 5),
            limit=limit,
            timeout=timeout,
        )
        b.guarded(tag, f"{name}, one chunk", one, budget=0.2, must=raised)
        progress(f"hostile: {name} 64 KiB chunks")
        # Fed chunk by chunk, stopping at the error: run at full size, guarded by the time of
        # the first chunk alone (from the one-chunk row) and a deadline checked between chunks.
        first = extrapolate(one.points, READ)[0] if one.points else math.inf
        chunked = ladder(
            make,
            stream_case(READ, repeat=rep, deadline=limit),
            [target],
            limit=limit,
            timeout=timeout,
            gate=first,
        )
        b.guarded(
            tag, f"{name}, 64 KiB chunks (stop at the error)", chunked, budget=0.2, must=raised
        )

    # (b) a truncated document, finish(): plain, under 100 and 250 levels of '['
    def cut(n: int, depth: int = 0) -> str:
        d = llm_document(n)
        return "[" * depth + d[: len(d) // 2]

    for depth, opts in ((0, {}), (100, {}), (250, {"max_depth": 300})):
        progress(f"hostile: truncated, depth {depth}")
        g = ladder(
            lambda n, k=depth: cut(n, k),
            stream_case(None, repeat=rep, **opts),
            sizes_up_to(target, 3),
            limit=limit,
            timeout=timeout,
        )
        wrap = f" in {depth} `[`" if depth else ""
        extra = ", max_depth=300" if opts else ""
        b.guarded(
            "b",
            f"doc cut in the middle{wrap}, one chunk + finish(){extra}",
            g,
            budget=2.0,
            must=lambda o: o.startswith("finish()"),
        )

    # (c) the document in 64 KiB reads, each timed in turn with the whole document
    progress("hostile: 64 KiB reads")
    raw = doc.encode()
    cases = [
        ("str", fixed(doc, READ), False),
        ("bytes", fixed(raw, READ), False),
        ("bytes, snapshot() after each", fixed(raw, READ), True),
    ]
    try:
        whole, *reads = interleaved(
            [lambda: jsonvisor_whole(doc)]
            + [
                (lambda c=pieces: jsonvisor_tokens(c))
                if snap
                else (lambda c=pieces: jsonvisor_feed_only(c))
                for _, pieces, snap in cases
            ],
            9,
        )
        for (name, pieces, _), t in zip(cases, reads, strict=True):
            b.add(
                "c",
                f"doc in {len(pieces)} 64 KiB reads ({name}) + finish()",
                t,
                base=(f"{kb(len(doc))} doc, one chunk, timed in turn ({ms(whole)})", whole),
                budget=1.5,
            )
    except Exception as e:
        b.add("c", "doc in 64 KiB reads", math.nan, outcome=f"ERROR {brief(e)}", budget=1.5)

    # (d) the same 100 KB token chunks as bytes and as str, in fresh interpreters (with
    # row h's timings: versus_ujson)
    progress("hostile: bytes vs str, vs ujson (fresh interpreters)")
    failed = ""
    try:
        runs = in_fresh_interpreters("bench_parser", "versus_ujson", [target], 1 if quick else 3)
    except Exception as e:
        runs, failed = [], f"ERROR {brief(e)}"
    how = f"the median of {len(runs)} fresh interpreters"

    def spread(num: str, den: str) -> str:
        return how + ": " + " / ".join(f"{r[num] / r[den]:.3g}x" for r in runs)

    if runs:
        r = median_run(runs, "bytes", "tokens")
        b.add("d", f"100 KB, {r['chunks']} token chunks as str + snapshot", r["tokens"])
        b.add(
            "d",
            "the same chunks as UTF-8 bytes + snapshot",
            r["bytes"],
            base=("the same chunks as str", r["tokens"]),
            budget=1.2,
            outcome=spread("bytes", "tokens"),
        )
    else:
        b.add("d", "100 KB token chunks, bytes vs str", math.nan, outcome=failed, budget=1.2)

    # (e) an array of small scalars in 64 KiB reads vs one ujson.loads
    progress("hostile: scalar array")
    arr = scalar_array(target)
    arr_floor = best_of(lambda: ujson.loads(arr), 10)
    arr_pieces = fixed(arr, READ)
    try:
        t, value = timed(lambda: jsonvisor_feed_only(arr_pieces), 7, 5.0)
        diff = describe_differences(value, json.loads(arr))
        b.add(
            "e",
            f'{kb(len(arr))} `[1, 2.5, true, null, "ab", ...]` ({len(json.loads(arr))} values) '
            f"in 64 KiB reads + finish()",
            t,
            base=(f"ujson.loads of it ({ms(arr_floor)})", arr_floor),
            budget=3.0,
            outcome=f"WRONG VALUE: {diff}" if diff else "",
        )
    except Exception as e:
        b.add(
            "e", "scalar array in 64 KiB reads", math.nan, outcome=f"ERROR {brief(e)}", budget=3.0
        )

    # (f) snapshot() after every 4-char chunk of one long open string
    string_doc = lambda n: '{"s": "' + "abcd" * (n // 4)  # noqa: E731
    lengths = (25_000, 100_000) if quick else (100_000, 400_000)
    per_mb: list[float] = []
    prior: list[tuple[int, float]] = []
    for n in lengths:
        progress(f"hostile: open string {kb(n)}")
        g = ladder(
            string_doc,
            stream_case(4, snapshot=True, repeat=rep),
            [n // 4, n],
            limit=limit,
            timeout=timeout,
            prior=prior,
        )
        prior = g.points
        rate = g.seconds / (n / 1e6)
        per_mb.append(rate)
        lin = ""
        if len(per_mb) == 2:
            grow = per_mb[1] / per_mb[0]
            lin = f"; per MB x{grow:.2f} vs {kb(lengths[0])}: " + (
                "linear" if grow <= 1.5 else "NOT linear (grows with length)"
            )
        b.add(
            "f",
            f"open string {kb(n)}, 4-char chunks, snapshot() after each",
            g.seconds,
            estimated=g.estimated,
            outcome=f"{'est. ' if g.estimated else ''}{rate:.3g} s per MB{lin}; {g.outcome}"
            + (f" [{g.note}]" if g.note else ""),
        )

    # (g) a 100 KB unquoted key in lenient mode, 4-char chunks
    key_len = 25_000 if quick else 100_000
    progress(f"hostile: unquoted key {kb(key_len)}")
    g = ladder(
        lambda n: "{" + "k" * n + ": 1}",
        stream_case(4, repeat=rep, lenient=True),
        sizes_up_to(key_len, 3),
        limit=limit,
        timeout=timeout,
    )
    b.guarded(
        "g",
        f"lenient: `{{` + {kb(key_len)} identifier + `: 1}}`, 4-char chunks + finish()",
        g,
    )

    # (h) token chunks and the whole document vs ujson.loads (row d's fresh interpreters)
    if runs:
        r = median_run(runs, "tokens", "ujson100")
        base = (f"ujson.loads 100 KB ({ms(r['ujson100'])})", r["ujson100"])
        b.add(
            "h",
            f"100 KB, {r['chunks']} token chunks + snapshot",
            r["tokens"],
            base=base,
            budget=6.0,
            outcome=spread("tokens", "ujson100"),
        )
        b.add("h", "100 KB token chunks, events only (no snapshot)", r["feed"], base=base)
        b.add(
            "h",
            "the same loop calling two no-op C functions per chunk (the calls' own cost)",
            r["calls"],
            base=base,
        )
        w = median_run(runs, "whole", "ujson")
        b.add(
            "h",
            f"{kb(len(doc))} doc, one chunk + finish()",
            w["whole"],
            base=(f"ujson.loads {kb(len(doc))} ({ms(w['ujson'])})", w["ujson"]),
            budget=1.2,
            outcome=spread("whole", "ujson"),
        )
    else:
        b.add("h", "100 KB token chunks", math.nan, outcome=failed, budget=6.0)
        b.add("h", f"{kb(len(doc))} doc", math.nan, outcome=failed, budget=1.2)
    emit()
    emit(f"Budgets met: {b.met} of {b.total}.")
    emit()


# -- section 4: schema mode ----------------------------------------------------------------------

if pydantic is not None:

    class Item(pydantic.BaseModel):
        name: str
        qty: int
        price: float
        note: str | None = None
        tags: list[str] = pydantic.Field(default_factory=list)

    class Card(pydantic.BaseModel):
        title: str
        price: float
        tags: list[str]
        items: list[Item]


def pydantic_partial(doc: str, ends: list[int], adapter: Any) -> tuple[Any, int]:
    """Validate every prefix ``doc[:end]`` with experimental_allow_partial; (last, failures)."""
    value = None
    failures = 0
    validate = adapter.validate_json
    for end in ends:
        try:
            value = validate(doc[:end], experimental_allow_partial=True)
        except pydantic.ValidationError:
            failures += 1
    return value, failures


def section_schema(quick: bool) -> None:
    emit("## 4. Schema mode (pydantic model)")
    emit()
    if pydantic is None:
        emit("pydantic is not installed: section skipped.")
        emit()
        return
    limit = 2.0 if quick else 40.0
    emit(
        "`Card{title: str, price: float, tags: list[str], items: list[Item{name: str, qty: int, "
        "price: float, note: str | None, tags: list[str]}]}`; documents matching it. Token "
        "chunks of 1–8 characters with `snapshot()` after each, then `finish()`. A ratio's "
        "two sides are timed in turn (a machine that slows down for a while slows both)."
    )
    emit()
    emit("| case | time | compared with | ratio | target | verdict | note |")
    emit("|---|---:|---|---:|---|---|---|")

    def line(
        case: str,
        t: float,
        base: str = "",
        bt: float = 0.0,
        target: float | None = None,
        note: str = "",
        per: str = "",
    ) -> bool | None:
        ratio = t / bt if bt else math.nan
        ok = None if target is None else (math.isfinite(ratio) and ratio <= target)
        shown = f"{t * 1e6:.1f} µs{per}" if per else ms(t)
        emit(
            f"| {case} | {shown} | {base} | {f'{ratio:.2f}x' if bt else ''} | "
            f"{f'<= {target:g}x' if target is not None else ''} | "
            f"{'' if ok is None else ('met' if ok else 'MISSED')} | {note} |"
        )
        return ok

    compile_schema = getattr(jv_parsers, "compile_schema", None)
    count = 1000
    progress("schema: creation")

    def create(n: int, **kw: Any) -> None:
        for _ in range(n):
            StreamingJsonParser(**kw)

    # (each ratio's two sides timed in turn: see timing.interleaved)
    compiled = None
    if compile_schema is not None:
        try:
            compiled = compile_schema(Card)
        except Exception as e:
            line("precompiled schema creation", math.nan, note=f"ERROR {brief(e)}")
    try:
        plain_new, schema_new, *pre = interleaved(
            [lambda: create(count), lambda: create(count, schema=Card)]
            + ([lambda: create(count, schema=compiled)] if compiled is not None else []),
            9,
        )
    except Exception as e:
        plain_new = best_of(lambda: create(count), 5)
        schema_new, pre = math.nan, []
        line("`StreamingJsonParser(schema=Card)` creation", math.nan, note=f"ERROR {brief(e)}")
    plain_new /= count
    line(f"plain `StreamingJsonParser()`, per parser over {count}", plain_new, per=" per parser")
    if math.isfinite(schema_new):
        line(
            f"`StreamingJsonParser(schema=Card)`, per parser over {count}",
            schema_new / count,
            "plain parser",
            plain_new,
            2.0,
            per=" per parser",
        )
    if pre:
        line(
            f"`StreamingJsonParser(schema=compile_schema(Card))`, per parser over {count}",
            pre[0] / count,
            "plain parser",
            plain_new,
            2.0,
            per=" per parser",
        )
    elif compile_schema is None:
        emit(
            "| precompiled schema (`jsonvisor.parsers.compile_schema`) | | | | | | "
            "not present in this build: skipped |"
        )

    adapter = pydantic.TypeAdapter(Card)
    pyd_points: list[tuple[int, float]] = []
    # pydantic re-validates every prefix (time ~ size**2 or worse): the size before 95 KB gives
    # the growth exponent the 95 KB estimate uses.
    for size in (3_000, 9_000, 95_000) if quick else (9_000, 30_000, 95_000):
        doc = card_document(size)
        expected = json.loads(doc)
        chunks = token_chunks(doc)
        label = f"{kb(len(doc))}, {len(chunks)} token chunks"
        progress(f"schema: {label}")
        try:
            value = jsonvisor_tokens(chunks, schema=Card)
            plain, t, *tcs = interleaved(
                [
                    lambda c=chunks: jsonvisor_tokens(c),
                    lambda c=chunks: jsonvisor_tokens(c, schema=Card),
                ]
                + (
                    [lambda c=chunks: jsonvisor_tokens(c, schema=compiled)]
                    if compiled is not None
                    else []
                ),
                9,
            )
        except Exception as e:
            plain = best_of(lambda c=chunks: jsonvisor_tokens(c), 7)
            line(f"{label}: plain parser", plain)
            t = math.nan
            line(f"{label}: `schema=Card`", math.nan, note=f"ERROR {brief(e)}")
        else:
            line(f"{label}: plain parser", plain)
            diff = describe_differences(value, expected)
            line(
                f"{label}: `schema=Card`",
                t,
                "plain parser",
                plain,
                1.5,
                f"final value differs: {diff}" if diff else "final value == json.loads",
            )
            if tcs:
                line(f"{label}: precompiled schema", tcs[0], "plain parser", plain, 1.5)
        ends: list[int] = []
        pos = 0
        for c in chunks:
            pos += len(c)
            ends.append(pos)
        name = (
            f"{label}: pydantic `validate_json(prefix, experimental_allow_partial=True)` "
            "every prefix"
        )
        if pyd_points:
            est, k = extrapolate(pyd_points, len(doc), lo=2.0, hi=3.0)
            if est > limit:
                emit(
                    f"| {name} | skipped (est. {est:.0f} s) | `schema=Card` | "
                    f"{f'est. {est / t:.0f}x' if math.isfinite(t) else ''} | | | "
                    f"estimated from {kb(pyd_points[-1][0])} with time ~ size^{k:.2f} (every "
                    f"prefix re-validated); over the {limit:g} s limit |"
                )
                continue
        try:
            pt, (value, failures) = timed(
                lambda d=doc, e=ends: pydantic_partial(d, e, adapter), 3, limit / 4
            )
        except Exception as e:
            line(name, math.nan, note=f"ERROR {brief(e)}")
            continue
        pyd_points.append((len(doc), pt))
        ok_final = value is not None and value.model_dump() == expected
        emit(
            f"| {name} | {ms(pt)} | `schema=Card` | "
            f"{f'{pt / t:.1f}x' if math.isfinite(t) else ''} | | | "
            f"ours {pt / t:.1f}x faster; {failures} of {len(ends)} prefixes rejected "
            f"(ValidationError: a required field of the last item not yet there); final "
            f"{'== json.loads' if ok_final else 'DIFFERS'} |"
        )
    emit()


# -- main ----------------------------------------------------------------------------------------


def header(quick: bool, peers: list[Peer]) -> None:
    emit("# jsonvisor parser benchmark")
    emit()
    emit(f"- date: {time.strftime('%Y-%m-%d %H:%M %Z')}")
    emit(
        f"- machine: {platform.platform()}, {platform.machine()}, {os.cpu_count()} CPUs"
        + (f" ({platform.processor()})" if platform.processor() else "")
    )
    emit(f"- Python {platform.python_version()} ({platform.python_implementation()})")
    if hasattr(os, "getloadavg"):
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        emit(f"- load average at start (1, 5, 15 min): {load}")
    emit(
        "- parser: "
        + (
            f"C accelerator, {accelerator_build()} build "
            "(`jsonvisor.parsers.streaming.SPEEDUPS` is set; `make install` builds it with "
            "profile-guided optimisation where the compiler is gcc: scripts/pgo.py)"
            if SPEEDUPS
            else "pure Python (JSONVISOR_PURE=1 or the accelerator is not built)"
        )
    )
    emit(
        "- peers: "
        + (
            ", ".join(
                f"{p.name} {p.version}" + (f" ({p.backend})" if p.backend else "") for p in peers
            )
            or "none installed"
        )
        + f"; ujson {getattr(ujson, '__version__', '?')}"
        + (f", pydantic {pydantic.VERSION}" if pydantic is not None else "")
    )
    emit(f"- mode: {'--quick (small sizes, few repeats)' if quick else 'full'}")
    emit()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, few repeats (< 1 min)")
    ap.add_argument("--markdown", metavar="PATH", help="also write the tables to this file")
    ap.add_argument(
        "--only",
        action="append",
        choices=("anchors", "peers", "hostile", "schema"),
        help="run only these sections (repeatable)",
    )
    ap.add_argument(
        "--results",
        metavar="PATH",
        help="merge into this results file (default: bench/results.json; --quick: none)",
    )
    args = ap.parse_args()
    started = time.perf_counter()
    peers, missing = load_peers()
    header(args.quick, peers)
    recorder = Recorder("parser", setup=setup(peers), quick=args.quick, path=args.results)
    only = set(args.only or ("anchors", "peers", "hostile", "schema"))
    sections = {
        "anchors": lambda: section_anchors(args.quick),
        "peers": lambda: section_peers(args.quick, peers, missing),
        "hostile": lambda: section_hostile(args.quick),
        "schema": lambda: section_schema(args.quick),
    }
    for name, run in sections.items():
        if name in only:
            start = len(OUT)
            run()
            record(recorder, name, "\n".join(OUT[start:]).strip() + "\n")
    emit(f"Total benchmark time: {time.perf_counter() - started:.0f} s.")
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write("\n".join(OUT) + "\n")
    recorder.save()


def accelerator_build() -> str:
    """``"pgo"`` (built by scripts/pgo.py) or ``"plain"`` (setuptools alone)."""
    return getattr(accelerator.speedups, "BUILD", "plain")


def setup(peers: list[Peer]) -> str:
    return (
        (f"C accelerator ({accelerator_build()} build)" if SPEEDUPS else "pure Python")
        + "; peers: "
        + (", ".join(f"{p.name} {p.version}" for p in peers) or "none")
        + f"; ujson {getattr(ujson, '__version__', '?')}"
        + (f", pydantic {pydantic.VERSION}" if pydantic is not None else "")
    )


def record(recorder: Recorder, name: str, markdown: str) -> None:
    """One section's report (as printed) and its headline targets into the results."""
    recorder.section(name)
    recorder.set("markdown", markdown)
    for key, target, measured, met in summary_targets(name, markdown):
        recorder.target(key, target, measured, met)


def summary_targets(section: str, markdown: str) -> list[tuple[str, str, str, bool | None]]:
    """The headline targets of a section, read from its report's tables (a row the run did
    not make, e.g. under ``--quick``, gives no target)."""
    out: list[tuple[str, str, str, bool | None]] = []
    tables = markdown_tables(markdown)
    rows = [dict(zip(t["columns"], r, strict=False)) for t in tables for r in t["rows"]]

    def find(column: str, *parts: str) -> list[dict[str, str]]:
        return [r for r in rows if all(p in r.get(column, "") for p in parts)]

    def met(found: list[dict[str, str]]) -> bool:
        return all(r.get("verdict", "").startswith("met") for r in found)

    if section == "anchors":
        for key, what, parts, value in [
            (
                "jiter_100kb",
                "vs re-parsing every prefix with jiter (the SDKs' way), 100 KB: ≥ 100x faster",
                ("100 KB: jiter",),
                lambda r: r["note"].replace("ours ", ""),
            ),
            (
                "llm_mode",
                "LLM mode vs strict, 100 KB token chunks: ≤ 1.3x",
                ("100 KB: LLM mode",),
                lambda r: r["vs anchor"],
            ),
            (
                "llm_answer",
                "an LLM answer (prose around the fenced 100 KB document), per token vs strict: "
                "≤ 1.3x",
                ("100 KB: LLM answer",),
                lambda r: r["note"].replace("per token ", "").replace(" strict", ""),
            ),
        ]:
            found = find("case", *parts)
            if found:
                out.append((key, what, value(found[0]), met(found)))
    elif section == "peers":
        cells = [r for r in rows if "best peer / jsonvisor" in r]
        if cells:
            missed = [
                f"{r['size']} {r['input']} {r['chunking'].split(' (')[0]} "
                f"{r['best peer / jsonvisor']}"
                for r in cells
                if r.get("target >= 1.5x") != "met"
            ]
            ok = len(cells) - len(missed)
            out.append(
                (
                    "peers",
                    "vs the best incremental peer (streaming-json-parser native, jsonriver, "
                    "partial-json-stream): ≥ 1.5x faster in every cell",
                    f"{ok} of {len(cells)} cells"
                    + (f"; missed: {', '.join(missed)}" if missed else ""),
                    not missed,
                )
            )
    elif section == "hostile":

        def ratios(found: list[dict[str, str]]) -> str:
            return " / ".join(r["ratio"] for r in found)

        for key, what, rowtag, parts, measured in [
            (
                "tokens_100kb",
                "100 KB in token chunks + `snapshot()` after each, vs one `ujson.loads`: ≤ 6x",
                "h",
                ("token chunks + snapshot",),
                lambda f: f"{f[0]['time']}, {f[0]['ratio']}",
            ),
            (
                "whole_1mb",
                "a whole 1 MB document vs `ujson.loads`: ≤ 1.2x",
                "h",
                ("1 MB doc, one chunk",),
                lambda f: f[0]["ratio"],
            ),
            (
                "deep_brackets",
                "1 MB of `[` (one chunk / 64 KiB chunks) vs the valid 1 MB document: ≤ 0.2x",
                "a",
                ("`[`",),
                lambda f: ratios(f) + ", refused at byte " + f[0]["what happened"].split()[-1],
            ),
            (
                "cut_1mb",
                "a 1 MB document cut in the middle in 0 / 100 / 250 levels: ≤ 2x",
                "b",
                (),
                ratios,
            ),
            (
                "reads_64k",
                "64 KiB reads, `str` / `bytes`, vs one chunk: ≤ 1.5x",
                "c",
                ("64 KiB reads (",),
                lambda f: ratios([r for r in f if "snapshot" not in r["case"]]),
            ),
            (
                "bytes_vs_str",
                "the same token chunks as `bytes` vs as `str`: ≤ 1.2x",
                "d",
                ("bytes",),
                lambda f: f[0]["ratio"],
            ),
            (
                "scalars",
                "1 MB of small scalars in 64 KiB reads vs `ujson.loads`: ≤ 3x",
                "e",
                (),
                lambda f: f[0]["ratio"],
            ),
        ]:
            found = [r for r in find("case", *parts) if r.get("row") == rowtag]
            if key == "reads_64k":
                found = [r for r in found if "snapshot" not in r["case"]]
            if found:
                out.append((key, what, measured(found), met(found)))
        strings = [r for r in rows if r.get("row") == "f"]
        if strings:
            per_mb = [r["what happened"].split(";")[0].replace(" per MB", "") for r in strings]
            linear = "linear" in strings[-1]["what happened"]
            out.append(
                (
                    "open_string",
                    "`snapshot()` after every 4-character chunk of a 100 KB / 400 KB open "
                    "string: linear",
                    " / ".join(per_mb) + " per MB",
                    linear,
                )
            )
        keys = [r for r in rows if r.get("row") == "g"]
        if keys:
            refused = "limit=max_key_length" in keys[0]["what happened"]
            out.append(
                (
                    "long_key",
                    "a 100 KB unquoted key in 4-character chunks: refused, bounded",
                    f"refused by `max_key_length` in {keys[0]['time']}",
                    refused,
                )
            )
    elif section == "schema":
        plain = find("case", "plain `StreamingJsonParser()`")
        card = find("case", "`StreamingJsonParser(schema=Card)`")
        if plain and card:
            out.append(
                (
                    "create",
                    "creating a parser with a schema vs a plain one: ≤ 2x",
                    f"{plain[0]['time']} plain, {card[0]['ratio']} with a schema",
                    met(card),
                )
            )
        mode = find("case", "token chunks: `schema=Card`")
        partial = find("case", "experimental_allow_partial")
        if mode:
            measured = " / ".join(r["ratio"] for r in mode)
            if partial:
                measured += (
                    f" (pydantic `experimental_allow_partial` on every prefix: "
                    f"{partial[0]['ratio']}–{partial[-1]['ratio']} slower)"
                )
            out.append(
                (
                    "schema_mode",
                    "schema mode vs plain, "
                    + " / ".join(r["case"].split(",")[0] for r in mode)
                    + " in token chunks: ≤ 1.5x",
                    measured,
                    met(mode),
                )
            )
    return out


if __name__ == "__main__":
    main()
