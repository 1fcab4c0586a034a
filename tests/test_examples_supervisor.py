"""The supervisor example runs and shows what it promises."""

from __future__ import annotations

import contextlib
import io
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


def test_supervisor_asyncio() -> None:
    out = run("supervisor_asyncio.py")
    lines = set(out.splitlines())
    assert (
        "trip: {'city': 'Kyoto', 'days': 3, 'sights': ['Fushimi Inari', 'Gion']} "
        "(complete=True)" in lines
    )  # found in the prose (LLM mode)
    assert "cut-off: {'summary': 'The quick brown fox jumps ov'} (complete=False)" in lines
    assert any(line.startswith("broken: failed: ") and "byte 28" in line for line in lines)
    seen = re.search(r"'trip' seen in (\d+) partial states, first \{\}", out)
    assert seen and int(seen.group(1)) >= 5, out  # followed live, not just at the end
    assert out.strip().endswith("completed=2 failed=1")


def test_readme_asyncio_quickstart_of_the_supervisor_runs() -> None:
    # tests/test_docs_examples.py runs every block; this checks all of this one's output.
    readme = (EXAMPLES.parent / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)\n```\n", readme, re.S)
    [code] = [b for b in blocks if "asyncio.run(main())" in b and "open_supervisor" in b]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README asyncio quickstart", "exec"), {})
    expected = [line[2:] for line in code.split("asyncio.run(main())", 1)[1].splitlines()[1:]]
    assert expected and sorted(out.getvalue().splitlines()) == sorted(expected)
