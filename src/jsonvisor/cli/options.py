"""The command line: subcommands, options, and their checks (every mistake is one line)."""

from __future__ import annotations

import argparse
import re
import sys
from typing import IO, NoReturn

__all__ = [
    "FORMATS",
    "OneLineParser",
    "build_parser",
    "parse_size",
    "positive_int",
    "stderr_line",
]

#: ``parse --format`` choices.
FORMATS = ("auto", "json", "ndjson", "openai-chat", "openai-responses", "anthropic", "gemini")

_SIZE = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([kmgt]?)(i?)(b?)\s*", re.IGNORECASE)
_POWERS = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4}


def parse_size(text: str) -> int:
    """A byte count: ``1048576``, ``100MB`` (10**8), ``5MiB`` or ``5M`` (5 * 2**20).

    ``kB``/``MB``/``GB``/``TB`` are powers of 1000, ``KiB``/``MiB``/... and the bare
    letters ``K``/``M``/``G``/``T`` powers of 1024 (as in coreutils); case is ignored.
    """
    m = _SIZE.fullmatch(text)
    if m is None:
        raise argparse.ArgumentTypeError(
            f"invalid size {text!r}: write a number of bytes with an optional unit, "
            "e.g. 1048576, 100MB, 5MiB"
        )
    number, prefix, binary, b = m.groups()
    if binary and not prefix:
        raise argparse.ArgumentTypeError(f"invalid size {text!r}: 'i' needs K, M, G or T before it")
    decimal = bool(prefix) and bool(b) and not binary
    base = 1000 if decimal else 1024
    size = int(float(number) * base ** _POWERS[prefix.lower()])
    if size < 1:
        raise argparse.ArgumentTypeError(f"invalid size {text!r}: must be at least 1 byte")
    return size


def positive_int(text: str) -> int:
    """A whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number {text!r}: write a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"invalid number {text!r}: must be at least 1")
    return value


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line: the problem and where to look."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")

    def _print_message(self, message: str, file: IO[str] | None = None) -> None:
        try:
            super()._print_message(message, file)
        except BrokenPipeError:  # ``jsonvisor --help | head``
            pass


def _version() -> str:
    from .. import __version__

    return f"%(prog)s {__version__}"


def _add_parse(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parse = sub.add_parser(
        "parse",
        help="parse a JSON / NDJSON / provider SSE stream into NDJSON records",
        description=(
            "Read raw JSON, NDJSON or a provider's server-sent-event stream and write one "
            "NDJSON record per message (record format: docs/adapters.md, 'jsonvisor parse'). Exit "
            "status: 0 all complete, 1 input error, 2 usage error, 3 incomplete output "
            "with --require-complete."
        ),
    )
    parse.add_argument("file", nargs="?", default="-", help="input file, or - for stdin (default)")
    parse.add_argument(
        "--format",
        default="auto",
        choices=FORMATS,
        metavar="FORMAT",
        help=(
            "input format: auto (default: detected from the file name and the first bytes), "
            "json, ndjson, openai-chat, openai-responses, anthropic, gemini"
        ),
    )
    out = parse.add_mutually_exclusive_group()
    out.add_argument(
        "--emit",
        choices=["final", "events", "snapshots"],
        metavar="WHAT",
        help=(
            "what to write: final (default: one record per message or document), events "
            "(every parser event, then the final record) or snapshots (the partial value "
            "after each chunk, then the final record)"
        ),
    )
    out.add_argument(
        "--follow",
        metavar="PATH",
        help=(
            "print only the value at PATH ($.a.b, $.items[*], $.items[0].title): a string's "
            "text as it grows, other values as JSON when complete, one per line"
        ),
    )
    parse.add_argument(
        "--lenient",
        action="store_true",
        help="LLM mode: find the JSON in prose or a ``` fence, tolerate comments, "
        "trailing commas, single quotes, unquoted keys, NaN, Python literals",
    )
    parse.add_argument(
        "--multiple",
        action="store_true",
        help="accept several top-level values (concatenated or whitespace-separated JSON)",
    )
    parse.add_argument("--schema", metavar="FILE", help="a JSON Schema file: schema-aware parsing")
    parse.add_argument(
        "--require-complete",
        action="store_true",
        help="exit 3 when a value had to be repaired or a message or stream was cut off",
    )
    parse.add_argument(
        "--max-bytes",
        type=parse_size,
        default=5 * 1024 * 1024,
        metavar="SIZE",
        help="the most bytes per document or message (default 5MiB; e.g. 100MB, 5MiB, 4096)",
    )
    parse.add_argument(
        "--max-depth",
        type=positive_int,
        default=256,
        metavar="N",
        help="the most nested arrays and objects (default 256)",
    )
    parse.add_argument(
        "--max-number-length",
        type=positive_int,
        default=1000,
        metavar="N",
        help="the most characters in one number (default 1000)",
    )
    parse.add_argument("--pretty", action="store_true", help="indent the JSON written")
    parse.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="bytes read so far on stderr (default: for files, when stderr is a terminal)",
    )
    parse.add_argument("--version", action="version", version=_version(), help="show the version")


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface (``command`` names the subcommand)."""
    ap = OneLineParser(
        prog="jsonvisor", description="Streamed, incomplete JSON into live partial values."
    )
    ap.add_argument("--version", action="version", version=_version(), help="show the version")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND", title="commands")

    demo = sub.add_parser("demo", help="replay recorded LLM streams through the supervisor")
    demo.add_argument("--speed", type=float, default=1.0, help="token timing multiplier")
    demo.add_argument("--plain", action="store_true", help="no live terminal UI")

    _add_parse(sub)

    from .serve import add_serve

    add_serve(sub)

    bench = sub.add_parser("bench", help="run the benchmarks (source checkout)")
    bench.add_argument("--only", help="run only benchmarks whose name contains this")
    bench.add_argument(
        "extra", nargs=argparse.REMAINDER, help="arguments passed on to each benchmark"
    )

    worker = sub.add_parser("worker", help="join a cluster as a parse worker (actors extra)")
    worker.add_argument(
        "extra", nargs=argparse.REMAINDER, help="worker options (--registry HOST:PORT, ...)"
    )
    return ap


def stderr_line(text: str) -> None:
    """Write one ``jsonvisor: ...`` line to stderr."""
    try:
        sys.stderr.write(f"jsonvisor: {text}\n")
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):
        pass
