"""finish() and its repairs (``parsers/_repair.py``): input cut at every kind of point.

Each test runs over both backends (``tests/conftest.py``), and each input whole, one
character at a time and as bytes: the result may not depend on the chunking.
"""

from __future__ import annotations

import copy
import math

import pytest

from helpers import Replay, is_extension, same
from jsonvisor.parsers import JsonStreamError, StreamingJsonParser

LENIENT = {"lenient": True}
SHOWN = {"hold_numbers": False}


def chunkings(text: str) -> list[list]:
    data = text.encode()
    return [[text], list(text), [data], [data[i : i + 1] for i in range(len(data))]]


def fed(chunks: list, **options: object) -> tuple[StreamingJsonParser, list]:
    p = StreamingJsonParser(**options)
    events = []
    for c in chunks:
        events += p.feed(c)
    return p, events


# text, options, final value, repairs (kind, path), confidence
CUTS = [
    # inside a string value, a key, an escape, a surrogate pair
    ('{"a": "hel', {}, {"a": "hel"}, [("closed_string", ("a",)), ("closed_object", ())], "medium"),
    ('{"a": 1, "ke', {}, {"a": 1}, [("dropped_key", ("ke",)), ("closed_object", ())], "low"),
    ('["x\\', {}, ["x"], [("dropped_escape", (0,)), ("closed_string", (0,)), ("closed_array", ())],
     "low"),
    ('["x\\u00', {}, ["x"],
     [("dropped_escape", (0,)), ("closed_string", (0,)), ("closed_array", ())], "low"),
    ('["\\ud83d', {}, [""],
     [("dropped_escape", (0,)), ("closed_string", (0,)), ("closed_array", ())], "low"),
    # after a key, after its colon, after a comma
    ('{"a": 1, "b"', {}, {"a": 1}, [("dropped_key", ("b",)), ("closed_object", ())], "low"),
    ('{"a": 1, "b": ', {}, {"a": 1}, [("dropped_key", ("b",)), ("closed_object", ())], "low"),
    ('{"a": [1,', {}, {"a": [1]},
     [("dropped_comma", ("a",)), ("closed_array", ("a",)), ("closed_object", ())], "medium"),
    ('{"a": 1,', {}, {"a": 1}, [("dropped_comma", ()), ("closed_object", ())], "medium"),
    # after a whole value: only the containers are closed, innermost first
    ("[1, 2 ", {}, [1, 2], [("closed_array", ())], "medium"),
    ("[true", {}, [True], [("closed_array", ())], "medium"),
    ('{"a": {"b": [{"c": "d', {}, {"a": {"b": [{"c": "d"}]}},
     [("closed_string", ("a", "b", 0, "c")), ("closed_object", ("a", "b", 0)),
      ("closed_array", ("a", "b")), ("closed_object", ("a",)), ("closed_object", ())],
     "medium"),
    # a held number: kept when it is a number, dropped when it is not one yet
    ("[12", {}, [12], [("kept_number", (0,)), ("closed_array", ())], "low"),
    ("[1.", {}, [], [("dropped_value", (0,)), ("closed_array", ())], "low"),
    ("[-", {}, [], [("dropped_value", (0,)), ("closed_array", ())], "low"),
    ("[1e", {}, [], [("dropped_value", (0,)), ("closed_array", ())], "low"),
    ("1.", {}, None, [("dropped_value", ())], "low"),
    # hold_numbers=False keeps what snapshot() showed: the longest number, the one literal
    ("[1.", SHOWN, [1], [("kept_number", (0,)), ("closed_array", ())], "low"),
    ("[1e+", SHOWN, [1], [("kept_number", (0,)), ("closed_array", ())], "low"),
    ("[fals", SHOWN, [False], [("completed_literal", (0,)), ("closed_array", ())], "low"),
    # a held literal: dropped in strict mode, completed in LLM mode when only one fits
    ('{"a": nul', {}, {}, [("dropped_value", ("a",)), ("closed_object", ())], "low"),
    ("tru", {}, None, [("dropped_value", ())], "low"),
    ("[tr", LENIENT, [True], [("completed_literal", (0,)), ("closed_array", ())], "low"),
    ("[Na", LENIENT, [math.nan], [("completed_literal", (0,)), ("closed_array", ())], "low"),
    ("[N", LENIENT, [], [("dropped_value", (0,)), ("closed_array", ())], "low"),  # NaN? None?
    # LLM mode's own tokens
    ("{ab", LENIENT, {}, [("dropped_key", ("ab",)), ("closed_object", ())], "low"),
    ("[0x", LENIENT, [], [("dropped_value", (0,)), ("closed_array", ())], "low"),
    ("[0x1F", LENIENT, [31], [("kept_number", (0,)), ("closed_array", ())], "low"),
    ("{'a': 'x", LENIENT, {"a": "x"}, [("closed_string", ("a",)), ("closed_object", ())],
     "medium"),
    ("[1, /", LENIENT, [1], [("dropped_comma", ()), ("closed_array", ())], "medium"),
    ('{"a": 1 /* x', LENIENT, {"a": 1}, [("closed_object", ())], "medium"),
    # a fence left open is stripped, and does not count against the value
    ('```json\n{"a": [1', LENIENT, {"a": [1]},
     [("kept_number", ("a", 0)), ("closed_array", ("a",)), ("closed_object", ()),
      ("stripped_fence", ())], "low"),
    # no value at all
    ("", {}, None, [("no_value", ())], "low"),
    ("  ", {"multiple_values": True}, None, [("no_value", ())], "low"),
    # multiple_values: the open document is closed off
    ('{"a":1}\n{"b": [', {"multiple_values": True}, {"b": []},
     [("closed_array", ("b",)), ("closed_object", ())], "medium"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "options", "value", "repairs", "confidence"), CUTS)
def test_each_kind_of_cut_is_closed_off_and_listed(
    text: str, options: dict, value: object, repairs: list, confidence: str
) -> None:
    for chunks in chunkings(text):
        p, events = fed(chunks, **options)
        result = p.finish()
        assert same(result.value, value), (chunks, result)
        assert [(r.kind, r.path) for r in result.repairs] == repairs, chunks
        assert (result.complete, result.confidence) == (False, confidence)
        # The repairs' events complete the feed's: together they rebuild the value.
        if value is not None:
            replay = Replay()
            replay.apply(events + list(result.events))
            assert same(replay.root, value)


def test_confidence_follows_the_kinds_of_repair() -> None:
    # Closing what is open (and a dropped trailing comma) loses nothing: "medium"; any
    # other repair may have: "low"; none at all: "high", complete.
    gentle = {"closed_string", "closed_object", "closed_array", "dropped_comma"}
    for _text, _options, _value, repairs, confidence in CUTS:
        counted = {kind for kind, _ in repairs if kind != "stripped_fence"}
        assert confidence == ("medium" if counted <= gentle else "low")
    for text, options in (("[1, 2]", {}), ("12", {}), ('```json\n{"a": 1}', LENIENT)):
        result = StreamingJsonParser(**options)
        result.feed(text)
        r = result.finish()
        assert (r.complete, r.confidence) == (True, "high")
        assert [x.kind for x in r.repairs] == (["stripped_fence"] if options else [])


# text, options, what the parser expected where the input ends
EXPECTED_AT_THE_END = [
    ('{"a": "hel', {}, "'\"' to close the string"),
    ('{"a": 1, "b"', {}, "':'"),
    ('{"a": 1, "b": ', {}, "a value"),
    ('{"a": 1,', {}, "a string key"),
    ('{"a": [1,', {}, "a value"),
    ("[1, 2 ", {}, "',' or ']'"),
    ("[12", {}, "',' or ']'"),  # a held number that is whole: what follows it
    ('{"a": 12', {}, "',' or '}'"),
    ("[1.", {}, "a value or ']'"),
    ("{ab", LENIENT, "a string key or '}'"),
    ("", {}, "a value"),
    ('{"a":1}\n{"b": [', {"multiple_values": True}, "a value or ']'"),
]


@pytest.mark.parametrize(("text", "options", "expected"), EXPECTED_AT_THE_END)
def test_allow_partial_false_refuses_a_cut_input_at_its_end(
    text: str, options: dict, expected: str
) -> None:
    for chunks in chunkings(text):
        p, _ = fed(chunks, **options)
        with pytest.raises(JsonStreamError) as info:
            p.finish(allow_partial=False)
        err = info.value
        assert (err.reason, err.expected, err.found) == (
            "unexpected end of input",
            expected,
            "end of input",
        )
        assert err.truncated and err.offset == len(text.encode())
        # The refusal is not the parser's error: the repaired result is still there.
        result = p.finish()
        assert not result.complete and result.repairs


@pytest.mark.parametrize(
    ("text", "options", "value"),
    [
        ("12", {}, 12),  # the end of the input is a delimiter
        ("-0.5e3", {}, -500.0),
        ("true", {}, True),
        ('"s"', {}, "s"),
        ('{"a": [1]}  ', {}, {"a": [1]}),
        ('{"a":1}\n', {"multiple_values": True}, {"a": 1}),
        ("  ", {"multiple_values": True}, None),  # (no document is not a cut document)
        ("[1] // c", LENIENT, [1]),
        ('Here {"a": 1} or ```json\n{b: [2', LENIENT, {"a": 1}),  # see below
    ],
)
def test_allow_partial_false_accepts_an_input_that_ends_whole(
    text: str, options: dict, value: object
) -> None:
    for chunks in chunkings(text):
        p, _ = fed(chunks, **options)
        assert same(p.finish(allow_partial=False).value, value)


def test_a_held_top_level_number_completes_at_the_end() -> None:
    for text, value in (("12", 12), ("-3.5", -3.5), ("1e2", 100.0), ("0", 0)):
        for chunks in chunkings(text):
            p, _ = fed(chunks)
            assert p.snapshot() is None  # (held: it may go on)
            result = p.finish()
            assert same(result.value, value) and result.complete and result.repairs == ()
            assert [type(e).__name__ for e in result.events] == [
                "ValueCompleted",
                "DocumentCompleted",
            ]


@pytest.mark.parametrize(
    ("text", "options", "shown"),
    [
        ("[1.", SHOWN, [1]),
        ("[1e+", SHOWN, [1]),
        ("[12", SHOWN, [12]),
        ("[fals", SHOWN, [False]),
        ('{"k": [Na', {**LENIENT, **SHOWN}, {"k": [math.nan]}),
        ('{"a": -', SHOWN, {}),
        ("[tr", {}, []),
        ("[12", {}, []),
    ],
)
def test_finish_keeps_every_value_snapshot_showed(text: str, options: dict, shown: object) -> None:
    # hold_numbers=False shows a held number's or literal's best value, which finish()
    # keeps; with hold_numbers=True nothing held is shown, and finish() may keep it.
    for chunks in chunkings(text):
        p, _ = fed(chunks, **options)
        snapshot = copy.deepcopy(p.snapshot())
        assert same(snapshot, shown), (chunks, snapshot)
        final = p.finish().value
        assert is_extension(snapshot, final), (chunks, snapshot, final)


def test_a_fenced_value_on_trial_never_replaces_the_value_found_in_prose() -> None:
    # The one case finish() defers to Python on the C backend: the fenced candidate is
    # dropped and the value in prose comes back, with its own (complete) result.
    for chunks in chunkings('Here {"a": 1} or ```json\n{b: [2'):
        p, _ = fed(chunks, **LENIENT)
        assert p.snapshot() == {"a": 1}
        result = p.finish()
        assert (result.value, result.complete, result.repairs) == ({"a": 1}, True, ())
    # A fenced candidate that is all there is is released and closed off.
    p, _ = fed(["Sure: ```json\n{a: [1, 2"], **LENIENT)
    result = p.finish()
    assert result.value == {"a": [1, 2]}
    assert [r.kind for r in result.repairs] == [
        "kept_number",
        "closed_array",
        "closed_object",
        "stripped_fence",
    ]


def test_finish_returns_one_result_and_refuses_later_input() -> None:
    p, _ = fed(['{"a": [1, "x'])
    result = p.finish()
    assert p.finish() is result
    assert p.finish(allow_partial=False) is result
    with pytest.raises(JsonStreamError, match="input after finish"):
        p.feed("]")
    with pytest.raises(JsonStreamError, match="input after finish"):
        p.feed(b"]")
    assert p.finish() is result  # (the refusal is not the parser's error)


def test_finish_raises_the_parsers_error() -> None:
    p = StreamingJsonParser()
    with pytest.raises(JsonStreamError) as info:
        p.feed('{"a": 1 x')
    with pytest.raises(JsonStreamError) as again:
        p.finish()
    assert again.value is info.value
