"""The README's Python examples run as written."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)\n```\n", README.read_text(encoding="utf-8"), re.S)


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_python_block_runs(index):
    code = BLOCKS[index]
    if "async with" in code or "await " in code:
        pytest.skip("async fragment: covered by the supervisor examples' tests")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, f"README block {index}", "exec"), {})
    # Every "# {...}" comment that follows a print(...) line is what it prints.
    printed = out.getvalue().splitlines()
    expected = [m.group(1) for m in re.finditer(r"print\(.*\)\s+# (\{.*\})\n", code)]
    for line in expected:
        assert line in printed
