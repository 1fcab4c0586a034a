"""The README's Python examples run as written."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
# Whole programs only: fragments of a larger async program (``await`` outside ``trio.run``)
# and SDK calls are exercised by the examples' tests instead.
BLOCKS = [
    code
    for code in re.findall(r"```python\n(.*?)\n```\n", README.read_text(encoding="utf-8"), re.S)
    if ("trio.run(" in code or ("await " not in code and "async with" not in code))
    and "jsonvisor.cluster" not in code  # needs the actors environment (tests_actors/)
]


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_python_block_runs(index):
    code = BLOCKS[index]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, f"README block {index}", "exec"), {})
    # Every "# {...}" comment that follows a print(...) line is what it prints, and so are
    # the "# ..." lines after a trio.run(...) call.
    printed = out.getvalue().splitlines()
    expected = [m.group(1) for m in re.finditer(r"print\(.*\)\s+# (\{.*\})\n", code)]
    tail = code.split("trio.run(", 1)[1].splitlines()[1:] if "trio.run(" in code else []
    expected += [line[2:] for line in tail if line.startswith("# ")]
    for line in expected:
        assert line in printed
