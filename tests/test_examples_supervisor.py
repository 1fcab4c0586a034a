"""The supervisor example runs and shows what it promises."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run(name: str) -> str:
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        capture_output=True,
        text=True,
        timeout=120,
        encoding="utf-8",
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_supervisor_fan_in() -> None:
    out = run("supervisor_fan_in.py")
    lines = out.splitlines()
    # Every message ended exactly once, in the order of their IDs.
    assert [line.split()[1].rstrip(":") for line in lines[:5]] == [
        "broken",
        "cut-off",
        "recipe",
        "summary",
        "weather",
    ]
    assert "failed broken: JsonStreamError at byte 28" in out  # only that message failed
    assert (
        'completed cut-off: confidence=medium value={"answer": "The quick brown fox jumps ov"}'
        in out
    )
    assert 'completed recipe: confidence=high value={"title": "Crêpes", "steps": ["mix"' in out
    assert "completed weather: confidence=high" in out
    growing = re.search(
        r"title seen growing in (\d+) steps, last 'Streaming JSON, supervised'", out
    )
    assert growing and int(growing.group(1)) >= 2  # followed live, not just at the end
    stats = re.search(
        r"stats: started=5 completed=4 failed=1 open=0 dead_letters=(\d+) events=(\d+)", out
    )
    assert stats, out
    assert int(stats.group(1)) >= 1  # the late token at least: never a new message
