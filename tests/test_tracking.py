"""SchemaTracker: a parse's schema state, on its own."""

from __future__ import annotations

from jsonvisor.parsers import ValueCompleted, ValueStarted, compile_schema
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
