"""The ``jsonvisor`` command: ``demo``, ``parse``, ``bench`` and ``worker``.

``python -m jsonvisor`` is the same command.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from .parsers import (
    DocumentCompleted,
    Event,
    JsonStreamError,
    ParseResult,
    StreamingJsonParser,
    StringGrew,
    ValueCompleted,
    ValueStarted,
)

__all__ = ["event_record", "main", "result_record"]

_READ_SIZE = 65536
_RAW_FORMATS = ("json", "ndjson")


def event_record(msg_id: str, ev: Event) -> dict[str, Any]:
    """One parser event as a JSON-ready dict (one NDJSON line of ``parse --emit events``)."""
    if isinstance(ev, StringGrew):
        return {"msg": msg_id, "type": "string_grew", "path": list(ev.path), "text": ev.text}
    if isinstance(ev, ValueStarted):
        return {"msg": msg_id, "type": "value_started", "path": list(ev.path), "kind": ev.kind}
    if isinstance(ev, ValueCompleted):
        return {"msg": msg_id, "type": "value_completed", "path": list(ev.path), "value": ev.value}
    assert isinstance(ev, DocumentCompleted)
    return {"msg": msg_id, "type": "document_completed", "index": ev.index, "value": ev.value}


def result_record(msg_id: str, result: ParseResult) -> dict[str, Any]:
    """A final result as a JSON-ready dict."""
    out: dict[str, Any] = {
        "msg": msg_id,
        "type": "final",
        "value": result.value,
        "complete": result.complete,
        "confidence": result.confidence,
        "repairs": [str(r) for r in result.repairs],
    }
    if result.warnings:
        out["warnings"] = [w.message for w in result.warnings]
    return out


def _error_record(msg_id: str, err: JsonStreamError) -> dict[str, Any]:
    return {
        "msg": msg_id,
        "type": "error",
        "error": str(err),
        "offset": err.offset,
        "line": err.line,
        "column": err.column,
    }


class _Output:
    """Writes NDJSON records for ``parse``."""

    def __init__(self, stream: IO[str], emit: str) -> None:
        self.stream = stream
        self.emit = emit

    def write(self, record: dict[str, Any]) -> None:
        self.stream.write(json.dumps(record, ensure_ascii=False) + "\n")

    def events(self, msg_id: str, parser: StreamingJsonParser, events: list[Event]) -> None:
        if self.emit == "events":
            for ev in events:
                self.write(event_record(msg_id, ev))
        elif self.emit == "snapshots" and events:
            self.write({"msg": msg_id, "type": "snapshot", "value": parser.snapshot()})
        if self.emit == "final" and parser.multiple_values:
            for ev in events:
                if isinstance(ev, DocumentCompleted):
                    self.write(
                        {"msg": msg_id, "type": "document", "index": ev.index, "value": ev.value}
                    )


class _Progress:
    """Bytes read so far on stderr, at most a few times a second."""

    def __init__(self, total: int | None, enabled: bool) -> None:
        self.total = total
        self.enabled = enabled
        self.done = 0
        self.last = 0.0

    def add(self, n: int, final: bool = False) -> None:
        self.done += n
        now = time.monotonic()
        if not self.enabled or (not final and now - self.last < 0.25):
            return
        self.last = now
        pct = f" ({100 * self.done / self.total:.0f}%)" if self.total else ""
        total = f" / {self.total / 1e6:.1f} MB" if self.total else ""
        sys.stderr.write(f"jsonvisor: read {self.done / 1e6:.1f} MB{total}{pct}\n")
        sys.stderr.flush()


def _chunks(stream: IO[bytes]) -> Iterator[bytes]:
    while True:
        data = stream.read1(_READ_SIZE) if hasattr(stream, "read1") else stream.read(_READ_SIZE)
        if not data:
            return
        yield data


def _parser_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    kw: dict[str, Any] = {
        "lenient": args.lenient,
        "max_bytes": args.max_bytes,
        "max_depth": args.max_depth,
        "max_number_length": args.max_number_length,
    }
    if args.schema:
        kw["schema"] = json.loads(Path(args.schema).read_text(encoding="utf-8"))
    return kw


def _parse(args: argparse.Namespace) -> int:
    from .llm import Delta, MessageEnd, StreamError, adapter_for, detect_format

    if args.file == "-":
        stream: IO[bytes] = sys.stdin.buffer
        total = None
        name = "stdin"
    else:
        try:
            stream = open(args.file, "rb")  # closed in the finally below
        except OSError as exc:
            print(f"jsonvisor: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
            return 2
        total = os.fstat(stream.fileno()).st_size
        name = Path(args.file).name
    progress = _Progress(
        total,
        args.progress if args.progress is not None else (total is not None and sys.stderr.isatty()),
    )
    out = _Output(sys.stdout, args.emit)
    kw = _parser_kwargs(args)
    chunks = _chunks(stream)
    fmt = args.format
    pending = b""
    if fmt == "auto":
        for data in chunks:
            pending += data
            fmt = detect_format(pending[:4096]) or ""
            if fmt or len(pending) >= 4096:
                break
        fmt = fmt or "json"
    failed = False
    try:
        if fmt in _RAW_FORMATS:
            parser = StreamingJsonParser(multiple_values=fmt == "ndjson" or args.multiple, **kw)
            try:
                for data in _prepend(pending, chunks):
                    out.events(name, parser, parser.feed(data))
                    progress.add(len(data))
                result = parser.finish()
            except JsonStreamError as err:
                out.write(_error_record(name, err))
                print(f"jsonvisor: {name}: {err}", file=sys.stderr)
                return 1
            if args.emit == "events":
                for ev in result.events:
                    out.write(event_record(name, ev))
            if not parser.multiple_values or not result.complete:
                out.write(result_record(name, result))
            progress.add(0, final=True)
            return 0
        adapter = adapter_for(fmt)
        parsers: dict[str, StreamingJsonParser] = {}
        errors: set[str] = set()

        def handle(items: list[Any]) -> None:
            nonlocal failed
            for item in items:
                msg = str(item.msg_id) if getattr(item, "msg_id", None) is not None else name
                if isinstance(item, Delta):
                    if msg in errors:
                        continue
                    p = parsers.setdefault(msg, StreamingJsonParser(**kw))
                    try:
                        out.events(msg, p, p.feed(item.text))
                    except JsonStreamError as err:
                        errors.add(msg)
                        failed = True
                        out.write(_error_record(msg, err))
                elif isinstance(item, (MessageEnd, StreamError)):
                    if isinstance(item, StreamError):
                        out.write(
                            {
                                "msg": msg,
                                "type": "stream_error",
                                "error": item.message,
                                "truncated": item.truncated,
                            }
                        )
                        failed = failed or not item.truncated
                    p = parsers.pop(msg, None)
                    if p is None or msg in errors:
                        continue
                    result = p.finish()
                    if args.emit == "events":
                        for ev in result.events:
                            out.write(event_record(msg, ev))
                    out.write(result_record(msg, result))

        for data in _prepend(pending, chunks):
            handle(adapter.feed(data))
            progress.add(len(data))
        handle(adapter.close())
        for msg in list(parsers):  # messages the stream never ended
            handle([StreamError(msg, "stream ended without closing the message", True)])
        progress.add(0, final=True)
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    return 1 if failed else 0


def _prepend(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from rest


def _bench(args: argparse.Namespace) -> int:
    root = Path(__file__).resolve().parents[2] / "bench"
    scripts = sorted(root.glob("bench_*.py")) if root.is_dir() else []
    if not scripts:
        print(
            "jsonvisor: the benchmarks live in a source checkout's bench/ folder", file=sys.stderr
        )
        return 2
    code = 0
    for script in scripts:
        if args.only and args.only not in script.stem:
            continue
        print(f"## {script.stem}", flush=True)
        code |= subprocess.call([sys.executable, str(script), *args.extra])
    return code


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(speed=args.speed, plain=args.plain)


def _worker(args: argparse.Namespace) -> int:
    try:
        from .cluster.worker import main as worker_main
    except ImportError as exc:
        print(f"jsonvisor: the worker needs the 'actors' extra (tractor): {exc}", file=sys.stderr)
        return 2
    return int(worker_main(args.extra) or 0)


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    ap = argparse.ArgumentParser(
        prog="jsonvisor", description="Streamed, incomplete JSON into live partial values."
    )
    sub = ap.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="replay recorded LLM streams through the supervisor")
    demo.add_argument("--speed", type=float, default=1.0, help="token timing multiplier")
    demo.add_argument("--plain", action="store_true", help="no live terminal UI")
    demo.set_defaults(func=_demo)

    parse = sub.add_parser("parse", help="parse a JSON / NDJSON / provider SSE stream")
    parse.add_argument("file", nargs="?", default="-", help="input file, or - for stdin")
    parse.add_argument(
        "--format",
        default="auto",
        choices=[
            "auto",
            "json",
            "ndjson",
            "openai-chat",
            "openai-responses",
            "anthropic",
            "gemini",
        ],
    )
    parse.add_argument("--emit", default="final", choices=["events", "snapshots", "final"])
    parse.add_argument("--lenient", action="store_true", help="LLM mode (tolerant syntax)")
    parse.add_argument("--multiple", action="store_true", help="several top-level values")
    parse.add_argument("--schema", help="a JSON Schema file for schema-aware parsing")
    parse.add_argument("--max-bytes", type=int, default=5 * 1024 * 1024)
    parse.add_argument("--max-depth", type=int, default=256)
    parse.add_argument("--max-number-length", type=int, default=1000)
    parse.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress on stderr (default: for files, on a terminal)",
    )
    parse.set_defaults(func=_parse)

    bench = sub.add_parser("bench", help="run the benchmarks (source checkout)")
    bench.add_argument("--only", help="run only benchmarks whose name contains this")
    bench.add_argument("extra", nargs=argparse.REMAINDER)
    bench.set_defaults(func=_bench)

    worker = sub.add_parser("worker", help="join a cluster as a parse worker (actors extra)")
    worker.add_argument("extra", nargs=argparse.REMAINDER)
    worker.set_defaults(func=_worker)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; return its exit status."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
