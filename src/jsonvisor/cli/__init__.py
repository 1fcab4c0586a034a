"""The ``jsonvisor`` command: ``demo``, ``parse``, ``serve``, ``bench`` and ``worker``.

``python -m jsonvisor`` is the same command.  Every failure is one line on stderr (the
problem and the fix), never a traceback (``JSONVISOR_DEBUG=1`` shows one for an internal
error).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from .options import build_parser, stderr_line
from .problems import Problem
from .records import event_record, result_record

__all__ = ["build_parser", "event_record", "main", "result_record"]


def _parse(args: argparse.Namespace) -> int:
    from .parse import run_parse

    return run_parse(args)


def _bench(args: argparse.Namespace) -> int:
    root = Path(__file__).resolve().parents[3] / "bench"
    scripts = sorted(root.glob("bench_*.py")) if root.is_dir() else []
    if not scripts:
        raise Problem("the benchmarks live in a source checkout's bench/ folder; run it there", 2)
    code = 0
    for script in scripts:
        if args.only and args.only not in script.stem:
            continue
        print(f"## {script.stem}", flush=True)
        code |= subprocess.call([sys.executable, str(script), *args.extra])
    return code


def _demo(args: argparse.Namespace) -> int:
    from ..demo import run_demo

    return run_demo(speed=args.speed, plain=args.plain)


def _serve(args: argparse.Namespace) -> int:
    from .serve import run_serve

    return run_serve(args)


def _worker(args: argparse.Namespace) -> int:
    try:
        from ..cluster.worker import main as worker_main
    except ImportError as exc:
        raise Problem(
            f"the worker needs the 'actors' extra (tractor): {exc}; "
            "pip install 'jsonvisor[actors]'",
            2,
        ) from None
    extra = args.extra[1:] if args.extra[:1] == ["--"] else args.extra
    return int(worker_main(extra) or 0)


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "bench": _bench,
    "demo": _demo,
    "parse": _parse,
    "serve": _serve,
    "worker": _worker,
}


def _quiet_stdout() -> None:
    """After a broken pipe: send what is left to /dev/null (no error at exit)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; return its exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["worker"] and argv[1:2] not in ([], ["-h"], ["--help"], ["--"]):
        # The worker parses its own options (argparse's REMAINDER cannot start with one).
        argv = ["worker", "--", *argv[1:]]
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version, a usage error (already printed)
        return exc.code if isinstance(exc.code, int) else 2
    try:
        return int(_COMMANDS[args.command](args))
    except Problem as problem:
        stderr_line(problem.message)
        return problem.code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        _quiet_stdout()
        return 0
    except Exception as exc:
        if os.environ.get("JSONVISOR_DEBUG"):
            raise
        stderr_line(
            f"internal error: {type(exc).__name__}: {exc}; please report it "
            "(JSONVISOR_DEBUG=1 shows the traceback)"
        )
        return 1
