"""The adapters demo runs offline and shows what it promises."""

from __future__ import annotations

import ast
import contextlib
import io
import re
import subprocess
import sys
from pathlib import Path

DEMO = Path(__file__).resolve().parents[1] / "examples" / "adapters_demo.py"
ASYNC_OK = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT


def run_demo(*args: str) -> str:
    proc = subprocess.run(
        [sys.executable, str(DEMO), *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    return proc.stdout


def test_default_demo_demultiplexes_three_parallel_tool_calls() -> None:
    out = run_demo("--pairs", "5")
    rid = "chatcmpl-B3kq9ZrD7xWcV1nYf0sJtLmHa2E8p"
    assert "detected format 'openai-chat'" in out
    for i, name in enumerate(["get_weather", "get_weather", "search_flights"]):
        assert f"start  {rid}:choice0:tool{i}  tool_call {name}" in out
        assert f"end    {rid}:choice0:tool{i}  reason=tool_calls" in out
    assert f"('{rid}:choice0:tool0', '{{\"')" in out  # a (msg_id, text) pair
    assert "more (msg_id, text) pairs not shown" in out
    assert 'get_weather({"location": "Zürich, Switzerland", "unit": "celsius", "days": 3})' in out
    assert out.count("complete=True confidence=high") == 3
    assert "errors: []" in out


def test_demo_runs_every_recording() -> None:
    out = run_demo("all", "--pairs", "0")
    for fmt in ("anthropic", "gemini", "openai-chat", "openai-responses"):
        assert f"detected format '{fmt}'" in out
    assert "create_calendar_event(" in out and "get_departures(" in out
    assert out.count("errors: []") == 5
    assert "ERROR" not in out


def test_adapters_doc_python_blocks_run() -> None:
    guide = (DEMO.parents[1] / "docs" / "adapters.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)\n```\n", guide, re.S)
    ran = 0
    for i, code in enumerate(blocks):
        compiled = compile(code, f"docs/adapters.md block {i}", "exec", flags=ASYNC_OK)
        if "await " in code:
            continue  # fragments of async functions: compiled, not run
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compiled, {})
        ran += 1
        for m in re.finditer(r"print\((.*)\)\s+# (.*)\n", code):
            assert m.group(2) in out.getvalue().splitlines()
    assert ran >= 1
