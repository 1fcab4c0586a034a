"""The bulk path's boundary scanners: C (``_scan.h``) and regex versions agree exactly."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jsonvisor.parsers import fastpath
from jsonvisor.parsers.accelerator import speedups

pytestmark = pytest.mark.skipif(speedups is None, reason="the C accelerator is not built")

# Text made of the characters the scanners care about, plus some others.
_ALPHABET = st.sampled_from([*'[]{}",:\\ \n\t1a-.é😀', "\x00", "tr", "ue"])
texts = st.lists(_ALPHABET, min_size=1, max_size=60).map("".join)


@settings(max_examples=1500, deadline=None)
@given(texts, st.data())
def test_scan_value_end_agrees(text: str, data: st.DataObject) -> None:
    pos = data.draw(st.integers(0, len(text) - 1))
    limit = data.draw(st.integers(pos + 1, len(text)))
    cap = data.draw(st.integers(0, 6))
    assert speedups.scan_value_end(text, pos, limit, cap) == fastpath.py_scan_value_end(
        text, pos, limit, cap
    )


@settings(max_examples=1500, deadline=None)
@given(texts, st.data())
def test_scan_members_agrees(text: str, data: st.DataObject) -> None:
    pos = data.draw(st.integers(0, len(text) - 1))
    limit = data.draw(st.integers(pos + 1, len(text)))
    cap = data.draw(st.integers(0, 6))
    in_object = data.draw(st.booleans())
    assert speedups.scan_members(text, pos, in_object, limit, cap) == fastpath.py_scan_members(
        text, pos, in_object, limit, cap
    )


@settings(max_examples=1500, deadline=None)
@given(texts, st.data())
def test_container_spine_agrees(text: str, data: st.DataObject) -> None:
    opens = [i for i, c in enumerate(text) if c in "[{"]
    if not opens:
        return
    pos = data.draw(st.sampled_from(opens))
    cap = data.draw(st.integers(0, 6))
    assert speedups.container_spine(text, pos, cap) == fastpath.py_container_spine(text, pos, cap)


def test_spine_of_a_cut_document() -> None:
    text = '{"a": [1, {"b": [2, 3]}, [4, {"c": "x]'
    for impl in (speedups.container_spine, fastpath.py_container_spine):
        assert impl(text, 0, 256) == ([0, 6, 25, 29], -1)
        assert impl(text, 0, 2) == ([0, 6], 10)  # the walk stops past the cap
        assert impl("[" * 10_000, 0, 256)[1] == 256


def test_scanners_stop_at_the_limit() -> None:
    text = "[1, 2, [3, 4], 5, [6"
    for members in (speedups.scan_members, fastpath.py_scan_members):
        assert members(text, 1, False, len(text), 10) == (16, False, 18)
        assert members(text, 1, False, 12, 10) == (5, False, 7)
    for end in (speedups.scan_value_end, fastpath.py_scan_value_end):
        assert end(text, 7, len(text), 10) == 13
        assert end(text, 7, len(text), 0) == -2
        assert end(text, 18, len(text), 10) == -1
