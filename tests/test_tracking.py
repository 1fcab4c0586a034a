"""SchemaTracker: a parse's schema state, on its own."""

from __future__ import annotations

from jsonvisor.parsers import (
    DocumentCompleted,
    StreamingJsonParser,
    StringGrew,
    ValueCompleted,
    ValueStarted,
    compile_schema,
)
from jsonvisor.parsers.tracking import SchemaTracker

SCHEMA = compile_schema(
    {
        "type": "object",
        "properties": {
            "n": {"type": "integer"},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
    }
)


def tracker(**options: bool) -> SchemaTracker:
    return SchemaTracker(
        SCHEMA,
        coerce=options.get("coerce", False),
        drop_unknown=options.get("drop_unknown", False),
        validate=False,
    )


def test_checks_coerce_and_warn() -> None:
    t = tracker(coerce=True)
    assert t.check(("n",), "42", False) == 42
    t = tracker()
    assert t.check(("n",), "42", False) == "42"
    assert [w.path for w in t.warnings] == [("n",)]


def test_unknown_keys_warn_and_can_be_dropped() -> None:
    t = tracker(drop_unknown=True)
    t.key((), "n")
    t.key((), "extra")
    assert [(w.path, w.kind) for w in t.warnings] == [(("extra",), "unknown_key")]
    value, model = t.finish({"n": 1, "extra": 2})
    assert value == {"n": 1} and model is None


def test_field_states_follow_the_events() -> None:
    t = tracker()
    value = t.skeleton()
    assert value == {"n": None, "tags": []}
    assert set(t.field_states(value).values()) == {"pending"}
    t.track([ValueStarted(("tags",), "array"), ValueCompleted(("n",), 1)])
    states = t.field_states({"n": 1, "tags": []})
    assert states["$.n"] == "complete" and states["$.tags"] == "partial"
    t.track([ValueCompleted(("tags",), ["a"])])
    assert t.field_states({"n": 1, "tags": ["a"]})["$.tags[0]"] == "complete"


def test_save_and_restore_around_a_candidate() -> None:
    t = tracker()
    t.track([ValueCompleted(("n",), 1)])
    t.key((), "extra")
    saved = t.save()
    assert not t.completed and not t.warnings
    t.track([ValueCompleted(("tags",), [])])
    t.restore(saved)
    assert t.completed == {("n",)} and len(t.warnings) == 1


def test_paths_are_noted_when_read_not_per_feed() -> None:
    t = tracker()
    events = [ValueStarted(("tags",), "array"), StringGrew(("tags", 0), "a")]
    t.track(events)
    t.track([ValueCompleted(("n",), 1), DocumentCompleted(0, {})])
    assert not t.started and not t.completed  # kept, not yet noted (one value at most)
    assert [type(ev) for ev in t.seen] == [ValueStarted, ValueCompleted]
    assert t.field_states({"n": 1, "tags": []})["$.tags"] == "partial"
    assert t.started == {("tags",)} and t.completed == {("n",)} and not t.seen


def test_with_multiple_values_a_document_completing_notes_its_paths() -> None:
    # (so a long stream of documents keeps one document's events at most)
    t = SchemaTracker(SCHEMA, coerce=False, drop_unknown=False, validate=False, many=True)
    for i in range(100):
        t.track([ValueCompleted(("n",), i), ValueCompleted((), {"n": i})])
        t.track([DocumentCompleted(i, {"n": i})])
        assert not t.seen
    assert t.completed == {("n",), ()}
    assert t.fresh().many and not t.fresh().seen


def test_a_parser_with_multiple_values_keeps_one_documents_events() -> None:
    p = StreamingJsonParser(schema=SCHEMA, multiple_values=True)
    for i in range(50):
        p.feed(f'{{"n": {i}, "tags": ["a", "b"]}} ')
        assert len(p._tracker.seen) <= 4  # type: ignore[union-attr]
    assert p.field_states()["$.n"] == "complete"
    q = StreamingJsonParser(schema=SCHEMA)
    q.feed('{"n": 1, "tags": ["a", "b"]}')
    tracker_ = q._tracker
    assert tracker_ is not None and len(tracker_.seen) >= 4  # (one value: kept)
    assert set(q.field_states().values()) == {"complete"} and not tracker_.seen
