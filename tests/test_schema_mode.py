"""Schema-aware parsing: the full shape from the first byte, per-path states, coercion,
unknown keys, validation -- the same whatever the chunking."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Optional, TypedDict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import split_at
from jsonvisor.parsers import StreamingJsonParser


@dataclass
class Address:
    city: str
    zip: int


@dataclass
class User:
    name: str
    age: int
    tags: list[str] = field(default_factory=list)
    address: Optional[Address] = None  # noqa: UP045 - the typing form users write


class Movie(TypedDict):
    title: str
    year: int
    cast: list[str]


MOVIE_SCHEMA = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "year": {"type": "integer"},
        "cast": {"type": "array", "items": {"type": "string"}},
        "rating": {"type": "object", "properties": {"stars": {"type": "number"}}},
    },
    "required": ["title"],
}

DOC = (
    '{"name": "Ada", "age": 36, "tags": ["math", "engines"], '
    '"address": {"city": "London", "zip": 1}}'
)


def placeholder_extension(old, new) -> bool:
    """Like monotone growth, but a None placeholder may become any value."""
    if old is None:
        return True
    if isinstance(old, str):
        return isinstance(new, str) and new.startswith(old)
    if isinstance(old, dict):
        return (
            isinstance(new, dict)
            and list(new)[: len(old)] == list(old)
            and all(placeholder_extension(old[k], new[k]) for k in old)
        )
    if isinstance(old, list):
        return (
            isinstance(new, list)
            and len(new) >= len(old)
            and all(placeholder_extension(o, n) for o, n in zip(old, new, strict=False))
        )
    return old == new


def test_full_shape_from_the_first_byte():
    p = StreamingJsonParser(schema=User)
    assert p.snapshot() == {
        "name": None,
        "age": None,
        "tags": [],
        "address": {"city": None, "zip": None},
    }
    assert p.document_state() == "pending"
    assert set(p.field_states().values()) == {"pending"}
    p.feed('{"name": "Ad')
    assert p.snapshot() == {
        "name": "Ad",
        "age": None,
        "tags": [],
        "address": {"city": None, "zip": None},
    }
    states = p.field_states()
    assert states["$.name"] == "partial" and states["$.age"] == "pending"
    assert p.document_state() == "partial"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(min_value=0, max_value=len(DOC)), max_size=20), st.sampled_from([2, 256])
)
def test_shape_is_stable_and_states_only_advance(cuts, threshold):
    p = StreamingJsonParser(schema=User, bulk_threshold=threshold)
    rank = {"pending": 0, "partial": 1, "complete": 2}
    prev_snap = copy.deepcopy(p.snapshot())
    prev_states = p.field_states()
    for chunk in split_at(DOC, cuts):
        p.feed(chunk)
        snap = copy.deepcopy(p.snapshot())
        assert list(snap)[:4] == ["name", "age", "tags", "address"]  # layout never shifts
        assert placeholder_extension(prev_snap, snap), (prev_snap, snap)
        states = p.field_states()
        for path, state in prev_states.items():
            assert rank[states[path]] >= rank[state], path
        prev_snap, prev_states = snap, states
    r = p.finish()
    assert r.value == json.loads(DOC)
    assert set(p.field_states().values()) == {"complete"}
    assert p.stream_state()["state"] == "complete"


@pytest.mark.parametrize("schema", [Movie, MOVIE_SCHEMA])
def test_typeddict_and_json_schema(schema):
    p = StreamingJsonParser(schema=schema)
    skel = p.snapshot()
    assert skel["title"] is None and skel["cast"] == []
    p.feed('{"title": "Alien", "cast": ["Weaver"')
    assert p.snapshot()["cast"] == ["Weaver"]
    assert p.finish().value["title"] == "Alien"


def test_wrong_types_are_reported_or_coerced():
    doc = '{"name": "Ada", "age": "36", "tags": "math"}'
    p = StreamingJsonParser(schema=User)
    p.feed(doc)
    r = p.finish()
    assert r.value["age"] == "36"  # reported, not silently changed
    kinds = {(w.path, w.kind) for w in r.warnings}
    assert (("age",), "wrong_type") in kinds and (("tags",), "wrong_type") in kinds
    p = StreamingJsonParser(schema=User, coerce=True)
    p.feed(doc)
    r = p.finish()
    assert r.value["age"] == 36
    assert any(w.kind == "coerced" and w.path == ("age",) for w in r.warnings)


@pytest.mark.parametrize("threshold", [2, 256])
def test_unknown_keys_kept_or_dropped(threshold):
    doc = '{"name": "Ada", "age": 1, "extra": {"x": 1}, "address": {"city": "P", "zip": 1, "n": 2}}'
    for policy, has_extra in (("keep", True), ("drop", False)):
        p = StreamingJsonParser(schema=User, unknown_keys=policy, bulk_threshold=threshold)
        p.feed(doc)
        r = p.finish()
        assert ("extra" in r.value) == has_extra
        assert ("n" in r.value["address"]) == has_extra
        assert {w.path for w in r.warnings if w.kind == "unknown_key"} == {
            ("extra",),
            ("address", "n"),
        }


def test_validate_dataclass_instance():
    p = StreamingJsonParser(schema=User, validate=True)
    for ch in DOC:
        p.feed(ch)
    r = p.finish()
    assert r.model == User("Ada", 36, ["math", "engines"], Address("London", 1))


def test_validate_pydantic_model():
    pydantic = pytest.importorskip("pydantic")

    class Item(pydantic.BaseModel):
        sku: str
        qty: int = 1

    class Order(pydantic.BaseModel):
        id: int
        items: list[Item]
        note: Optional[str] = None  # noqa: UP045

    p = StreamingJsonParser(schema=Order, validate=True, lenient=True)
    assert p.snapshot() == {"id": None, "items": [], "note": None}
    p.feed('Here is the order:\n```json\n{"id": 7, "items": [{"sku": "A1", "qty": 2}, {"sku": "B')
    assert p.snapshot()["items"][1] == {"sku": "B", "qty": None}
    p.feed('2"}]}\n```')
    r = p.finish()
    assert isinstance(r.model, Order)
    assert r.model.items[1].qty == 1 and r.model.items[0].qty == 2
    bad = StreamingJsonParser(schema=Order, validate=True)
    bad.feed('{"id": "x", "items": []}')
    r = bad.finish()
    assert r.model is None or not isinstance(r.model, Order)
    assert any(w.kind in ("validation", "wrong_type") for w in r.warnings)


def test_schema_rejects_unsupported_input():
    with pytest.raises(TypeError):
        StreamingJsonParser(schema=42)


def test_field_states_need_a_schema():
    with pytest.raises(ValueError):
        StreamingJsonParser().field_states()


@pytest.mark.parametrize("chunk", [1, 3, 100])
def test_boolean_schemas_while_streaming(chunk):
    def parse(schema, text):
        p = StreamingJsonParser(schema=schema, validate=True)
        for piece in split_at(text, list(range(chunk, len(text), chunk))):
            p.feed(piece)
        return p.finish()

    doc = '{"a": {"x": [1]}, "b": 2, "c": [1, "two"]}'
    assert parse(True, doc).warnings == ()
    (top,) = parse(False, doc).warnings
    assert top.path == () and "schema is false" in top.message
    schema = {
        "type": "object",
        "properties": {"a": True, "b": False, "c": {"type": "array", "items": False}},
    }
    r = parse(schema, doc)
    assert r.value == {"a": {"x": [1]}, "b": 2, "c": [1, "two"]}
    assert [(w.path, "schema is false" in w.message) for w in r.warnings] == [
        (("b",), True),
        (("c", 0), True),
        (("c", 1), True),
    ]


def test_malformed_schema_is_a_clear_value_error():
    with pytest.raises(ValueError, match=r"at #/properties/a/required: 'required' must be"):
        StreamingJsonParser(schema={"properties": {"a": {"required": 7}}})
