"""Every Python example in the README and docs/*.md runs as written and prints what it says.

A ```python block that is a whole program -- it calls ``trio.run(`` or ``asyncio.run(``, or
awaits nothing -- is executed; a fragment of a larger async program (``await`` outside a
function) is compiled.  What a program prints must include every ``# {...}`` comment that
follows a ``print(...)`` on its line, and the ``# ...`` lines after its ``trio.run(...)`` /
``asyncio.run(...)`` call or, without one, at the end of the block.  Blocks that need the
cluster's environment (``jsonvisor.cluster``) are only compiled here; ``tests_actors/`` runs
the cluster.  The ``jsonvisor parse`` console examples are tests/test_cli_readme.py's.
"""

from __future__ import annotations

import ast
import contextlib
import io
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RUNS = ("trio.run(", "asyncio.run(")


def blocks() -> list[tuple[str, str]]:
    out = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for i, code in enumerate(re.findall(r"```python\n(.*?)\n```\n", text, re.S)):
            out.append((f"{page.relative_to(ROOT)}-{i}", code))
    return out


BLOCKS = blocks()


def whole_program(code: str) -> bool:
    return (
        any(run in code for run in RUNS) or ("await " not in code and "async with" not in code)
    ) and "jsonvisor.cluster" not in code  # needs the actors environment (tests_actors/)


def expected_output(code: str) -> list[str]:
    """The printed lines the block's comments promise."""
    expected = [m.group(1) for m in re.finditer(r"print\(.*\)\s+# (\{.*\})\n", code + "\n")]
    run = next((r for r in RUNS if r in code), None)
    if run is not None:
        tail = code.split(run, 1)[1].splitlines()[1:]
    else:  # the comment lines after the last line of code
        lines = code.splitlines()
        tail = []
        while lines and lines[-1].startswith("# "):
            tail.insert(0, lines.pop())
    return expected + [line[2:] for line in tail if line.startswith("# ")]


def test_the_docs_have_examples():
    assert len(BLOCKS) >= 15
    assert sum(whole_program(code) for _, code in BLOCKS) >= 12


@pytest.mark.parametrize("code", [c for _, c in BLOCKS], ids=[n for n, _ in BLOCKS])
def test_python_block(code: str) -> None:
    compiled = compile(code, "<docs block>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    if not whole_program(code):
        return  # a fragment: compiled, not run
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compiled, {})
    printed = out.getvalue().splitlines()
    for line in expected_output(code):
        assert line in printed
