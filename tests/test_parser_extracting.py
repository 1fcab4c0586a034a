"""Extraction at the parser's level (``parsers/_extracting.py``): values on trial.

A value found in prose is a candidate whose events are held back until it proves to be
JSON; one that fails first is dropped and seeking resumes where it failed.  Each test runs
over both backends (``tests/conftest.py``) and, where it says so, over every chunking.
"""

from __future__ import annotations

import pytest

from jsonvisor.parsers import DocumentCompleted, JsonStreamError, StreamingJsonParser


def chunkings(text: str) -> list[list]:
    data = text.encode()
    return [[text], list(text), [data[i : i + 1] for i in range(len(data))]]


def shape(events: list) -> list:
    return [(type(e).__name__, getattr(e, "path", None)) for e in events]


def outcome(chunks: list, **options: object) -> tuple[list, object, list]:
    """Every event, the final value and the repairs' kinds."""
    p = StreamingJsonParser(lenient=True, **options)
    events = [e for c in chunks for e in p.feed(c)]
    result = p.finish()
    return shape(events + list(result.events)), result.value, [r.kind for r in result.repairs]


WHOLE_OBJECT_A = [
    ("ValueStarted", ()),
    ("ValueCompleted", ("a",)),
    ("ValueCompleted", ()),
    ("DocumentCompleted", None),
]


@pytest.mark.parametrize(
    "text",
    [
        'Set {x {"a": 1}} now',  # fails at the '{' it then finds
        "Use {x y} then {a: 1}",
        "See [x] or {'k' 'v'} or {a: 1}",
        "A {/* c */ ] and {a: 1,}",
    ],
)
def test_a_failed_candidate_leaves_no_trace_and_seeking_resumes_where_it_failed(
    text: str,
) -> None:
    for chunks in chunkings(text):
        assert outcome(chunks) == (WHOLE_OBJECT_A, {"a": 1}, []), chunks


def test_a_candidate_proves_itself_at_a_double_quoted_string() -> None:
    p = StreamingJsonParser(lenient=True)
    assert p.feed("Use {'a") == []  # a single-quoted key proves nothing ...
    assert p.feed("': ") == []
    assert p.snapshot() is None
    # ... a double-quoted string does, as it begins: the held-back events come out
    assert shape(p.feed('"b')) == [
        ("ValueStarted", ()),
        ("ValueStarted", ("a",)),
        ("StringGrew", ("a",)),
    ]
    assert p.snapshot() == {"a": "b"}
    p = StreamingJsonParser(lenient=True)
    assert shape(p.feed('Use {"')) == [("ValueStarted", ())]
    p = StreamingJsonParser(lenient=True)
    assert shape(p.feed('Use ["')) == [("ValueStarted", ()), ("ValueStarted", (0,))]


def test_a_candidate_proves_itself_when_a_value_completes_in_it() -> None:
    p = StreamingJsonParser(lenient=True)
    assert p.feed("Use {a: 1") == []  # (1 may go on)
    assert p.snapshot() is None
    # The held-back events come out in order, with the new ones.
    assert shape(p.feed(",")) == [("ValueStarted", ()), ("ValueCompleted", ("a",))]
    assert p.snapshot() == {"a": 1}
    # From then on, events come as the input does.
    assert shape(p.feed(" b: [2")) == [("ValueStarted", ("b",))]
    assert shape(p.feed("]}")) == [
        ("ValueCompleted", ("b", 0)),
        ("ValueCompleted", ("b",)),
        ("ValueCompleted", ()),
        ("DocumentCompleted", None),
    ]
    assert p.finish().value == {"a": 1, "b": [2]}


@pytest.mark.parametrize(
    ("text", "options", "limit", "offset"),
    [
        ("Use [[[[1]]]] ok", {"max_depth": 3}, "max_depth", 7),
        ("Use [1234567] ok", {"max_number_length": 5}, "max_number_length", 5),
        ("Use {abcdefgh: 1}", {"max_key_length": 4}, "max_key_length", 5),
    ],
)
def test_an_exceeded_limit_is_never_not_json(
    text: str, options: dict, limit: str, offset: int
) -> None:
    # A candidate not proven yet is dropped when it fails, but not for a limit: that raises.
    for chunks in chunkings(text):
        p = StreamingJsonParser(lenient=True, **options)
        with pytest.raises(JsonStreamError) as info:
            for c in chunks:
                p.feed(c)
        assert (info.value.limit, info.value.offset) == (limit, offset)
        with pytest.raises(JsonStreamError) as again:
            p.finish()
        assert again.value is info.value


def test_prose_alone_gives_nothing() -> None:
    p = StreamingJsonParser(lenient=True)
    for chunk in ("No JSON ", "here, only prose ", "and `code`. ", "Bye."):
        assert p.feed(chunk) == []
        assert p.snapshot() is None
    result = p.finish()
    assert (result.value, [r.kind for r in result.repairs]) == (None, ["no_value"])
    assert p.documents == 0 and not p.has_complete_object()


def test_a_rejected_fenced_candidate_gives_back_the_value_found_in_prose() -> None:
    text = 'Here {"a": 1} then ```json\n{b c}\n``` and ```json\n[2]\n```'
    for chunks in chunkings(text):
        p = StreamingJsonParser(lenient=True)
        events = [e for c in chunks for e in p.feed(c)]
        # {b c} put the value in prose aside, failed, and gave it back; [2] replaced it.
        assert [e.value for e in events if isinstance(e, DocumentCompleted)] == [{"a": 1}, [2]]
        assert p.finish().value == [2]
        assert p.documents == 1 and p.get() == [2] and not p.has_complete_object()
    for chunks in chunkings('Here {"a": 1} then ```json\n{b c}\n```'):
        p = StreamingJsonParser(lenient=True)
        for c in chunks:
            p.feed(c)
        assert p.snapshot() == {"a": 1}
        assert p.documents == 1 and p.get() == {"a": 1}
        assert p.finish().value == {"a": 1}


def test_the_value_in_prose_is_shown_until_a_fenced_one_proves_itself() -> None:
    p = StreamingJsonParser(lenient=True)
    p.feed('Here {"a": 1} then ```json\n{b: ')
    assert p.snapshot() == {"a": 1}  # the fenced one is on trial
    p.feed('"x"')  # proven: it replaces the value in prose
    assert p.snapshot() == {"b": "x"}
    p.feed("}\n```")
    assert p.finish().value == {"b": "x"} and p.get() == {"b": "x"}


def test_after_the_value_the_rest_is_ignored() -> None:
    for chunks in chunkings('{"a": 1} and {"b": 2}, [3] or "four"'):
        assert outcome(chunks) == (WHOLE_OBJECT_A, {"a": 1}, [])
    # (but in multiple_values mode each value is a document of its own, each on trial)
    p = StreamingJsonParser(lenient=True, multiple_values=True)
    p.feed('{"a": 1} and {x} and {b: 2,} then [3')
    p.finish()
    assert [p.get() for _ in range(3)] == [{"a": 1}, {"b": 2}, [3]]
