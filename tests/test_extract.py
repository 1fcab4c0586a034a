"""The extraction state on its own: the fence finder and a candidate's proof."""

from __future__ import annotations

import copy
import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jsonvisor.parsers import StringGrew, ValueCompleted, ValueStarted
from jsonvisor.parsers.accelerator import speedups
from jsonvisor.parsers.extract import Candidate, Extraction, Extractor

# The fence finders: the pure-Python one, and the C one (extraction's state in one object,
# which the C backend runs in place), when built.  Both must say the same everywhere.
FINDERS = [pytest.param(Extractor, id="python")]
if speedups is not None:
    FINDERS.append(pytest.param(lambda: speedups.Extraction().finder, id="c"))


@pytest.fixture(params=FINDERS)
def new_finder(request: pytest.FixtureRequest):
    return request.param


def starts(text: str, cut: int | None = None, new=Extractor) -> list[tuple[int, bool]]:
    """Where values may start in ``text`` (absolute positions), fed whole or in pieces of
    ``cut`` characters.  After a start in prose, seeking resumes just after it (as after a
    candidate that failed there); a fenced start ends the search (its value follows)."""
    ex = new()
    pieces = [text] if cut is None else [text[i : i + cut] for i in range(0, len(text), cut)]
    found, offset = [], 0
    for piece in pieces:
        pos = 0
        while True:
            start, fenced = ex.find(piece, pos)
            if start < 0:
                break
            found.append((offset + start, fenced))
            if fenced:
                return found
            pos = start + 1
        offset += len(piece)
    return found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Sure: {", [(6, False)]),
        ("```json\n{", [(7, True)]),
        ("``` json \n{", [(9, True)]),  # blanks around the language
        ("````JSON\n[", [(8, True)]),  # four backticks, upper case
        ("```\n[", [(3, True)]),  # no language
        ("```python\nx = {1}\n```\nok {", [(25, False)]),  # another language is prose
        ("use `{x}` or ``{y}``", [(5, False), (15, False)]),  # inline code is prose
        ("```\n", [(3, True)]),
    ],
)
def test_fences_are_found_whatever_the_cuts(text: str, expected: list, new_finder) -> None:
    assert starts(text, new=new_finder) == expected
    for cut in (1, 2, 3):
        assert starts(text, cut, new=new_finder) == expected


def test_a_closing_fence_with_a_language_opens_the_next_block(new_finder) -> None:
    ex = new_finder()
    assert ex.find("```\n", 0) == (3, True)
    ex.skip_block()  # the candidate there failed (an empty block)
    assert ex.find("```json\n{", 0) == (7, True)


def test_only_fences_after_a_value_in_prose(new_finder) -> None:
    ex = new_finder()
    ex.fences_only = True
    assert ex.find("more {prose} [here]\n```json\n{", 0) == (27, True)


def test_a_candidate_is_proven_by_a_quote_or_a_completed_value() -> None:
    c = Candidate(fenced=False)
    c.events += [ValueStarted((), "object"), StringGrew(("a",), "x")]
    assert not c.proven()
    c.events.append(ValueCompleted(("a",), 1))
    assert c.proven()
    c = Candidate(fenced=True)
    assert not c.proven()
    c.quoted = True
    assert c.proven()


def test_the_finder_says_which_characters_can_change_its_state(new_finder) -> None:
    f = new_finder()
    assert f.quiet() == 1  # prose: a brace, a bracket or a backtick
    assert f.find("no json here ``", 0) == (-1, False)
    assert f.quiet() == 0  # a run of backticks is being counted
    assert f.find("`python\nx = 1\n", 0) == (-1, False)
    assert f.quiet() == 2  # inside a fence that is not JSON: only a backtick
    f.fences_only = True
    f.skip_block()
    assert f.find("```\n", 0) == (-1, False) and f.quiet() == 2  # prose, fences only


def _finder_state(f) -> tuple:
    return (f._state, f._ticks, f._info, f._info_stage, f.fenced, f.fences_only, f.in_fence,
            f.quiet())  # fmt: skip


@pytest.mark.skipif(speedups is None, reason="the C accelerator is not built")
@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(["`", "``", "```", "{", "[", " ", "\t", "\n", "json", "JSON", "python",
                         "js", "x" * 40, "é", "a", "-", "}"]),
        max_size=40,
    ).map("".join),
    st.lists(st.integers(1, 7), max_size=8),
    st.booleans(),
)  # fmt: skip
def test_the_c_finder_is_the_python_finder(text: str, cuts: list[int], fences_only: bool) -> None:
    """The C fence finder (the C backend's) and the pure-Python one agree on every
    answer and every state, chunk by chunk, with the parser's calls mixed in (a start in
    prose searched past, a fenced start then reset() or skip_block())."""
    py, c = Extraction(), speedups.Extraction()
    py.finder.fences_only = c.finder.fences_only = fences_only
    pieces, i = [], 0
    for k in cuts:
        pieces.append(text[i : i + k])
        i += k
    pieces.append(text[i:])
    for n, piece in enumerate(pieces):
        pos = 0
        while True:
            a, b = py.finder.find(piece, pos), c.finder.find(piece, pos)
            assert a == b, (piece, pos)
            assert _finder_state(py.finder) == _finder_state(c.finder)
            if a[0] < 0:
                break
            pos = a[0] + 1
            if a[1]:
                for f in (py.finder, c.finder):
                    f.reset() if n % 2 else f.skip_block()
    cp = copy.deepcopy(c)
    assert _finder_state(cp) == _finder_state(c)
    assert _finder_state(pickle.loads(pickle.dumps(c))) == _finder_state(c)
