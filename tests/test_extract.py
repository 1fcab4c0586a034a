"""The extraction state on its own: the fence finder and a candidate's proof."""

from __future__ import annotations

import pytest

from jsonvisor.parsers import StringGrew, ValueCompleted, ValueStarted
from jsonvisor.parsers.extract import Candidate, Extractor


def starts(text: str, cut: int | None = None) -> list[tuple[int, bool]]:
    """Where values may start in ``text`` (absolute positions), fed whole or in pieces of
    ``cut`` characters.  After a start in prose, seeking resumes just after it (as after a
    candidate that failed there); a fenced start ends the search (its value follows)."""
    ex = Extractor()
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
def test_fences_are_found_whatever_the_cuts(text: str, expected: list) -> None:
    assert starts(text) == expected
    for cut in (1, 2, 3):
        assert starts(text, cut) == expected


def test_a_closing_fence_with_a_language_opens_the_next_block() -> None:
    ex = Extractor()
    assert ex.find("```\n", 0) == (3, True)
    ex.skip_block()  # the candidate there failed (an empty block)
    assert ex.find("```json\n{", 0) == (7, True)


def test_only_fences_after_a_value_in_prose() -> None:
    ex = Extractor()
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


def test_the_finder_says_which_characters_can_change_its_state() -> None:
    from jsonvisor.parsers.extract import Extractor

    f = Extractor()
    assert f.quiet() == 1  # prose: a brace, a bracket or a backtick
    assert f.find("no json here ``", 0) == (-1, False)
    assert f.quiet() == 0  # a run of backticks is being counted
    assert f.find("`python\nx = 1\n", 0) == (-1, False)
    assert f.quiet() == 2  # inside a fence that is not JSON: only a backtick
    f.fences_only = True
    f.skip_block()
    assert f.find("```\n", 0) == (-1, False) and f.quiet() == 2  # prose, fences only
