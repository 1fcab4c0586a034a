"""Hypothesis: random documents split anywhere equal json.loads; snapshots are monotone,
match an independent oracle, and can be rebuilt from events alone."""

from __future__ import annotations

import copy
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import Replay, is_extension, same, split_at
from jsonvisor.parsers import StreamingJsonParser
from oracle import expected_snapshot

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.floats(min_value=-1e-300, max_value=1e-300, allow_nan=False)
    | st.text(alphabet=st.characters(codec="utf-8"), max_size=12)
    | st.sampled_from(["\\", '"', "\n\t\r\b\f", "\x00\x1f", "😀🚀", "\u2028", "a/b", "é"])
)
json_values = st.recursive(
    scalars,
    lambda kids: (
        st.lists(kids, max_size=5)
        | st.dictionaries(
            st.text(alphabet=st.characters(codec="utf-8"), max_size=6), kids, max_size=5
        )
    ),
    max_leaves=30,
)
dump_options = st.fixed_dictionaries(
    {"indent": st.sampled_from([None, 0, 2, "\t"]), "ensure_ascii": st.booleans()}
)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(json_values, dump_options, st.lists(st.integers(min_value=0, max_value=400), max_size=30))
def test_str_split_anywhere_equals_json_loads(value, options, cuts):
    doc = json.dumps(value, **options)
    p = StreamingJsonParser()
    replay = Replay()
    prev = None
    consumed = ""
    for chunk in split_at(doc, cuts):
        replay.apply(p.feed(chunk))
        consumed += chunk
        snap = copy.deepcopy(p.snapshot())
        assert same(snap, expected_snapshot(consumed)), (consumed, snap)
        assert is_extension(prev, snap)
        assert same(replay.root, snap)
        prev = snap
    result = p.finish()
    replay.apply(list(result.events))
    assert same(replay.root, json.loads(doc))
    assert result.complete and result.confidence == "high" and result.repairs == ()
    assert same(result.value, json.loads(doc))
    assert same(p.get(), json.loads(doc))
    assert not p.has_complete_object()


@SETTINGS
@given(json_values, dump_options, st.lists(st.integers(min_value=0, max_value=600), max_size=30))
def test_bytes_split_anywhere_equals_json_loads(value, options, cuts):
    data = json.dumps(value, **options).encode("utf-8")
    p = StreamingJsonParser()
    replay = Replay()
    for chunk in split_at(data, cuts):
        replay.apply(p.feed(chunk))
    result = p.finish()
    replay.apply(list(result.events))
    assert same(result.value, json.loads(data))
    assert same(replay.root, json.loads(data))


@SETTINGS
@given(
    json_values,
    st.lists(st.integers(min_value=0, max_value=3000), max_size=8),
    st.integers(min_value=2, max_value=64),
)
def test_bulk_path_matches_token_path(value, cuts, threshold):
    # Big containers with a low threshold exercise the ujson fast path at random offsets.
    doc = json.dumps({"items": [value] * 6, "tail": [value, {"k": value}]})
    p = StreamingJsonParser(bulk_threshold=threshold)
    replay = Replay()
    for chunk in split_at(doc, cuts):
        replay.apply(p.feed(chunk))
        assert same(replay.root, copy.deepcopy(p.snapshot()))
    assert same(p.finish().value, json.loads(doc))


@SETTINGS
@given(
    st.lists(json_values, min_size=1, max_size=5),
    st.lists(st.integers(min_value=0, max_value=500), max_size=20),
    st.sampled_from(["\n", " ", "\r\n", "\t\n  "]),
)
def test_multiple_values_split_anywhere(values, cuts, sep):
    doc = sep.join(json.dumps(v) for v in values) + sep
    p = StreamingJsonParser(multiple_values=True, bulk_threshold=8)
    got = []
    for chunk in split_at(doc, cuts):
        p.feed(chunk)
        while p.has_complete_object():
            got.append(p.get())
    p.finish()
    while p.has_complete_object():
        got.append(p.get())
    assert len(got) == len(values)
    assert all(same(a, b) for a, b in zip(got, values, strict=False))


@SETTINGS
@given(st.binary(max_size=200), st.lists(st.integers(min_value=0, max_value=200), max_size=10))
def test_random_bytes_only_raise_json_stream_error(data, cuts):
    from jsonvisor.parsers import JsonStreamError

    p = StreamingJsonParser()
    try:
        for chunk in split_at(data, cuts):
            p.feed(chunk)
        p.finish()
    except JsonStreamError as err:
        assert 0 <= err.offset <= len(data)
        assert err.line >= 1 and err.column >= 1


@SETTINGS
@given(
    st.text(alphabet='{}[]",:0123456789.eE+-tfrueanl \n\\u', max_size=60),
    st.lists(st.integers(min_value=0, max_value=60), max_size=10),
)
def test_json_like_garbage_agrees_with_json_loads(text, cuts):
    """Strictness never depends on chunk boundaries: accept exactly what json.loads does."""
    from jsonvisor.parsers import JsonStreamError

    try:
        expected = json.loads(text, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
        ok = text.strip() != ""
    except ValueError:
        ok = False
    for threshold in (2, 256):
        p = StreamingJsonParser(bulk_threshold=threshold)
        try:
            for chunk in split_at(text, cuts):
                p.feed(chunk)
            result = p.finish(allow_partial=False)
        except JsonStreamError:
            assert not ok, text
        else:
            assert ok, text
            assert same(result.value, expected)
