"""Compiled schemas are shared: compile_schema caches by model, CompiledSchema is immutable,
and a parser given one behaves exactly like a parser given the model (also pickled)."""

from __future__ import annotations

import copy
import dataclasses
import gc
import json
import os
import pickle
import random
import threading
import weakref
from typing import Any, Optional, TypedDict

import pydantic
import pytest
import trio

import jsonvisor
from helpers import split_at
from jsonvisor.parsers import (
    CompiledSchema,
    PurePythonParser,
    StreamingJsonParser,
    compile_schema,
)
from jsonvisor.parsers import schema as schema_module
from jsonvisor.parsers.schema import SchemaNode
from jsonvisor.supervisor import open_supervisor

PARSERS = [StreamingJsonParser, PurePythonParser]


class Item(pydantic.BaseModel):
    name: str
    qty: int = 1


class Order(pydantic.BaseModel):
    id: int
    customer: str
    items: list[Item] = []
    note: Optional[str] = None  # noqa: UP045 - the typing form users write


@dataclasses.dataclass
class Address:
    city: str
    zip: int


@dataclasses.dataclass
class User:
    name: str
    age: int
    tags: list[str] = dataclasses.field(default_factory=list)
    address: Optional[Address] = None  # noqa: UP045


class Movie(TypedDict):
    title: str
    year: int
    cast: list[str]


def card_schema() -> dict[str, Any]:
    """A fresh dict each call (equal content, distinct objects)."""
    return {
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "price": {"type": "number"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "meta": {"type": "object", "additionalProperties": {"type": "integer"}},
        },
        "required": ["title", "price"],
    }


# (schema, documents): documents with coercions, unknown keys, wrong types, cut-off ends
CASES: dict[str, tuple[Any, list[str]]] = {
    "pydantic": (
        Order,
        [
            '{"id": "7", "customer": "Ada", "items": [{"name": "tea", "qty": "2"}, '
            '{"name": "cup"}], "note": null, "extra": true}',
            '{"id": 1.5, "customer": 3, "items": [{"qty": 1}]}',
            '{"id": 2, "customer": "Bob", "items": [{"name": "pot", "qty": 4}',
        ],
    ),
    "dataclass": (
        User,
        [
            '{"name": "Ada", "age": "36", "tags": ["math", 1], '
            '"address": {"city": "London", "zip": "1"}}',
            '{"name": "Bob", "age": 3.0, "unknown": [1, 2]}',
            '{"name": "Cy", "address": {"city": "Paris"',
        ],
    ),
    "typeddict": (
        Movie,
        ['{"title": "Up", "year": "2009", "cast": ["Carl", "Russell"]}', '{"year": 1}'],
    ),
    "json_schema": (
        card_schema(),
        [
            '{"title": "Tea", "price": "4.5", "tags": ["green"], "meta": {"a": 1, "b": "2"}}',
            '{"price": true, "meta": {"x": [1]}, "zzz": 1}',
            '{"title": "Cut", "meta": {"k": 12',
        ],
    ),
}
OPTIONS = [
    {"coerce": True, "validate": True},
    {"coerce": False, "unknown_keys": "drop", "validate": True},
]


def chunkings(doc: str) -> list[list[str]]:
    rng = random.Random(len(doc))
    out = [[doc], list(doc)]
    for _ in range(3):
        cuts = sorted(rng.sample(range(1, len(doc)), min(6, len(doc) - 1)))
        out.append(split_at(doc, cuts))
    return out


def run(parser: Any, chunks: list[str]) -> list[Any]:
    """Everything observable from feeding ``chunks``: per chunk the events, snapshot,
    field states and stream state; then finish()'s result."""
    seen: list[Any] = [copy.deepcopy(parser.snapshot()), parser.field_states()]
    for chunk in chunks:
        seen.append(parser.feed(chunk))
        seen.append(copy.deepcopy(parser.snapshot()))
        seen.append(parser.field_states())
        seen.append(copy.deepcopy(parser.stream_state()))
    result = parser.finish()
    seen.append((result.value, result.complete, result.repairs, result.confidence))
    seen.append((result.warnings, result.model))
    return seen


# --------------------------------------------------------------------------------------
# The caches
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", [Order, User, Movie], ids=["pydantic", "dataclass", "td"])
def test_a_class_compiles_once(model: type) -> None:
    compiled = compile_schema(model)
    assert isinstance(compiled, CompiledSchema)
    assert compile_schema(model) is compiled
    assert CompiledSchema.compile(model) is compiled
    assert compiled.source is model


def test_a_compiled_schema_compiles_to_itself() -> None:
    compiled = compile_schema(Order)
    assert compile_schema(compiled) is compiled
    assert CompiledSchema.compile(compiled) is compiled


def test_exported_names() -> None:
    assert jsonvisor.compile_schema is compile_schema
    assert jsonvisor.parsers.compile_schema is schema_module.compile_schema
    assert "compile_schema" in jsonvisor.__all__
    assert {"compile_schema", "CompiledSchema"} <= set(jsonvisor.parsers.__all__)


def test_a_subclass_gets_its_own_compiled_schema() -> None:
    class Big(Order):
        extra: int = 0

    parent, child = compile_schema(Order), compile_schema(Big)
    assert child is not parent and child.source is Big
    assert "extra" in child.skeleton() and "extra" not in parent.skeleton()  # type: ignore[operator]


def test_an_equal_dict_hits_the_cache() -> None:
    first = compile_schema(card_schema())
    again = compile_schema(card_schema())
    assert again is first
    assert compile_schema(json.loads(json.dumps(card_schema()))) is first


def test_the_cache_keeps_a_private_copy_of_the_dict() -> None:
    schema = {"type": "object", "properties": {"only_here_a": {"type": "integer"}}}
    compiled = compile_schema(schema)
    assert compiled.source == schema and compiled.source is not schema
    schema["properties"]["only_here_b"] = {"type": "string"}  # the caller's dict changes
    assert compiled.skeleton() == {"only_here_a": None}
    changed = compile_schema(schema)  # its new content is another schema
    assert changed is not compiled
    assert changed.skeleton() == {"only_here_a": None, "only_here_b": None}
    del schema["properties"]["only_here_b"]
    assert compile_schema(schema) is compiled


def test_property_order_is_not_conflated() -> None:
    # sort_keys would make these one cache entry, yet their skeletons differ in order.
    ab = {"type": "object", "properties": {"a_ord": {}, "b_ord": {}}}
    ba = {"type": "object", "properties": {"b_ord": {}, "a_ord": {}}}
    assert list(compile_schema(ab).skeleton()) == ["a_ord", "b_ord"]  # type: ignore[arg-type]
    assert list(compile_schema(ba).skeleton()) == ["b_ord", "a_ord"]  # type: ignore[arg-type]


def test_a_tuple_is_not_taken_for_a_list() -> None:
    # Same json.dumps text, yet a default keeps its Python type: one entry must not
    # stand for the other.
    listed = compile_schema({"type": "array", "default": ["tuple-or-list"]})
    tupled = compile_schema({"type": "array", "default": ("tuple-or-list",)})
    assert tupled is not listed
    assert listed.node(()).default == ["tuple-or-list"]  # type: ignore[union-attr]
    assert tupled.node(()).default == ("tuple-or-list",)  # type: ignore[union-attr]
    # where a keyword takes an array, a tuple reads as one (as json.dumps writes it)
    enum_listed = compile_schema({"type": "string", "enum": ["tuple-or-list"]})
    enum_tupled = compile_schema({"type": "string", "enum": ("tuple-or-list",)})
    assert enum_listed.check((), "x", False)[1] == enum_tupled.check((), "x", False)[1] != []


def test_dicts_that_are_not_json_compile_uncached() -> None:
    marker = object()
    schema = {"type": "object", "properties": {"a": {"default": marker}}}
    first, second = compile_schema(schema), compile_schema(schema)
    assert first is not second
    assert first.node(("a",)).default is marker  # type: ignore[union-attr]


def test_the_dict_cache_is_a_bounded_lru() -> None:
    size = schema_module._DICT_CACHE_SIZE
    kept = compile_schema({"title": "lru-kept", "type": "object"})
    evicted = compile_schema({"title": "lru-evicted", "type": "object"})
    for i in range(size - 1):
        assert compile_schema({"title": "lru-kept", "type": "object"}) is kept  # recently used
        compile_schema({"title": f"lru-filler-{i}", "type": "string"})
    assert len(schema_module._DICT_CACHE) <= size
    assert compile_schema({"title": "lru-kept", "type": "object"}) is kept
    assert compile_schema({"title": "lru-evicted", "type": "object"}) is not evicted


def test_failures_are_not_cached() -> None:
    @dataclasses.dataclass
    class Later:
        x: NotYetDefined  # type: ignore[name-defined]  # noqa: F821

    for _ in range(2):
        with pytest.raises(TypeError):
            compile_schema(Later)
    assert "__jsonvisor_schema__" not in vars(Later)
    for _ in range(2):
        with pytest.raises(ValueError):
            compile_schema({"type": "integr"})


def make_model(kind: str) -> type:
    if kind == "pydantic":

        class Part(pydantic.BaseModel):
            a: int

        class Local(pydantic.BaseModel):
            x: int
            part: Optional[Part] = None  # noqa: UP045

        return Local
    if kind == "dataclass":

        @dataclasses.dataclass
        class LocalDC:
            x: int
            more: list[int] = dataclasses.field(default_factory=list)

        return LocalDC

    class LocalTD(TypedDict):
        x: int

    return LocalTD


@pytest.mark.parametrize("kind", ["pydantic", "dataclass", "typeddict"])
def test_the_cache_does_not_keep_a_model_class_alive(kind: str) -> None:
    model = make_model(kind)
    compiled = compile_schema(model)
    assert compile_schema(model) is compiled
    p = StreamingJsonParser(schema=model, validate=True)
    p.feed('{"x": 1}')
    result = p.finish()
    assert result.value["x"] == 1 and not result.warnings
    ref = weakref.ref(model)
    compiled_ref = weakref.ref(compiled) if hasattr(compiled, "__weakref__") else None
    del model, compiled, p, result
    gc.collect()
    assert ref() is None
    assert compiled_ref is None or compiled_ref() is None


def test_a_compiled_schema_keeps_its_class_alive() -> None:
    compiled = compile_schema(make_model("dataclass"))
    gc.collect()
    p = StreamingJsonParser(schema=compiled, validate=True)
    p.feed('{"x": 1, "more": [2]}')
    assert type(p.finish().model).__name__ == "LocalDC"


def test_threads_compiling_one_new_schema_get_one_object() -> None:
    schema = {"title": "threads", "type": "object", "properties": {"t": {"type": "integer"}}}
    results: list[CompiledSchema] = []
    barrier = threading.Barrier(8)

    def work() -> None:
        barrier.wait()
        results.append(compile_schema(copy.deepcopy(schema)))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 8 and all(r is results[0] for r in results)
    assert compile_schema(schema) is results[0]


# --------------------------------------------------------------------------------------
# Immutability
# --------------------------------------------------------------------------------------


def test_a_compiled_schema_refuses_attribute_assignment() -> None:
    compiled = compile_schema(Order)
    root = compiled.root
    with pytest.raises(AttributeError):
        compiled.root = root
    with pytest.raises(AttributeError):
        compiled.source = dict
    with pytest.raises(AttributeError):
        compiled.anything_new = 1  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        del compiled.source
    assert compiled.root is root and compiled.source is Order


def test_schema_nodes_are_read_only() -> None:
    compiled = compile_schema(card_schema())
    node = compiled.node(("meta",))
    assert type(node) is SchemaNode
    with pytest.raises(AttributeError):
        node.kind = "array"  # type: ignore[union-attr]
    with pytest.raises(AttributeError):
        compiled.root.properties = {}
    with pytest.raises(AttributeError):
        del compiled.root.types
    assert compiled.skeleton() == {"title": None, "price": None, "tags": [], "meta": {}}
    with pytest.raises(AttributeError):
        SchemaNode()  # built by the compiler only
    with pytest.raises(TypeError):
        pickle.dumps(node)


def test_copies_of_a_compiled_schema_are_itself() -> None:
    compiled = compile_schema(User)
    assert copy.copy(compiled) is compiled and copy.deepcopy(compiled) is compiled


def test_typed_map_keys_do_not_grow_the_lookup_memo() -> None:
    compiled = compile_schema({"type": "object", "additionalProperties": {"type": "integer"}})
    doc = json.dumps({f"key{i}": i for i in range(2000)})
    p = StreamingJsonParser(schema=compiled)
    p.feed(doc)
    assert len(p.finish().value) == 2000
    assert len(compiled._cache) < 10


# --------------------------------------------------------------------------------------
# Parsers given a compiled schema
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("parser_cls", PARSERS)
@pytest.mark.parametrize("case", list(CASES))
def test_a_compiled_schema_parses_like_the_model(parser_cls: type, case: str) -> None:
    model, docs = CASES[case]
    compiled = compile_schema(model)
    for options in OPTIONS:
        for doc in docs:
            for chunks in chunkings(doc):
                # the model itself (cached), a fresh compile of it (what every parser did
                # before the cache), and the shared compiled object
                given_model = run(parser_cls(schema=model, **options), chunks)
                fresh = run(
                    parser_cls(schema=CompiledSchema._compile_uncached(model), **options), chunks
                )
                shared = run(parser_cls(schema=compiled, **options), chunks)
                assert given_model == fresh == shared, (case, options, chunks)


@pytest.mark.parametrize("parser_cls", PARSERS)
def test_parsers_sharing_a_compiled_schema_do_not_affect_each_other(parser_cls: type) -> None:
    compiled = compile_schema(Order)
    docs = CASES["pydantic"][1]
    rng = random.Random(5)
    plans = [[*split_at(d, sorted(rng.sample(range(1, len(d)), 8)))] for d in docs]
    alone = [run(parser_cls(schema=Order, coerce=True, validate=True), plan) for plan in plans]
    parsers = [parser_cls(schema=compiled, coerce=True, validate=True) for _ in plans]
    seen: list[list[Any]] = [[copy.deepcopy(p.snapshot()), p.field_states()] for p in parsers]
    for step in range(max(len(plan) for plan in plans)):
        for p, plan, out in zip(parsers, plans, seen, strict=True):
            if step < len(plan):
                out.append(p.feed(plan[step]))
                out.append(copy.deepcopy(p.snapshot()))
                out.append(p.field_states())
                out.append(copy.deepcopy(p.stream_state()))
    for p, out in zip(parsers, seen, strict=True):
        r = p.finish()
        out.append((r.value, r.complete, r.repairs, r.confidence))
        out.append((r.warnings, r.model))
    assert seen == alone


def test_threads_sharing_a_compiled_schema() -> None:
    compiled = compile_schema(User)
    doc = CASES["dataclass"][1][0]
    expected = run(StreamingJsonParser(schema=User, coerce=True, validate=True), list(doc))
    results: list[Any] = []

    def work() -> None:
        for _ in range(20):
            p = StreamingJsonParser(schema=compiled, coerce=True, validate=True)
            results.append(run(p, list(doc)))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 80 and all(r == expected for r in results)


# --------------------------------------------------------------------------------------
# Pickling (process offload) and the supervisor
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("parser_cls", PARSERS)
@pytest.mark.parametrize("case", list(CASES))
def test_a_pickled_parser_with_a_compiled_schema_continues(parser_cls: type, case: str) -> None:
    model, docs = CASES[case]
    compiled = compile_schema(model)
    for doc in docs:
        for cut in (1, len(doc) // 3, len(doc) // 2, len(doc) - 1):
            reference = parser_cls(schema=model, coerce=True, validate=True)
            expected = run(reference, [doc[:cut], doc[cut:]])
            p = parser_cls(schema=compiled, coerce=True, validate=True)
            head = [copy.deepcopy(p.snapshot()), p.field_states()]
            head += [p.feed(doc[:cut]), copy.deepcopy(p.snapshot()), p.field_states()]
            head.append(copy.deepcopy(p.stream_state()))
            q = pickle.loads(pickle.dumps(p))
            assert type(q) is parser_cls
            rest = run(q, [doc[cut:]])[2:]  # (its first two entries: the state before)
            assert head + rest == expected, (case, cut)
            assert q._schema is compiled  # unpickled in-process: the cache hit
            d = copy.deepcopy(p)
            assert d._schema is compiled
            assert run(d, [doc[cut:]])[2:] == rest


class PidParser(StreamingJsonParser):
    """Remembers the processes it was fed in (under its ``msg_id``, when it finishes)."""

    def feed(self, chunk: Any) -> Any:
        self.pids = (*getattr(self, "pids", ()), os.getpid())
        return super().feed(chunk)

    def finish(self, *, allow_partial: bool = True) -> Any:
        FEEDERS[self.msg_id] = self.pids
        return super().finish(allow_partial=allow_partial)


FEEDERS: dict[Any, tuple[int, ...]] = {}
ORDER_DOC = json.dumps(
    {
        "id": "12",
        "customer": "Ada",
        "items": [{"name": f"item {i}", "qty": str(i)} for i in range(4000)],
        "note": "caf\u00e9",
    },
    ensure_ascii=False,
)


@pytest.mark.parametrize("source", ["model", "dict"])
@pytest.mark.parametrize("offload", ["inline", "thread", "process"])
async def test_a_supervisor_shares_a_compiled_schema(offload: str, source: str) -> None:
    schema: Any = Order if source == "model" else Order.model_json_schema()
    compiled = compile_schema(schema)
    FEEDERS.clear()

    def factory(msg_id: Any) -> StreamingJsonParser:
        parser = PidParser(schema=compiled, coerce=True, validate=True)
        parser.msg_id = msg_id
        return parser

    expected = StreamingJsonParser(schema=schema, coerce=True, validate=True)
    expected.feed(ORDER_DOC)
    want = expected.finish()
    small = '{"id": 1, "customer": "Bo'
    async with open_supervisor(
        parser=factory, offload=offload, offload_threshold=40_000, slice_size=8_192
    ) as sup:
        async with trio.open_nursery() as nursery:

            async def drain() -> None:
                async for _ in sup.events():
                    pass

            nursery.start_soon(drain)
            for m in ("a", "b"):
                await sup.send(m, ORDER_DOC[:100])
                await sup.send(m, ORDER_DOC[100:])
                await sup.end(m)
            await sup.send("c", small)
            await sup.end("c")
            for m in ("a", "b"):
                got = await sup.result(m)
                assert got == want
                assert got.value["id"] == 12 and got.value["items"][-1]["qty"] == 3999
                if source == "model":
                    assert isinstance(got.model, Order) and got.model.id == 12
            partial = await sup.result("c")
            assert partial.value == {"id": 1, "customer": "Bo", "items": [], "note": None}
            nursery.cancel_scope.cancel()
        assert sup.stats().offloaded == (0 if offload == "inline" else 2)
    here = os.getpid()
    assert set(FEEDERS) == {"a", "b", "c"} and set(FEEDERS["c"]) == {here}
    for m in ("a", "b"):
        if offload == "process":  # the big input was fed in a worker (no inline fallback)
            assert set(FEEDERS[m]) - {here}
        else:
            assert set(FEEDERS[m]) == {here}


_QUICK_SCHEMAS = [
    {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "kind": {"enum": ["a", "b"]},
            "n": {"type": ["integer", "null"]},
            "tags": {"type": "array", "items": {"type": "string"}},
            "items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"x": {"type": "number"}, "sub": {"type": "object"}},
                    "additionalProperties": False,
                },
            },
            "map": {"type": "object", "additionalProperties": {"type": "integer"}},
            "pair": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}]},
            "free": {},
        },
    },
    {"type": "array", "items": {"type": "object", "properties": {"v": {"const": 1}}}},
]
_PATHS = [
    (), ("name",), ("kind",), ("n",), ("tags",), ("tags", 0), ("tags", 5), ("items",),
    ("items", 0), ("items", 3, "x"), ("items", 1, "sub"), ("items", 1, "zz"), ("map",),
    ("map", "k"), ("pair", 0), ("pair", 1), ("free",), ("free", "q"), ("nope",), (0,),
    (2, "v"), (1, "w"),
]  # fmt: skip
_VALUES = [None, True, 0, 1, 2.5, "a", "x", [], {}, [1], {"a": 1}]
_KEYS = ["name", "x", "sub", "zz", "k", "v", "w", "items"]


@pytest.mark.parametrize("schema", _QUICK_SCHEMAS)
def test_the_c_half_tables_answer_exactly_as_the_schema_methods(schema: dict) -> None:
    """CompiledSchema._quick lets the C half skip a call back into Python; every entry
    must give the answer check() / is_known_key() / container() give for that path."""
    compiled = CompiledSchema._compile_uncached(schema)
    for path in _PATHS:
        compiled.node(path)
    types, keys, containers, children = compiled._quick
    assert types and keys and containers and children
    # the children table is the types table by parent and last part, nothing else
    assert {(*parent, part): c for parent, d in children.items() for part, c in d.items()} == {
        k: c for k, c in types.items() if k
    }
    for key in set(types) | set(keys) | set(containers):
        for index in (0, 1, 7):
            path = tuple(index if part is None else part for part in key)
            if key in types:
                for v in _VALUES:
                    classes = types[key]
                    if classes is None or type(v) in classes:
                        assert compiled.check(path, v, True) == (v, []), (path, v)
                    else:
                        assert compiled.check(path, v, True) != (v, []), (path, v)
            if key in keys:
                for k in _KEYS:
                    known = keys[key] is None or k in keys[key]
                    assert known == compiled.is_known_key(path, k), (path, k)
            if key in containers:
                form = containers[key]
                want = compiled.container(path, "object")
                made = schema_module._from_form(form) if form is not None else {}
                assert made == want and list(made) == list(want), path


NESTED_SCHEMA = {
    "type": "object",
    "$defs": {
        "node": {
            "type": "object",
            "properties": {
                "label": {"type": "string"},
                "meta": {
                    "type": "object",
                    "properties": {"at": {"type": "integer"}, "marks": {"type": "array"}},
                },
                "next": {"anyOf": [{"$ref": "#/$defs/node"}, {"type": "null"}]},
                "child": {"$ref": "#/$defs/node"},
            },
        }
    },
    "properties": {"head": {"$ref": "#/$defs/node"}, "list": {"type": "array"}},
}


@pytest.mark.parametrize("size", [1, 3, 1000])
def test_nested_skeletons_are_the_same_on_both_backends(size: int) -> None:
    """The C half makes a pre-filled object from its form (schema._object_form) without
    calling Python: nested objects, arrays and recursion as the schema's own factory."""
    text = json.dumps(
        {"head": {"label": "a", "child": {"label": "b", "meta": {"at": 1}}, "next": None}}
    )
    shown = {}
    for cls in (StreamingJsonParser, PurePythonParser):
        p = cls(schema=NESTED_SCHEMA)
        shown[cls] = [p.snapshot()]
        for i in range(0, len(text), size):
            p.feed(text[i : i + size])
            shown[cls].append(json.dumps(p.snapshot()))
        shown[cls].append(json.dumps(p.finish().value))
    assert shown[StreamingJsonParser] == shown[PurePythonParser]
    compiled = compile_schema(NESTED_SCHEMA)
    assert compiled.container(("head",), "object") == schema_module._from_form(
        schema_module._object_form(compiled.node(("head",)), frozenset())
    )
