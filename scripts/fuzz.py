#!/usr/bin/env python3
"""Fuzz the streaming parser for as long as asked (issue 10).

    python scripts/fuzz.py [--minutes M] [--option-set NAME ...] [--generator NAME ...]
                           [--ignore TAG ...] [--no-record] [--no-reduce]

Runs the generators of tests/grammar.py through tests/invariants.py's ``check`` (both
backends, every chunking), round-robin over every generator x option set, in slices of
Hypothesis runs sized to the time left, until the time is up (plus the time to shrink a
failure it found last).  A failure is shrunk by Hypothesis, then (unless --no-reduce) the
text is cut down character by character while the same kind of failure persists; the
minimal (text, options) is appended to tests/data/fuzz_regressions.jsonl with a note
(unless it is already there, or --no-record) and printed.  Exit status: 0 when nothing was
found, 1 when something was, 2 on an internal error.

--ignore TAG skips one kind of failure (tags: crash, c-vs-python, chunking-outcome,
sticky-error, strict-finish, documents-api, not-monotone, held-string-changed, replay,
depth1-events, wrong-value, pickle) to look past a known defect.
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from hypothesis import HealthCheck, given, settings  # noqa: E402

import grammar  # noqa: E402
from invariants import (  # noqa: E402
    OPTION_SETS,
    InvariantFailure,
    check,
    check_sample,
    expected_for,
)
from jsonvisor.parsers import (  # noqa: E402
    DocumentCompleted,
    JsonStreamError,
    PurePythonParser,
    ValueCompleted,
)

GENERATORS = {
    "llm": grammar.llm_texts,
    "strict": grammar.strict_texts,
    "ndjson": grammar.ndjson_texts,
}
DATA = ROOT / "tests" / "data" / "fuzz_regressions.jsonl"
REDUCE_SECONDS = 90


def _key(case: dict[str, Any]) -> tuple[str, str]:
    data = case.get("bytes") or "text:" + case["text"]
    return data, json.dumps(case["options"], sort_keys=True)


def _known(path: Path) -> set[tuple[str, str]]:
    if not path.exists():
        return set()
    return {_key(json.loads(line)) for line in path.read_text("utf-8").splitlines() if line}


def _tag_of(text: str, options: dict[str, Any], ignore: frozenset[str]) -> str | None:
    try:
        check(text, options, ignore=ignore)
    except InvariantFailure as exc:
        return exc.tag
    return None


def _repeats_a_key(text: str, options: dict[str, Any]) -> bool:
    """Does ``text`` give one object the same key twice?  The grammar never does (the last
    value wins, as in ``json.loads``, so a snapshot changes and a member completes twice),
    but deleting characters can make two keys alike: such a text is no reduction of the
    failure found."""
    p = PurePythonParser(**options)
    events: list[Any] = []
    try:  # (a character at a time: the events up to an error count too)
        for c in text:
            events += p.feed(c)
        events += p.finish().events
    except JsonStreamError:
        pass
    seen: set[Any] = set()
    for ev in events:
        if ev.__class__ is DocumentCompleted:
            seen.clear()
        elif ev.__class__ is ValueCompleted:
            if ev.path in seen and ev.path and ev.path[-1].__class__ is str:
                return True
            seen.add(ev.path)
    return False


def reduce_text(text: str, options: dict[str, Any], tag: str, ignore: frozenset[str]) -> str:
    """Delete characters (halves, quarters, ... single ones) while ``check`` still fails
    with the same kind of failure (and no key is repeated, see ``_repeats_a_key``)."""
    deadline = time.monotonic() + REDUCE_SECONDS
    size = max(1, len(text) // 2)
    while size >= 1 and time.monotonic() < deadline:
        i = 0
        changed = False
        while i < len(text) and time.monotonic() < deadline:
            candidate = text[:i] + text[i + size :]
            if (
                candidate
                and _tag_of(candidate, options, ignore) == tag
                and not _repeats_a_key(candidate, options)
            ):
                text = candidate
                changed = True
            else:
                i += size
        if not changed:
            size //= 2
    return text


def run_slice(
    gen: str, name: str, examples: int, ignore: frozenset[str]
) -> list[tuple[grammar.Sample, InvariantFailure]]:
    """One Hypothesis run; the minimal failing examples it ends with (none if it passed)."""
    options = OPTION_SETS[name]
    seen: list[tuple[grammar.Sample, InvariantFailure]] = []

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=False,
        report_multiple_bugs=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(grammar_sample=GENERATORS[gen]())
    def prop(grammar_sample: grammar.Sample) -> None:
        try:
            check_sample(grammar_sample, name, options, ignore=ignore)
        except InvariantFailure as exc:
            seen.append((grammar_sample, exc))
            raise

    try:
        prop()
    except InvariantFailure as exc:
        raised: list[BaseException] = [exc]
    except BaseException as exc:
        # Several distinct failures come as an ExceptionGroup; anything else is ours.
        raised = list(getattr(exc, "exceptions", ()))
        if not raised or not all(isinstance(e, InvariantFailure) for e in raised):
            raise
    else:
        return []
    # Hypothesis ends by running each minimal example once more and raising what it raised.
    ids = {id(e) for e in raised}
    found = [(s, e) for s, e in seen if id(e) in ids]
    return found or seen[-len(raised) :]


def record(
    sample: grammar.Sample,
    exc: InvariantFailure,
    gen: str,
    name: str,
    ignore: frozenset[str],
    reduce: bool,
) -> dict[str, Any]:
    options = OPTION_SETS[name]
    text = sample.text
    expect = expected_for(sample, options)
    if reduce and exc.tag != "wrong-value":
        smaller = reduce_text(text, options, exc.tag, ignore)
        if smaller != text:
            text, expect = smaller, grammar.MISSING
            try:
                check(text, options, ignore=ignore)
            except InvariantFailure as again:
                exc = again
    headline = str(exc).splitlines()[0]
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    case: dict[str, Any] = {
        "text": text,
        "options": options,
        "note": f"{headline} [{name}, {gen}] (fuzz.py {stamp})",
    }
    if expect is not grammar.MISSING and not isinstance(expect, tuple):
        case["expect"] = expect
    case["_message"] = str(exc)
    return case


def _dump(case: dict[str, Any]) -> str:
    clean = {k: v for k, v in case.items() if not k.startswith("_")}
    try:
        line = json.dumps(clean, ensure_ascii=False)
        line.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: keep it escaped
        line = json.dumps(clean)
    return line


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--minutes", type=float, default=10.0, help="how long to fuzz (default 10)")
    ap.add_argument(
        "--option-set",
        action="append",
        choices=sorted(OPTION_SETS),
        metavar="NAME",
        help=f"only these option sets (repeatable): {', '.join(OPTION_SETS)}",
    )
    ap.add_argument("--generator", action="append", choices=sorted(GENERATORS), metavar="NAME")
    ap.add_argument("--ignore", action="append", default=[], metavar="TAG")
    ap.add_argument("--out", type=Path, default=DATA, help="where to append new cases")
    ap.add_argument("--no-record", action="store_true", help="print findings only")
    ap.add_argument("--no-reduce", action="store_true", help="keep Hypothesis' minimal text")
    args = ap.parse_args(argv)

    ignore = frozenset(args.ignore)
    names = args.option_set or list(OPTION_SETS)
    gens = args.generator or list(GENERATORS)
    pairs = [(g, n) for n in names for g in gens]
    total = args.minutes * 60
    end = time.monotonic() + total
    per_example = {g: 0.05 for g in gens}  # seconds, measured as we go
    slice_seconds = max(5.0, min(60.0, total / len(pairs)))
    known = _known(args.out)
    found: list[dict[str, Any]] = []
    runs = examples_run = 0

    print(f"fuzzing {len(pairs)} generator x option-set pairs for {args.minutes:g} min", flush=True)
    for gen, name in itertools.cycle(pairs):
        left = end - time.monotonic()
        if left <= 0:
            break
        n = int(max(5, min(slice_seconds, left) / per_example[gen]))
        t0 = time.monotonic()
        try:
            failures = run_slice(gen, name, n, ignore)
        except KeyboardInterrupt:
            print("interrupted", flush=True)
            break
        except BaseException as exc:  # an internal error, not a finding
            print(f"internal error in {gen} x {name}: {exc!r}", file=sys.stderr, flush=True)
            raise
        took = time.monotonic() - t0
        runs += 1
        examples_run += n
        if not failures:
            per_example[gen] = 0.5 * per_example[gen] + 0.5 * took / n
            print(f"  {gen:6} x {name:28} {n:5} examples ok ({took:.1f}s)", flush=True)
            continue
        for sample, exc in failures:
            case = record(sample, exc, gen, name, ignore, not args.no_reduce)
            found.append(case)
            key = _key(case)
            new = key not in known
            print(f"\nFOUND ({'new' if new else 'already recorded'}): {case['note']}")
            print(case["_message"])
            print(f"reproduce: check({case['text']!r}, {case['options']!r})\n", flush=True)
            if new and not args.no_record:
                with args.out.open("a", encoding="utf-8") as f:
                    f.write(_dump(case) + "\n")
                known.add(key)

    print(
        f"done: {runs} runs, about {examples_run} examples, {len(found)} failure(s) found"
        + (f", recorded in {args.out}" if found and not args.no_record else ""),
        flush=True,
    )
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
