"""Timing helpers for the benchmarks: best-of timing, estimates, and guarded runs.

A *guarded* case never hangs the benchmark: it is measured on growing inputs (``ladder``),
each run in a forked child process killed after a timeout, and it stops growing when the next
size is estimated to take longer than a limit; the time at the full size is then extrapolated
from the largest sizes measured (and reported as an estimate).
"""

from __future__ import annotations

import gc
import json
import math
import multiprocessing
import os
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any


def best_of(fn: Callable[[], object], repeat: int) -> float:
    """Best wall time of ``repeat`` runs, in seconds (GC off while timing)."""
    return timed(fn, repeat)[0]


def timed(fn: Callable[[], object], repeat: int, budget: float = math.inf) -> tuple[float, Any]:
    """(best wall time of one call over up to ``repeat`` samples, the last call's result).

    Runs at least once and stops repeating once ``budget`` seconds have been spent.  The
    garbage collector is off while a sample is timed.  A call shorter than about 5 ms is
    repeated within each sample (as :mod:`timeit` does) and the sample divided, so that
    small documents are not timed cold, just after ``gc.collect()``.
    """
    best = math.inf
    spent = 0.0
    number = 1
    for i in range(max(1, repeat)):
        elapsed, result = _sample(fn, number)
        if i == 0 and elapsed < 0.005:
            number = _calls_for(0.02, elapsed)
        else:
            best = min(best, elapsed)
        spent += elapsed * number
        if spent >= budget and best < math.inf:
            break
    if best == math.inf:  # one sample only
        best = elapsed
    return best, result


def _sample(fn: Callable[[], object], number: int, warm: bool = False) -> tuple[float, Any]:
    """One sample: GC collected, then off while ``fn`` is called ``number`` times (after
    one untimed call if ``warm``); (the mean time of a call, the last call's result)."""
    gc.collect()
    gc.disable()
    try:
        if warm:
            fn()
        t = time.perf_counter()
        for _ in range(number):
            result = fn()
        return (time.perf_counter() - t) / number, result
    finally:
        gc.enable()


def _calls_for(seconds: float, elapsed: float) -> int:
    """How many calls of ``elapsed`` seconds make a sample of about ``seconds``."""
    return max(1, min(1000, int(seconds / max(elapsed, 1e-6))))


def interleaved(fns: Sequence[Callable[[], object]], repeat: int) -> list[float]:
    """Best wall time of one call of each of ``fns``, their samples taken in turn.

    For a ratio with a budget.  Each round times every function once: GC off, one
    untimed call first (so that no sample is taken cold, just after ``gc.collect()``),
    then enough calls for about 4 ms.  A machine that slows down or speeds up during
    the run then moves both sides of the ratio alike, where two :func:`best_of` calls
    apart in time could each catch a different state; and more, shorter samples find
    the machine's quiet moments where a few long ones (a burst of noise from other
    tenants of a shared host spans a whole 20 ms sample) may find none.
    """
    numbers = []
    for fn in fns:
        t = time.perf_counter()
        fn()
        numbers.append(_calls_for(0.004, time.perf_counter() - t))
    best = [math.inf] * len(fns)
    for _ in range(max(1, repeat)):
        for i, fn in enumerate(fns):
            best[i] = min(best[i], _sample(fn, numbers[i], warm=True)[0])
    return best


def in_fresh_interpreters(
    module: str, function: str, args: Sequence[Any], runs: int, timeout: float = 300.0
) -> list[Any]:
    """``module.function(*args)`` in ``runs`` new interpreters, one after another: their
    results (JSON values).

    As pyperf runs a benchmark in several worker processes: a process's own state (its
    hash seed, where its allocator put things, what ran in it before) can move a timing by
    10% or more for the whole life of the process, which no number of samples within it
    averages out.  ``module`` is imported from this directory.
    """
    code = (
        "import json, sys\n"
        f"sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r})\n"
        f"from {module} import {function} as f\n"
        "print(json.dumps(f(*json.loads(sys.argv[1]))))\n"
    )
    out = []
    for _ in range(max(1, runs)):
        done = subprocess.run(
            [sys.executable, "-c", code, json.dumps(list(args))],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"{module}.{function} in a fresh interpreter: {last}")
        out.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return out


def median_run(runs: Sequence[dict[str, float]], num: str, den: str) -> dict[str, float]:
    """The run whose ``num / den`` is the median of ``runs`` (the upper one of two)."""
    return sorted(runs, key=lambda r: r[num] / r[den])[len(runs) // 2]


def exponent(points: Sequence[tuple[int, float]], lo: float = 0.0, hi: float = 3.0) -> float:
    """Growth exponent k (time ~ size**k) from the last two points, clamped (1 if unknown)."""
    if len(points) < 2:
        return min(hi, max(lo, 1.0))
    (n1, t1), (n2, t2) = points[-2], points[-1]
    if n2 == n1 or t1 <= 0 or t2 <= 0:
        return min(hi, max(lo, 1.0))
    return min(hi, max(lo, math.log(t2 / t1) / math.log(n2 / n1)))


def extrapolate(
    points: Sequence[tuple[int, float]], n: int, lo: float = 0.0, hi: float = 3.0
) -> tuple[float, float]:
    """(estimated time at size ``n``, exponent used) from the measured ``points``."""
    k = exponent(points, lo, hi)
    n0, t0 = points[-1]
    return t0 * (n / n0) ** k, k


# -- running in a child process --------------------------------------------------------------


class Timeout(Exception):
    pass


def _fork_context() -> Any:
    try:
        return multiprocessing.get_context("fork")
    except ValueError:  # pragma: no cover - no fork (Windows): run in-process, unguarded
        return None


def isolated(fn: Callable[[], Any], timeout: float) -> Any:
    """``fn()`` in a forked child; its (picklable) result, or raises :class:`Timeout`.

    An exception in the child is re-raised here as ``RuntimeError`` with its traceback text.
    Without ``fork`` the function simply runs here.
    """
    ctx = _fork_context()
    if ctx is None:  # pragma: no cover
        return fn()
    recv, send = ctx.Pipe(duplex=False)

    def child() -> None:
        try:
            send.send(("ok", fn()))
        except BaseException as e:  # report anything, including a crash in the parser
            send.send(("error", f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=3)}"))
        finally:
            send.close()

    proc = ctx.Process(target=child, daemon=True)
    proc.start()
    send.close()
    try:
        if not recv.poll(timeout):
            raise Timeout(f"no answer after {timeout:.0f} s")
        status, payload = recv.recv()
    except EOFError:
        status, payload = "error", f"child process died (exit code {proc.exitcode})"
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join(5)
        recv.close()
    if status == "error":
        raise RuntimeError(payload)
    return payload


# -- guarded cases ----------------------------------------------------------------------------


@dataclass
class Guarded:
    """The outcome of :func:`ladder` at the full size."""

    size: int
    seconds: float  # measured, or estimated when ``estimated``
    outcome: str  # what the case did (e.g. "raised JsonStreamError(limit=max_depth)")
    estimated: bool = False
    note: str = ""  # how the estimate was made, or a timeout / crash
    points: list[tuple[int, float]] = field(default_factory=list)


def kb(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:.3g} MB"
    if n >= 1000:
        return f"{n / 1000:.3g} KB"
    return f"{n} B"


def sizes_up_to(target: int, steps: int = 4, factor: int = 4) -> list[int]:
    """``target / factor**(steps-1)``, ..., ``target / factor``, ``target``."""
    return [max(1, target // factor**i) for i in range(steps - 1, -1, -1)]


def ladder(
    make: Callable[[int], Any],
    run: Callable[[Any], tuple[Any, ...]],
    sizes: Sequence[int],
    *,
    limit: float,
    timeout: float,
    prior: Sequence[tuple[int, float]] = (),
    gate: float | None = None,
) -> Guarded:
    """Measure ``run(make(n))`` for growing ``n`` in ``sizes`` (the last is the full size).

    ``make`` builds the input here; ``run`` times it in a forked child and returns
    (seconds, outcome text), or (estimated seconds, outcome, how) when it stopped itself early.
    Before each size the time is estimated from the sizes measured so far (or from ``prior``
    points of a related case); a size estimated above ``limit`` seconds is not run, and the
    full-size time is extrapolated.  ``gate`` replaces the estimate of the first size (e.g. the
    time of a run's first piece when the run can stop itself after it).  A child that does not
    answer within ``timeout`` seconds is killed, and the time extrapolated likewise.
    """
    target = sizes[-1]
    points: list[tuple[int, float]] = []
    outcome = ""
    note = ""
    if gate is not None and gate > limit:
        return Guarded(
            target,
            gate,
            "(not run)",
            True,
            f"not run: its first piece alone is estimated at {gate:.3g} s from the related "
            "one-chunk row; that lower bound is shown",
        )
    for i, n in enumerate(sizes):
        known = points or list(prior)
        if known and not (gate is not None and i == 0):
            est, _k = extrapolate(known, n)
            if est > limit:
                note = f"not run at {kb(n)}: estimated {est:.1f} s"
                break
        data = make(n)
        try:
            answer = isolated(lambda d=data: run(d), timeout)
        except Timeout:
            note = f"killed at {kb(n)} after {timeout:.0f} s"
            if not known:
                note += f"; at least x({kb(target)}/{kb(n)}) that at full size (lower bound)"
                return Guarded(target, timeout * target / n, "timed out", True, note, [])
            points.append((n, timeout))  # a lower bound
            break
        except RuntimeError as e:
            first = str(e).splitlines()[0]
            return Guarded(n, math.nan, f"CRASHED: {first}", False, str(e), points)
        seconds, outcome = answer[0], answer[1]
        points.append((n, seconds))
        if len(answer) > 2:  # the run stopped itself and estimated its time
            note = answer[2]
            if n == target:
                return Guarded(target, seconds, outcome, True, note, points)
            break
        if n == target:
            return Guarded(target, seconds, outcome, False, "", points)
    known = points or list(prior)
    if not known:  # pragma: no cover
        return Guarded(target, math.inf, outcome or "not run", True, note, points)
    est, k = extrapolate(known, target)
    base_n, base_t = known[-1]
    src = "measured" if points else "related case"
    note = (
        f"{note}; {src} up to {kb(base_n)} ({base_t:.3g} s), "
        f"extrapolated x({kb(target)}/{kb(base_n)})^{k:.2f}"
    ).lstrip("; ")
    return Guarded(target, est, outcome or "(not run)", True, note, points)
