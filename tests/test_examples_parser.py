"""The parser examples run and show what they promise."""

from __future__ import annotations

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


def test_stream_demo():
    out = run("stream_demo.py")
    assert '[ 12] {"title": "Trip plan: Kyoto in 3 days"}' in out
    assert "final (complete=True, confidence=high)" in out
    assert "closed an open" in out


def test_schema_ui_feed():
    out = run("schema_ui_feed.py")
    first = out.split("after")[0]
    assert "· $.title          null" in first and "· $.price.amount   null" in first
    assert "… $.summary" in out  # a partial string was shown
    assert "model: ProductCard(title='Trail runner 2'" in out
    assert "coerced string '129.90' to number 129.9" in out
