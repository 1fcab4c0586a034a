"""A corpus of realistic model outputs through ``StreamingJsonParser(lenient=True)``.

Each case under ``tests/data/llm_corpus/`` is what GPT, Claude, Gemini or Llama emit for
structured-output and tool-call prompts (fenced, wrapped in prose, with comments, Python or
JavaScript literals, often cut by a token limit), with the value, repairs, confidence and
completeness jsonvisor must report.  Every case is fed whole, in token-like chunks and as
UTF-8 bytes split anywhere: the result must be the same, and the partial value seen
while streaming must only grow.  The last tests check ``REPAIR_COMPARISON.md`` is up to
date with ``tests/data/llm_corpus/compare.py``.
"""

from __future__ import annotations

import copy
import importlib.util
import itertools
import json
import random
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from jsonvisor.parsers import JsonStreamError, ParseResult, StreamingJsonParser

CORPUS_DIR = Path(__file__).parent / "data" / "llm_corpus"


def _load_compare() -> ModuleType:
    """Import ``tests/data/llm_corpus/compare.py`` (not a package) as ``llm_corpus_compare``."""
    name = "llm_corpus_compare"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, CORPUS_DIR / "compare.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


compare = _load_compare()
is_extension = compare.is_extension
same = compare.same

CASES: list[dict[str, Any]] = compare.load_cases()
IDS = [case["name"] for case in CASES]
KINDS = {
    "closed_string",
    "closed_array",
    "closed_object",
    "dropped_key",
    "dropped_value",
    "dropped_escape",
    "dropped_bytes",
    "dropped_comma",
    "completed_literal",
    "stripped_fence",
    "no_value",
}
TOKEN_SEEDS = (0, 1, 2, 3)
BYTE_SEEDS = (0, 1, 2)


# ---------------------------------------------------------------------- helpers


def token_chunks(text: str, seed: int) -> list[str]:
    """Cut ``text`` like a tokenizer's stream: 1 to 8 characters at a time."""
    rng = random.Random(f"tokens-{seed}-{text}")
    out, i = [], 0
    while i < len(text):
        k = rng.randint(1, 8)
        out.append(text[i : i + k])
        i += k
    return out


def byte_chunks(text: str, seed: int) -> list[bytes]:
    """``text`` as UTF-8, split at random byte positions (inside characters too)."""
    data = text.encode("utf-8")
    rng = random.Random(f"bytes-{seed}-{text}")
    cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, len(data) // 4)))
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


def stream(chunks: Sequence[str | bytes]) -> ParseResult:
    """Feed ``chunks`` to a lenient parser, checking the snapshot only ever grows."""
    parser = StreamingJsonParser(lenient=True)
    shown: Any = None
    for i, chunk in enumerate(chunks):
        parser.feed(chunk)
        snap = copy.deepcopy(parser.snapshot())
        assert is_extension(shown, snap), f"after chunk {i} ({chunk!r}): {shown!r} -> {snap!r}"
        shown = snap
    result = parser.finish()
    assert is_extension(shown, result.value), f"final {result.value!r} after {shown!r}"
    return result


def check(case: dict[str, Any], result: ParseResult) -> None:
    """``result`` is what the case expects."""
    assert same(result.value, case["expected_value"]), (result.value, case["expected_value"])
    assert [r.kind for r in result.repairs] == case["expected_repairs"], result.repairs
    assert result.confidence == case["expected_confidence"]
    assert result.complete is case["expected_complete"]


def is_plain_json(text: str) -> bool:
    """Is ``text`` valid JSON by RFC 8259 (no NaN/Infinity, nothing around it)?"""

    def reject(token: str) -> Any:
        raise ValueError(token)

    try:
        json.loads(text, parse_constant=reject)
    except ValueError:
        return False
    return True


# ---------------------------------------------------------------------- the corpus


def test_corpus_is_well_formed() -> None:
    """Enough cases, every field present, names unique and matching file names."""
    assert len(CASES) >= 45
    assert len(set(IDS)) == len(IDS)
    truncated = [c for c in CASES if not c["expected_complete"]]
    assert len(truncated) >= 20
    for case in CASES:
        assert set(compare.FIELDS) <= set(case), case["file"]
        assert case["file"] == f"{case['name']}.json"
        assert case["description"].strip()
        assert set(case["expected_repairs"]) <= KINDS, case["name"]
        assert case["expected_confidence"] in ("high", "medium", "low")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_corpus_expectations_are_consistent(case: dict[str, Any]) -> None:
    """Confidence and completeness follow from the repairs as documented."""
    counted = [k for k in case["expected_repairs"] if k != "stripped_fence"]
    assert case["expected_complete"] is (not counted)
    if not counted:
        expected = "high"
    elif all(k.startswith("closed_") or k == "dropped_comma" for k in counted):
        expected = "medium"
    else:
        expected = "low"
    assert case["expected_confidence"] == expected


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_whole(case: dict[str, Any]) -> None:
    """The whole output in one chunk."""
    check(case, stream([case["output"]]))


@pytest.mark.parametrize("seed", TOKEN_SEEDS)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_token_chunks(case: dict[str, Any], seed: int) -> None:
    """1-8 character chunks: same value, same repairs (paths and details too)."""
    whole = stream([case["output"]])
    result = stream(token_chunks(case["output"], seed))
    check(case, result)
    assert result.repairs == whole.repairs


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_one_character_at_a_time(case: dict[str, Any]) -> None:
    """The finest split: every character on its own."""
    whole = stream([case["output"]])
    result = stream(list(case["output"]))
    check(case, result)
    assert result.repairs == whole.repairs


@pytest.mark.parametrize("seed", BYTE_SEEDS)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_byte_chunks(case: dict[str, Any], seed: int) -> None:
    """UTF-8 bytes split at random positions, inside multi-byte characters too."""
    whole = stream([case["output"]])
    result = stream(byte_chunks(case["output"], seed))
    check(case, result)
    assert result.repairs == whole.repairs


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_strict_mode(case: dict[str, Any]) -> None:
    """Without ``lenient``, only plain JSON is accepted (truncation is an error too)."""
    parser = StreamingJsonParser()
    if is_plain_json(case["output"]):
        parser.feed(case["output"])
        result = parser.finish(allow_partial=False)
        assert same(result.value, case["expected_value"])
        assert result.complete and result.confidence == "high"
        return
    with pytest.raises(JsonStreamError):
        parser.feed(case["output"])
        parser.finish(allow_partial=False)


# ---------------------------------------------------------------------- is_extension


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (None, {"a": 1}, True),
        ({"a": "He"}, {"a": "Hello", "b": 2}, True),
        ({"a": [1]}, {"a": [1, 2]}, True),
        ([{"x": "ab"}], [{"x": "abc"}, {}], True),
        ({"a": "Hello"}, {"a": "Help"}, False),
        ({"a": 1, "b": 2}, {"b": 2, "a": 1}, False),
        ({"a": 1}, {"a": 1.0}, False),
        ({"a": "x", "b": "y"}, {"a": "xz", "b": "y"}, False),
        ({"a": {}}, {}, False),
        ([1, 2], [1], False),
        ({"a": None}, {"a": 0}, False),
    ],
)
def test_is_extension(old: Any, new: Any, expected: bool) -> None:
    """Only growth at the end counts; completed members must stay as they were."""
    assert is_extension(old, new) is expected


# ---------------------------------------------------------------------- json_repair


def test_comparison_document_is_up_to_date() -> None:
    """``REPAIR_COMPARISON.md``'s generated tables match a fresh run of compare.py."""
    pytest.importorskip("json_repair")
    document = compare.DOC_PATH.read_text(encoding="utf-8")
    block = compare.extract_block(document)
    assert block, "REPAIR_COMPARISON.md lacks the generated block"
    assert block == compare.render_block(), (
        "REPAIR_COMPARISON.md is out of date: run "
        ".venv/bin/python tests/data/llm_corpus/compare.py --write"
    )


def test_comparison_table_lists_every_case() -> None:
    """Every case has a row in the comparison table."""
    pytest.importorskip("json_repair")
    rows = compare.comparison_rows(CASES)
    assert [row[0] for row in rows] == IDS
