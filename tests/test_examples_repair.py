"""``examples/repair_truncated.py`` runs and prints what it promises."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "repair_truncated.py"


def run_example() -> str:
    """Run the example in a fresh interpreter; return its standard output."""
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.run(
        [sys.executable, str(EXAMPLE)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    return proc.stdout


def test_example_streams_repairs_and_reports() -> None:
    """Partial values grow, then the final value, every repair and the confidence."""
    out = run_example()
    lines = out.splitlines()
    assert lines[0] == "streaming 117 tokens (max_tokens reached, finish_reason='length')"
    progress = [line for line in lines if line.startswith("[")]
    assert len(progress) >= 5
    assert progress[0].endswith("(no JSON yet: skipping the prose)")
    assert progress[-1].startswith("[117] ")
    assert progress[-1].endswith('{"owner": "Mei", "task": "Write the migration guide"}]}')

    final = out.split("final value:\n", 1)[1].split("\n\nrepairs:", 1)[0]
    value = json.loads(final)
    assert list(value) == ["meeting", "date", "action_items"]
    assert value["action_items"][1] == {
        "owner": "Tomás",
        "task": "Benchmark the new parser",
        "due": "2024-07-12",
        "done": True,
    }
    assert value["action_items"][2] == {"owner": "Mei", "task": "Write the migration guide"}

    repairs = out.split("repairs:\n", 1)[1].split("\nconfidence:", 1)[0].splitlines()
    assert repairs == [
        "  - closed_string: closed an open string at $.action_items[2].task",
        "  - closed_object: closed an open object at $.action_items[2]",
        "  - closed_array: closed an open array at $.action_items",
        "  - closed_object: closed an open object at $",
        "  - stripped_fence: stripped an unterminated ``` fence at $",
    ]
    assert "\nconfidence: medium (" in out
    assert lines[-1] == "complete: False"
