"""Every input that once broke an invariant (tests/data/fuzz_regressions.jsonl).

One JSON object per line: ``text`` (or ``bytes``, hex-encoded, for input that is not valid
UTF-8), ``options`` (the parser's keyword arguments), ``note`` (what it was about), and
optionally ``expect`` (the intended final value).  ``scripts/fuzz.py`` appends the minimal
examples it finds; each line runs through ``invariants.check``: both backends, every
chunking.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from grammar import MISSING
from invariants import check

DATA = Path(__file__).parent / "data" / "fuzz_regressions.jsonl"


def load_cases(path: Path = DATA) -> list[dict[str, Any]]:
    cases = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            case = json.loads(line)
            case["line"] = n
            cases.append(case)
    return cases


def case_input(case: dict[str, Any]) -> str | bytes:
    return bytes.fromhex(case["bytes"]) if "bytes" in case else case["text"]


def _id(case: dict[str, Any]) -> str:
    note = re.sub(r"\s+", " ", case.get("note", "")).strip()
    return f"L{case['line']}-{note[:70]}"


CASES = load_cases()


def test_the_file_is_well_formed() -> None:
    assert CASES
    for case in CASES:
        assert ("text" in case) != ("bytes" in case), case
        assert isinstance(case.get("options"), dict) and case.get("note"), case
        assert set(case) <= {"text", "bytes", "options", "note", "expect", "line"}, case


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_regression(case: dict[str, Any]) -> None:
    check(
        case_input(case),
        case["options"],
        expect=case.get("expect", MISSING),
        note=case["note"],
    )
