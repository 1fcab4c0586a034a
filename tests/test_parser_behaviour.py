"""Snapshots, events, options, multiple values and repairs, case by case."""

from __future__ import annotations

import json

import pytest

from helpers import Replay, same
from jsonvisor.parsers import (
    DocumentCompleted,
    JsonStreamError,
    StreamingJsonParser,
    StringGrew,
    ValueCompleted,
    ValueStarted,
)


def snapshots(chunks, **kw):
    p = StreamingJsonParser(**kw)
    out = []
    for c in chunks:
        p.feed(c)
        out.append(json.loads(json.dumps(p.snapshot())))
    return out


def test_partial_strings_show_and_hide():
    chunks = ['{"title": "Hel', 'lo", "body": "Wor', 'ld"}']
    assert snapshots(chunks) == [
        {"title": "Hel"},
        {"title": "Hello", "body": "Wor"},
        {"title": "Hello", "body": "World"},
    ]
    assert snapshots(chunks, partial_strings=False) == [
        {},
        {"title": "Hello"},
        {"title": "Hello", "body": "World"},
    ]


def test_numbers_are_held_until_a_delimiter():
    chunks = ['{"score": 0', ".5", "e1", ', "n": 1', "2", "}"]
    assert snapshots(chunks) == [
        {},
        {},
        {},
        {"score": 5.0},
        {"score": 5.0},
        {"score": 5.0, "n": 12},
    ]
    assert snapshots(chunks, hold_numbers=False) == [
        {"score": 0},
        {"score": 0.5},
        {"score": 5.0},
        {"score": 5.0, "n": 1},
        {"score": 5.0, "n": 12},
        {"score": 5.0, "n": 12},
    ]


def test_literals_held_and_shown():
    assert snapshots(["[tr", "ue, nu", "ll]"]) == [[], [True], [True, None]]
    assert snapshots(["[tr", "ue, nu", "ll]"], hold_numbers=False) == [
        [True],
        [True, None],
        [True, None],
    ]


def test_key_without_value_is_omitted():
    assert snapshots(['{"a": 1, "ke', 'y"', ": ", '"v']) == [
        {"a": 1},
        {"a": 1},
        {"a": 1},
        {"a": 1, "key": "v"},
    ]


def test_escapes_and_surrogates_split_anywhere():
    doc = '["a\\n\\u00e9\\ud83d\\ude00z", "\\ud800x"]'
    for i in range(1, len(doc)):
        p = StreamingJsonParser()
        p.feed(doc[:i])
        snap = p.snapshot()
        # A lone high surrogate never leaks out before its pair could arrive.
        text = json.dumps(snap)
        assert "\\ud83d" not in text or "\\ude00" in text
        p.feed(doc[i:])
        assert p.finish().value == json.loads(doc)


def test_events_for_a_small_document():
    p = StreamingJsonParser()
    ev = p.feed('{"a": [1, "x')
    assert ev == [
        ValueStarted((), "object"),
        ValueStarted(("a",), "array"),
        ValueCompleted(("a", 0), 1),
        ValueStarted(("a", 1), "string"),
        StringGrew(("a", 1), "x"),
    ]
    assert p.feed("yz") == [StringGrew(("a", 1), "yz")]
    ev = p.feed('"]}')
    assert ev == [
        ValueCompleted(("a", 1), "xyz"),
        ValueCompleted(("a",), [1, "xyz"]),
        ValueCompleted((), {"a": [1, "xyz"]}),
        DocumentCompleted(0, {"a": [1, "xyz"]}),
    ]
    assert isinstance(ev[0], ValueCompleted) and ev[0].path == ("a", 1)


def test_events_are_immutable():
    ev = StringGrew(("a",), "x")
    with pytest.raises(AttributeError):
        ev.text = "y"  # type: ignore[misc]


def test_keys_produce_no_string_events():
    p = StreamingJsonParser()
    events = p.feed('{"lon') + p.feed('gkey": "v"}')
    assert not any(isinstance(e, StringGrew) for e in events)


def test_multiple_values_queue_and_get():
    p = StreamingJsonParser(multiple_values=True)
    p.feed('{"a": 1}\n{"b"')
    assert p.has_complete_object()
    assert p.get() == {"a": 1}
    assert not p.has_complete_object()
    assert p.snapshot() == {}
    events = p.feed(': 2}\n[3] 4 "s" ')
    docs = [e for e in events if isinstance(e, DocumentCompleted)]
    assert [d.index for d in docs] == [1, 2, 3, 4]
    assert [p.get() for _ in range(4)] == [{"b": 2}, [3], 4, "s"]
    with pytest.raises(IndexError):
        p.get()
    assert p.finish().complete


def test_single_value_mode_refuses_a_second_value():
    p = StreamingJsonParser()
    p.feed('{"a": 1}  \n')
    with pytest.raises(JsonStreamError) as info:
        p.feed("{")
    assert "extra data" in str(info.value)


def test_top_level_scalars():
    for doc in ['"abc"', "12", "-0.5e3", "true", "null"]:
        p = StreamingJsonParser()
        for c in doc:
            p.feed(c)
        assert same(p.finish().value, json.loads(doc))


@pytest.mark.parametrize(
    "text,value,kinds,confidence",
    [
        ('{"a": [1, 2', {"a": [1, 2]}, ["kept_number", "closed_array", "closed_object"], "low"),
        ('{"a": [1, 2 ', {"a": [1, 2]}, ["closed_array", "closed_object"], "medium"),
        ('{"a": "hel', {"a": "hel"}, ["closed_string", "closed_object"], "medium"),
        ('{"a": 1, "b', {"a": 1}, ["dropped_key", "closed_object"], "low"),
        ('{"a": 1, "b": ', {"a": 1}, ["dropped_key", "closed_object"], "low"),
        ('{"a": 1, "b": 1.', {"a": 1}, ["dropped_value", "closed_object"], "low"),
        ('{"a": 1, "b": 12', {"a": 1, "b": 12}, ["kept_number", "closed_object"], "low"),
        ('{"a": tr', {}, ["dropped_value", "closed_object"], "low"),
        ("[1, 2,", [1, 2], ["dropped_comma", "closed_array"], "medium"),
        ('["a\\u00', ["a"], ["dropped_escape", "closed_string", "closed_array"], "low"),
        ("", None, ["no_value"], "low"),
        ("   ", None, ["no_value"], "low"),
        ("12", 12, [], "high"),
    ],
)
def test_finish_repairs_truncated_input(text, value, kinds, confidence):
    p = StreamingJsonParser()
    replay = Replay()
    replay.apply(p.feed(text))
    result = p.finish()
    assert result.value == value
    assert [r.kind for r in result.repairs] == kinds
    assert result.confidence == confidence
    assert result.complete == (not kinds)
    if value is not None:
        replay.apply(list(result.events))
        assert replay.root == value


def test_repair_paths_and_words():
    p = StreamingJsonParser()
    p.feed('{"results": [{"id": 1}, {"na')
    r = p.finish()
    assert [str(x) for x in r.repairs] == [
        "dropped incomplete key 'na' at $.results[1].na",
        "closed an open object at $.results[1]",
        "closed an open array at $.results",
        "closed an open object at $",
    ]


def test_finish_agrees_with_the_partial_values_shown():
    doc = '{"a": [1, {"b": "text", "c": [true, null]}], "d": "end"}'
    for i in range(len(doc)):
        p = StreamingJsonParser()
        p.feed(doc[:i])
        shown = json.loads(json.dumps(p.snapshot()))
        final = p.finish().value
        # The repaired value keeps everything already shown.
        from helpers import is_extension

        assert is_extension(shown, final), (doc[:i], shown, final)


def test_position_property():
    p = StreamingJsonParser()
    p.feed('[\n"é",')
    assert p.position == (7, 2, 5)
    assert p.documents == 0


def test_whole_large_document_in_one_chunk_uses_bulk_and_reports_events():
    doc = json.dumps({"items": [{"i": i, "s": "x" * 10} for i in range(200)]})
    p = StreamingJsonParser()
    events = p.feed(doc)
    assert isinstance(events[-1], DocumentCompleted)
    assert p.finish().value == json.loads(doc)


def test_value_builder_follows_a_stream_from_events_alone():
    from jsonvisor.parsers import ValueBuilder

    doc = '{"a": [1, "two", {"b": "three"}], "c": "four"}'
    for step in (1, 3, 100):
        p = StreamingJsonParser(bulk_threshold=4)
        b = ValueBuilder()
        for i in range(0, len(doc), step):
            b.apply(p.feed(doc[i : i + step]))
            assert b.value == p.snapshot()
        b.apply(p.finish().events)
        assert b.value == json.loads(doc) and b.documents == [json.loads(doc)]


@pytest.mark.parametrize("chunk", [1, 3, 10_000])
@pytest.mark.parametrize("pad", [0, 400])
def test_a_repeated_key_takes_its_last_value(chunk, pad):
    # As json.loads: the last value wins, in the snapshot and in the events (the token
    # path reports each occurrence, a document loaded whole only the last).
    text = '{"a": "first", "b": [1], "pad": "' + "p" * pad + '", "a": {"x": 2}, "b": 3}'
    p = StreamingJsonParser()
    last = {}
    for i in range(0, len(text), chunk):
        for e in p.feed(text[i : i + chunk]):
            if isinstance(e, ValueCompleted) and len(e.path) == 1:
                last[e.path[0]] = e.value
    assert p.snapshot() == p.finish().value == json.loads(text)
    assert last == json.loads(text)


def test_snapshot_takes_no_arguments_and_a_bound_snapshot_is_the_same():
    # (the C backend's snapshot() is METH_FASTCALL, checking its own arguments)
    p = StreamingJsonParser()
    p.feed('{"a": [1, "x')
    snap = p.snapshot
    assert snap() == p.snapshot() == {"a": [1, "x"]}
    with pytest.raises(TypeError):
        p.snapshot(1)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        p.snapshot(deep=True)  # type: ignore[call-arg]
    p.feed('y"]}')
    assert snap() == {"a": [1, "xy"]}
