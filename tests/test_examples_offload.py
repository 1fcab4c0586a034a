"""The multi-core offload example: inline, thread and process give identical values."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "offload_demo.py"


def test_offload_demo():
    proc = subprocess.run(
        [sys.executable, str(EXAMPLE)],
        capture_output=True,
        text=True,
        timeout=300,
        encoding="utf-8",
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("3 documents")
    for mode in ("inline", "thread", "process"):
        row = next(line for line in lines if line.strip().startswith(f"{mode}:"))
        assert row.endswith("values identical: True"), row
