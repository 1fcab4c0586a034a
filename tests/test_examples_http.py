"""The HTTP fan-in example: real sockets on 127.0.0.1, httpx, adapters, one supervisor."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "http_fan_in.py"


def test_http_fan_in_example():
    proc = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True,
                          timeout=120, encoding="utf-8")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.count("complete=True") == 6  # 3 parallel tool calls, tool use, Gemini, Responses
    assert "complete=False" not in out
    assert '"location": "São Paulo, Brazil"' in out
    assert out.strip().endswith("open mailboxes 0")
