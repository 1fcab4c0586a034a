"""The ``jsonvisor parse`` examples of docs/adapters.md print what the page says (the record
format documented there is the one the installed command writes)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GUIDE = (ROOT / "docs" / "adapters.md").read_text(encoding="utf-8")
SECTION = GUIDE.split("### `jsonvisor parse`", 1)[1].split("\n## ", 1)[0]
BLOCKS = re.findall(r"```console\n(.*?)```", SECTION, re.S)


def examples() -> list[tuple[str, str]]:
    """``(command, expected output)`` for every ``$ `` line of the section's console blocks."""
    out: list[tuple[str, str]] = []
    for block in BLOCKS:
        for part in re.split(r"^\$ ", block, flags=re.M)[1:]:
            command, _, expected = part.partition("\n")
            out.append((command, expected))
    return out


EXAMPLES = examples()


def test_the_section_has_examples():
    assert len(EXAMPLES) >= 6


@pytest.fixture(scope="module")
def path_with_jsonvisor(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A PATH where ``jsonvisor`` is the installed command (or ``python -m jsonvisor``)."""
    script = Path(sys.executable).with_name("jsonvisor")
    if not script.exists():
        bindir = tmp_path_factory.mktemp("bin")
        script = bindir / "jsonvisor"
        script.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m jsonvisor "$@"\n')
        script.chmod(0o755)
    return f"{script.parent}{os.pathsep}{os.environ.get('PATH', '')}"


@pytest.mark.parametrize("command,expected", EXAMPLES, ids=[c[:60] for c, _ in EXAMPLES])
def test_readme_example(command, expected, path_with_jsonvisor):
    proc = subprocess.run(
        ["bash", "-c", command],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PATH": path_with_jsonvisor},
        timeout=120,
    )
    assert proc.stdout.decode("utf-8") == expected
