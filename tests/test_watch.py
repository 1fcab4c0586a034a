"""Field watchers (jsonvisor.watch) and their paths (jsonvisor.paths).

The central property: each watched value is delivered exactly once, equal to the final
value at its path, in document order, in the feed that completes it, whatever the chunking
(whole, per character, random cuts; str and bytes; bulk path on or off) and on both parser
backends.  Strings watched with ``text=True`` arrive as pieces that join to the final value.
"""

from __future__ import annotations

import doctest
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

import pydantic
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import jsonvisor
from jsonvisor import paths as paths_module
from jsonvisor import streams as streams_module
from jsonvisor import watch as watch_module
from jsonvisor.parsers import PurePythonParser, StreamingJsonParser
from jsonvisor.paths import WILD, expand, format_pattern, may_lead_to, parse_path
from jsonvisor.watch import WatchedText, WatchedValue, Watcher

BACKENDS = [StreamingJsonParser, PurePythonParser]  # (this module compares them itself)

PATTERNS = [
    "$",
    "$.*",
    "$.summary",
    "$.items[*]",
    "$.items[*].title",
    "$.items[*].tags[*]",
    "$.items[0]",
    "$.steps[*].title",
    "$[*]",
    '$["odd key"]',
]


def values(found: list[Any]) -> list[WatchedValue]:
    return [f for f in found if isinstance(f, WatchedValue)]


def run(cls: type, chunks: list[Any], watcher: Watcher, **options: Any) -> list[Any]:
    p = cls(**options)
    out: list[Any] = []
    for c in chunks:
        out += watcher.feed(p.feed(c))
    out += watcher.finish(p.finish())
    return out


# -- paths ----------------------------------------------------------------------------------


def test_parse_and_format_paths() -> None:
    assert parse_path("$") == ()
    assert parse_path("$.steps[*].title") == ("steps", WILD, "title")
    assert parse_path("items[2]") == ("items", 2)
    assert parse_path('$["a b"].*') == ("a b", WILD)
    for text in ["$", "$.a[3][*].b", '$["a b"]["x.y"]', "$.*"]:
        assert format_pattern(parse_path(text)) in (text, text.replace(".*", "[*]"))
        assert parse_path(format_pattern(parse_path(text))) == parse_path(text)
    with pytest.raises(ValueError, match=r"\$\.items\[\*\]"):
        parse_path("$.items[?(@.x)]")


def test_may_lead_to_tells_keys_from_indices() -> None:
    assert may_lead_to(("a", WILD, "b"), ("a", 3))
    assert may_lead_to(("a", WILD, "b"), ("a", "k", "b"))
    assert not may_lead_to(("a", 0), ("a", "0"))  # an index is not the key "0"
    assert not may_lead_to(("a",), ("a", 1))  # deeper than the pattern
    assert list(expand({"a": [1, {"b": 2}]}, ("a", 1, "b"))) == [(("a", 1, "b"), 2)]


def test_docstring_examples() -> None:
    for module in (paths_module, watch_module, streams_module):
        failed, tried = doctest.testmod(module)
        assert tried and not failed, module.__name__


# -- deliveries -----------------------------------------------------------------------------

DOC = {
    "summary": "Two steps ✓",
    "items": [
        {"title": "a", "tags": ["x", "y"]},
        {"title": "b", "tags": []},
        {"title": "c\u00e9\U0001f600", "tags": ["z"]},
    ],
    "steps": [{"title": "first"}, {"title": 2}],
    "odd key": None,
}


@pytest.mark.parametrize("cls", BACKENDS)
@pytest.mark.parametrize("cut", ["whole", "chars"])
def test_items_one_by_one_and_once(cls: type, cut: str) -> None:
    text = json.dumps(DOC, ensure_ascii=False)
    chunks = [text] if cut == "whole" else list(text)
    w = Watcher(["$.items[*]", "$.summary", "$.steps[*].title"])
    found = values(run(cls, chunks, w))
    assert [(f.pattern, f.path) for f in found] == [
        ("$.summary", ("summary",)),
        ("$.items[*]", ("items", 0)),
        ("$.items[*]", ("items", 1)),
        ("$.items[*]", ("items", 2)),
        ("$.steps[*].title", ("steps", 0, "title")),
        ("$.steps[*].title", ("steps", 1, "title")),
    ]
    assert [f.value for f in found] == [
        DOC["summary"], *DOC["items"], "first", 2,
    ]  # fmt: skip
    assert all(f.complete and f.model is None and f.document == 0 for f in found)


@pytest.mark.parametrize("cls", BACKENDS)
def test_each_item_arrives_when_it_closes(cls: type) -> None:
    p, w = cls(), Watcher("$.items[*]")
    assert w.feed(p.feed('{"items": [{"n": 1}, {"n"')) == [
        WatchedValue("$.items[*]", ("items", 0), {"n": 1})
    ]
    assert w.feed(p.feed(": 2")) == []
    assert [f.path for f in w.feed(p.feed("}"))] == [("items", 1)]
    assert w.feed(p.feed("]}")) == []
    assert w.finish(p.finish()) == []


@pytest.mark.parametrize("cls", BACKENDS)
def test_descends_into_an_ancestor_loaded_whole(cls: type) -> None:
    # a long run of whole items: the bulk path reports them inside "items"' completion
    doc = {"items": [{"title": f"t{i}", "tags": ["a" * 20]} for i in range(40)]}
    text = json.dumps(doc)
    p = cls()
    events = p.feed(text)
    assert not any(getattr(e, "path", None) == ("items", 3, "title") for e in events)
    w = Watcher("$.items[*].title")
    found = w.feed(events) + w.finish(p.finish())
    assert [f.value for f in found] == [f"t{i}" for i in range(40)]


@pytest.mark.parametrize("cls", BACKENDS)
def test_text_pieces_join_to_the_value(cls: type) -> None:
    p, w = cls(), Watcher(["$.summary", "$.items[*].title"], text=True)
    out = w.feed(p.feed('{"summary": "Hel'))
    assert out == [WatchedText("$.summary", ("summary",), "Hel")]
    out = w.feed(p.feed('lo", "items": [{"title": "whole"}]}'))
    assert out == [
        WatchedText("$.summary", ("summary",), "lo"),
        WatchedValue("$.summary", ("summary",), "Hello"),
        WatchedText("$.items[*].title", ("items", 0, "title"), "whole"),
        WatchedValue("$.items[*].title", ("items", 0, "title"), "whole"),
    ]


@pytest.mark.parametrize("cls", BACKENDS)
def test_cut_stream_marks_what_the_end_closed_off(cls: type) -> None:
    p = cls()
    w = Watcher(["$.items[*]", "$.items[*].title", "$.n"])
    found = w.feed(p.feed('{"n": 4, "items": [{"title": "done"}, {"title": "half'))
    assert [(f.path, f.complete) for f in found] == [
        (("n",), True),
        (("items", 0, "title"), True),
        (("items", 0), True),
    ]
    result = p.finish()
    assert not result.complete
    found = w.finish(result)
    assert [(f.path, f.value, f.complete) for f in found] == [
        (("items", 1, "title"), "half", False),
        (("items", 1), {"title": "half"}, False),
    ]
    assert w.finish(result) == []
    with pytest.raises(RuntimeError, match="fresh"):
        w.feed([])


@pytest.mark.parametrize("cls", BACKENDS)
def test_a_number_completed_by_the_end_is_complete(cls: type) -> None:
    p, w = cls(), Watcher("$")
    assert w.feed(p.feed("12")) == []
    assert w.finish(p.finish()) == [WatchedValue("$", (), 12)]


@pytest.mark.parametrize("cls", BACKENDS)
def test_every_document_is_watched(cls: type) -> None:
    p, w = cls(multiple_values=True), Watcher("$.a")
    found = w.feed(p.feed('{"a": 1}\n{"a": 2}\n{"b": 3}\n{"a"'))
    found += w.feed(p.feed(": 4}"))
    found += w.finish(p.finish())
    assert [(f.value, f.document) for f in found] == [(1, 0), (2, 1), (4, 3)]


def test_two_patterns_matching_one_value_deliver_it_once_each() -> None:
    p, w = StreamingJsonParser(), Watcher(["$.items[*]", "$.items[0]", "$.*"])
    found = w.feed(p.feed('{"items": [5, 6]}')) + w.finish(p.finish())
    assert sorted((f.pattern, f.path) for f in found) == [
        ("$.*", ("items",)),
        ("$.items[*]", ("items", 0)),
        ("$.items[*]", ("items", 1)),
        ("$.items[0]", ("items", 0)),
    ]


def test_watcher_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Watcher([])
    with pytest.raises(TypeError, match="str"):
        Watcher([3])  # type: ignore[list-item]
    w = Watcher(["$.a", " $.b[*] "], text=True)
    assert w.paths == ("$.a", "$.b[*]")
    assert w.patterns == (("a",), ("b", WILD))
    fresh = w.fresh()
    assert fresh.paths == w.paths and fresh.delivered == 0 and fresh is not w


# -- typed values ---------------------------------------------------------------------------


@dataclass
class Step:
    title: str
    minutes: int = 0


@dataclass
class Plan:
    summary: str
    steps: list[Step] = field(default_factory=list)


class PStep(pydantic.BaseModel):
    title: str
    minutes: int = 0


class PPlan(pydantic.BaseModel):
    summary: str
    steps: list[PStep] = []
    tags: dict[str, PStep] = {}


PLAN = '{"summary": "s", "steps": [{"title": "a"}, {"title": "b", "minutes": 3}, {"minutes": 1}]}'


@pytest.mark.parametrize("cls", BACKENDS)
@pytest.mark.parametrize("model", [Plan, PPlan])
def test_values_come_typed_by_the_schema(cls: type, model: type) -> None:
    step = Step if model is Plan else PStep
    p = cls(schema=model)
    w = Watcher.for_parser(p, ["$.steps[*]", "$.summary", "$"])
    found = values([x for c in PLAN for x in w.feed(p.feed(c))] + w.finish(p.finish()))
    by_path = {f.path: f for f in found}
    assert by_path[("steps", 0)].model == step(title="a")
    assert by_path[("steps", 1)].model == step(title="b", minutes=3)
    assert by_path[("steps", 0)].value == {"title": "a", "minutes": None}  # the parser's value
    bad = by_path[("steps", 2)]
    assert bad.model is None and bad.errors
    assert bad.errors[0].path[:2] == ("steps", 2)
    assert by_path[("summary",)].model == "s"
    assert by_path[()].model is None and by_path[()].errors  # one step has no title


def test_pydantic_maps_and_unknown_paths() -> None:
    p = StreamingJsonParser(schema=PPlan)
    w = Watcher.for_parser(p, ["$.tags.*", "$.extra"])
    found = w.feed(p.feed('{"summary": "s", "tags": {"k": {"title": "t"}}, "extra": [1]}'))
    found += w.finish(p.finish())
    assert [(f.path, f.model, f.errors) for f in found] == [
        (("tags", "k"), PStep(title="t"), ()),
        (("extra",), None, ()),  # the schema says nothing about it
    ]


def test_json_schema_values_are_checked() -> None:
    schema = {
        "type": "object",
        "properties": {
            "items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"n": {"type": "integer"}},
                    "required": ["n"],
                },
            }
        },
    }
    p = StreamingJsonParser(schema=schema)
    w = Watcher("$.items[*]", schema=schema)
    found = w.feed(p.feed('{"items": [{"n": 1}, {"m": 2}]}')) + w.finish(p.finish())
    assert found[0].model == {"n": 1} and not found[0].errors
    assert found[1].model is None
    assert [e.message for e in found[1].errors] == ["missing required property 'n'"]


# -- the property: exactly once, in order, on time, whatever the chunking --------------------

_scalar = (
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
_json = st.recursive(
    _scalar,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=10,
)
_item = st.fixed_dictionaries(
    {"title": st.text(max_size=24) | _json, "tags": st.lists(st.text(max_size=8), max_size=4)},
    optional={"extra": _json},
)
_object_doc = st.fixed_dictionaries(
    {},
    optional={
        "summary": st.text(max_size=60),
        "items": st.lists(_item, max_size=6),
        "steps": st.lists(st.fixed_dictionaries({}, optional={"title": _json}), max_size=4),
        "odd key": _json,
        "other": _json,
    },
)
_doc = _object_doc | st.lists(_item, max_size=4) | _scalar


def _chunks(data: Any, kind: str, cuts: list[int]) -> list[Any]:
    if kind == "whole":
        return [data]
    if kind == "units":
        return [data[i : i + 1] for i in range(len(data))]
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


def _deliveries(cls: type, chunks: list[Any], **options: Any) -> list[tuple[int, Any]]:
    """What a watcher of PATTERNS delivers, each with the units consumed when it came
    (-1: at finish)."""
    p = cls(**options)
    w = Watcher(PATTERNS, text=True)
    out: list[tuple[int, Any]] = []
    used = 0
    for c in chunks:
        used += len(c)
        out += [(used, f) for f in w.feed(p.feed(c))]
    result = p.finish()
    assert result.complete
    out += [(-1, f) for f in w.finish(result)]
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    doc=_doc,
    cls=st.sampled_from(BACKENDS),
    kind=st.sampled_from(["whole", "units", "cuts"]),
    as_bytes=st.booleans(),
    ascii_only=st.booleans(),
    threshold=st.sampled_from([1, 8, 256]),
    cuts=st.lists(st.integers(0, 10**6), max_size=12),
)
def test_each_watched_value_exactly_once_whatever_the_chunking(
    doc: Any,
    cls: type,
    kind: str,
    as_bytes: bool,
    ascii_only: bool,
    threshold: int,
    cuts: list[int],
) -> None:
    text = json.dumps(doc, ensure_ascii=ascii_only)
    data: Any = text.encode() if as_bytes else text
    options = {"bulk_threshold": threshold}
    got = _deliveries(cls, _chunks(data, kind, cuts), **options)
    final = json.loads(text)

    delivered = [(f.pattern, f.path) for _, f in got if isinstance(f, WatchedValue)]
    assert len(delivered) == len(set(delivered)), "a value was delivered twice"
    expected = [
        (name, path)
        for name in PATTERNS
        for path, _ in expand(final, parse_path(name))
    ]
    for name in PATTERNS:  # each pattern's matches, in document order
        assert [d for d in delivered if d[0] == name] == [e for e in expected if e[0] == name]
    texts: dict[tuple[str, Any], str] = {}
    seen: set[tuple[str, Any]] = set()
    for _, f in got:
        if isinstance(f, WatchedText):
            assert (f.pattern, f.path) not in seen, "text after its value"
            texts[f.pattern, f.path] = texts.get((f.pattern, f.path), "") + f.text
        else:
            seen.add((f.pattern, f.path))
            want = dict(expand(final, parse_path(f.pattern)))[f.path]
            assert f.value == want and f.complete
            if isinstance(want, str):
                assert texts.pop((f.pattern, f.path), "") == want
    assert not texts, "text for a value never delivered"

    # on time: in the feed holding the character that completes it (per unit reference)
    reference = {
        (f.pattern, f.path): at
        for at, f in _deliveries(cls, _chunks(data, "units", []), **options)
        if isinstance(f, WatchedValue)
    }
    for at, f in got:
        if isinstance(f, WatchedValue):
            ref = reference[f.pattern, f.path]
            if ref == -1:
                assert at == -1
            else:
                assert at != -1 and at >= ref
                assert at - ref < len(_chunk_ending_at(data, kind, cuts, at)), (f.path, at, ref)


def _chunk_ending_at(data: Any, kind: str, cuts: list[int], end: int) -> Any:
    pos = 0
    for c in _chunks(data, kind, cuts):
        pos += len(c)
        if pos == end:
            return c
    raise AssertionError("no chunk ends there")


@pytest.mark.parametrize("cls", BACKENDS)
def test_watcher_follows_lenient_prose_and_fences(cls: type) -> None:
    text = 'Sure! ```json\n{"items": [{"t": 1}, {"t": 2}]}\n``` done'
    for chunks in ([text], list(text)):
        w = Watcher("$.items[*]")
        found = run(cls, chunks, w, lenient=True)
        assert [f.value for f in found] == [{"t": 1}, {"t": 2}]


@pytest.mark.parametrize("cls", BACKENDS)
def test_a_fenced_value_replacing_prose_is_a_new_document(cls: type) -> None:
    text = 'Here {"a": 1} and then ```json\n{"a": 2}\n``` ok'
    for chunks in ([text], list(text)):
        found = run(cls, chunks, Watcher("$.a"), lenient=True)
        assert [(f.value, f.document) for f in found] == [(1, 0), (2, 1)]


def test_watcher_is_exported() -> None:
    assert jsonvisor.Watcher is Watcher
    assert jsonvisor.WatchedValue is WatchedValue and jsonvisor.WatchedText is WatchedText
