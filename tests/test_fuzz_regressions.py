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


def test_the_reducer_never_makes_two_keys_alike() -> None:
    """scripts/fuzz.py cuts a failing text down only while no object repeats a key: the
    grammar never does (the last value wins, so a snapshot changes and a member completes
    twice), and a text whose keys the cutting made alike fails for that reason instead."""
    import sys

    sys.path.insert(0, str(Path(__file__).parent.parent / "scripts"))
    import fuzz

    lenient = {"multiple_values": True, "lenient": True}
    assert fuzz._repeats_a_key("{''/**/:\"\",'':0 '", lenient)  # (what it once kept)
    assert fuzz._repeats_a_key('[{"a": 1, "a": 3}]', {})
    assert not fuzz._repeats_a_key('{"a": 1, "b": {"a": 2}}', {})
    assert not fuzz._repeats_a_key('{"a": 1}\n{"a": 2}', {"multiple_values": True})
    assert not fuzz._repeats_a_key('{"a": [1, 2]', {})
