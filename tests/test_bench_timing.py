"""The benchmark's timing helpers (bench/timing.py) that its budgets' ratios rest on."""

from __future__ import annotations

import gc
import os
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import timing


def test_interleaved_times_each_function_in_turn_with_gc_off() -> None:
    calls: list[str] = []
    gc_on: list[bool] = []

    def slow() -> None:
        calls.append("slow")
        gc_on.append(gc.isenabled())
        time.sleep(0.003)

    def fast() -> None:
        calls.append("fast")
        gc_on.append(gc.isenabled())

    best_slow, best_fast = timing.interleaved([slow, fast], 3)
    assert best_slow >= 0.003 > best_fast
    # one sizing call each, then rounds of (slow's samples, fast's samples)
    assert calls[:2] == ["slow", "fast"]
    rounds = "".join("s" if c == "slow" else "f" for c in calls[2:])
    assert rounds.count("s") == 3 * 2  # an untimed call and one timed call per round
    assert rounds.startswith("ss") and "fs" in rounds  # taken in turn, not one then the other
    assert not any(gc_on[2:])
    assert gc.isenabled()


def test_median_run_picks_the_run_with_the_median_ratio() -> None:
    runs = [{"a": 6.0, "b": 1.0}, {"a": 5.0, "b": 1.0}, {"a": 10.0, "b": 1.0}]
    assert timing.median_run(runs, "a", "b") == {"a": 6.0, "b": 1.0}
    assert timing.median_run(runs[:1], "a", "b") == runs[0]


def test_in_fresh_interpreters_runs_the_function_in_new_processes() -> None:
    assert timing.in_fresh_interpreters("timing", "kb", [2048], 2) == ["2.05 KB", "2.05 KB"]
    pids = timing.in_fresh_interpreters("os", "getpid", [], 2)
    assert len(set(pids)) == 2 and os.getpid() not in pids


def test_in_fresh_interpreters_reports_a_failure_in_one_line() -> None:
    with pytest.raises(RuntimeError, match=r"timing\.kb in a fresh interpreter: TypeError"):
        timing.in_fresh_interpreters("timing", "kb", ["not", "an int"], 1)
