"""CompiledSchema: skeletons, containers, fill, type checks/coercion, validation."""

from __future__ import annotations

import copy
import dataclasses
import enum
import pickle
import subprocess
import sys
import textwrap
from typing import Any, Literal, TypedDict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jsonvisor.parsers.schema import CompiledSchema, SchemaNode, SchemaWarning

# --------------------------------------------------------------------------------------
# Fixtures: schemas in every accepted form
# --------------------------------------------------------------------------------------

DOC_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "count": {"type": "integer", "default": 3},
        "meta": {
            "type": "object",
            "properties": {
                "author": {"type": ["string", "null"]},
                "tags": {"type": "array", "items": {"type": "string"}},
            },
        },
        "sections": {"type": "array", "items": {"$ref": "#/$defs/Section"}},
        "cover": {"anyOf": [{"type": "null"}, {"$ref": "#/definitions/Image"}]},
        "status": {"enum": ["draft", "final"]},
        "version": {"const": 2},
    },
    "required": ["title", "sections"],
    "additionalProperties": True,
    "$defs": {
        "Section": {
            "type": "object",
            "properties": {
                "heading": {"type": "string"},
                "words": {"type": "integer"},
                "figures": {"type": "array", "items": {"$ref": "#/definitions/Image"}},
            },
            "required": ["heading"],
        },
    },
    "definitions": {
        "Image": {
            "type": "object",
            "properties": {"url": {"type": "string"}, "width": {"type": "number"}},
            "required": ["url"],
            "additionalProperties": False,
        },
    },
}

DOC_SKELETON = {
    "title": None,
    "count": None,
    "meta": {"author": None, "tags": []},
    "sections": [],
    "cover": {"url": None, "width": None},
    "status": None,
    "version": None,
}

TREE_SCHEMA: dict[str, Any] = {
    "$ref": "#/$defs/Tree",
    "$defs": {
        "Tree": {
            "type": "object",
            "properties": {
                "value": {"type": "integer"},
                "children": {"type": "array", "items": {"$ref": "#/$defs/Tree"}},
                "parent": {"anyOf": [{"$ref": "#/$defs/Tree"}, {"type": "null"}]},
                "mirror": {"$ref": "#/$defs/Tree"},
            },
        },
    },
}


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclasses.dataclass
class Point:
    x: float
    y: float = 0.0


@dataclasses.dataclass
class Shape:
    name: str
    points: list[Point]
    center: Point | None = None
    color: Color = Color.RED
    kind: Literal["poly", "circle"] = "poly"
    labels: dict[str, int] = dataclasses.field(default_factory=dict)
    pair: tuple[int, str] | None = None
    note: str | None = None


@dataclasses.dataclass
class Chain:
    value: int
    next: Chain | None = None


class Address(TypedDict):
    street: str
    zip: int


class Person(TypedDict):
    name: str
    age: int
    address: Address
    emails: list[str]


class Patch(TypedDict, total=False):
    name: str
    address: Address


class Plain:
    x: int


@pytest.fixture(scope="module")
def doc() -> CompiledSchema:
    return CompiledSchema.compile(DOC_SCHEMA)


def _pydantic_models() -> dict[str, Any]:
    pydantic = pytest.importorskip("pydantic")

    class Item(pydantic.BaseModel):
        name: str
        price: float
        tags: list[str] = pydantic.Field(default_factory=list)

    class Owner(pydantic.BaseModel):
        login: str
        admin: bool = False

    class Order(pydantic.BaseModel):
        id: int
        owner: Owner
        items: list[Item]
        note: str | None = None
        state: Literal["open", "closed"] = "open"
        gift: Item | None = None

    class Node(pydantic.BaseModel):
        value: int
        next: Node | None = None

    Node.model_rebuild()
    return {"Item": Item, "Owner": Owner, "Order": Order, "Node": Node}


# --------------------------------------------------------------------------------------
# Compilation and skeletons
# --------------------------------------------------------------------------------------


def test_json_schema_skeleton(doc: CompiledSchema) -> None:
    assert doc.skeleton() == DOC_SKELETON
    assert list(doc.skeleton()) == list(DOC_SKELETON)  # schema order
    assert doc.root_kind == "object"


def test_skeleton_is_fresh_each_call(doc: CompiledSchema) -> None:
    a = doc.skeleton()
    a["meta"]["tags"].append("x")
    a["cover"]["url"] = "u"
    assert doc.skeleton() == DOC_SKELETON


def test_skeleton_of_array_and_scalar_roots() -> None:
    arr = CompiledSchema.compile({"type": "array", "items": {"type": "object"}})
    assert arr.skeleton() == [] and arr.root_kind == "array"
    scalar = CompiledSchema.compile({"type": "string"})
    assert scalar.skeleton() is None and scalar.root_kind is None
    nullable = CompiledSchema.compile({"type": ["null", "object"], "properties": {"a": {}}})
    assert nullable.skeleton() == {"a": None} and nullable.root_kind == "object"
    openapi = CompiledSchema.compile({"type": "integer", "nullable": True})
    assert openapi.node(()).types == frozenset({"integer", "null"})


def test_anyof_picks_first_container_alternative() -> None:
    s = CompiledSchema.compile(
        {
            "type": "object",
            "properties": {
                "v": {
                    "anyOf": [
                        {"type": "string"},
                        {"type": "array", "items": {"type": "integer"}},
                        {"type": "object", "properties": {"k": {}}},
                    ]
                },
                "w": {"oneOf": [{"type": "object", "properties": {"k": {}}}, {"type": "array"}]},
            },
        }
    )
    assert s.skeleton() == {"v": [], "w": {"k": None}}
    # both container shapes stay reachable
    assert s.container(("v",), "object") == {"k": None}
    assert s.node(("v", 0)).types == frozenset({"integer"})
    assert s.node(("v",)).types == frozenset({"string", "array", "object"})


def test_allof_and_ref_with_siblings_merge() -> None:
    s = CompiledSchema.compile(
        {
            "$defs": {"Base": {"type": "object", "properties": {"id": {"type": "integer"}}}},
            "allOf": [
                {"$ref": "#/$defs/Base"},
                {"properties": {"name": {"type": "string"}}, "required": ["name"]},
            ],
            "properties": {"extra": {"$ref": "#/$defs/Base", "default": {"id": 1}}},
        }
    )
    assert s.skeleton() == {"id": None, "name": None, "extra": {"id": None}}
    assert s.node(("extra",)).default == {"id": 1}
    assert s.node(()).required == frozenset({"name"})


def test_recursive_ref_stops_at_the_recursion_point() -> None:
    tree = CompiledSchema.compile(TREE_SCHEMA)
    # children: [] (arrays never expand); parent: nullable -> None; mirror: not nullable -> {}
    assert tree.skeleton() == {"value": None, "children": [], "parent": None, "mirror": {}}
    full = {"value": None, "children": [], "parent": None, "mirror": {}}
    assert tree.container(("children", 0), "object") == full
    assert tree.container(("children", 0, "children", 7, "parent"), "object") == full
    assert tree.container(("mirror", "mirror", "mirror"), "object") == full
    assert tree.node(("children", 3, "value")).types == frozenset({"integer"})


def test_mutual_recursion_and_degenerate_ref_cycles_terminate() -> None:
    mutual = CompiledSchema.compile(
        {
            "$ref": "#/$defs/A",
            "$defs": {
                "A": {"type": "object", "properties": {"b": {"$ref": "#/$defs/B"}}},
                "B": {"type": "object", "properties": {"a": {"$ref": "#/$defs/A"}, "n": {}}},
            },
        }
    )
    assert mutual.skeleton() == {"b": {"a": {}, "n": None}}
    assert mutual.container(("b",), "object") == {"a": {"b": {}}, "n": None}
    loop = CompiledSchema.compile(
        {
            "type": "object",
            "properties": {"x": {"$ref": "#/$defs/P"}, "self": {"$ref": "#"}},
            "$defs": {"P": {"$ref": "#/$defs/Q"}, "Q": {"allOf": [{"$ref": "#/$defs/P"}]}},
        }
    )
    assert loop.skeleton() == {"x": None, "self": {}}
    assert loop.check(("x",), object(), True)[1] == []  # a pure ref cycle constrains nothing


def test_dataclass_skeleton_and_defaults() -> None:
    s = CompiledSchema.compile(Shape)
    assert s.skeleton() == {
        "name": None,
        "points": [],
        "center": {"x": None, "y": None},
        "color": None,
        "kind": None,
        "labels": {},
        "pair": [],
        "note": None,
    }
    assert s.node(("color",)).default is Color.RED
    assert s.node(("name",)).has_default is False
    assert s.node(()).required == frozenset({"name", "points"})
    assert s.node(("center",)).nullable
    assert s.node(("points", 4, "y")).types == frozenset({"number"})
    assert s.node(("labels", "any-key")).types == frozenset({"integer"})
    assert s.node(("pair", 0)).types == frozenset({"integer"})
    assert s.node(("pair", 1)).types == frozenset({"string"})
    assert s.node(("kind",)).enum == ("poly", "circle")


def test_recursive_dataclass() -> None:
    s = CompiledSchema.compile(Chain)
    assert s.skeleton() == {"value": None, "next": None}
    assert s.container(("next", "next"), "object") == {"value": None, "next": None}
    built, warnings = s.validate({"value": 1, "next": {"value": 2, "next": None}})
    assert warnings == []
    assert built == Chain(1, Chain(2))


def test_typeddict_total_and_partial() -> None:
    person = CompiledSchema.compile(Person)
    assert person.skeleton() == {
        "name": None,
        "age": None,
        "address": {"street": None, "zip": None},
        "emails": [],
    }
    assert person.node(()).required == frozenset({"name", "age", "address", "emails"})
    patch = CompiledSchema.compile(Patch)
    assert patch.skeleton() == {"name": None, "address": {"street": None, "zip": None}}
    assert patch.node(()).required == frozenset()
    assert patch.node(("address",)).required == frozenset({"street", "zip"})


def test_pydantic_skeleton() -> None:
    m = _pydantic_models()
    order = CompiledSchema.compile(m["Order"])
    assert order.skeleton() == {
        "id": None,
        "owner": {"login": None, "admin": None},
        "items": [],
        "note": None,
        "state": None,
        "gift": {"name": None, "price": None, "tags": []},
    }
    assert order.container(("items", 0), "object") == {"name": None, "price": None, "tags": []}
    assert order.node(("state",)).default == "open"
    assert order.node(("items", 2, "tags", 0)).types == frozenset({"string"})
    node = CompiledSchema.compile(m["Node"])
    assert node.skeleton() == {"value": None, "next": None}
    assert node.container(("next",), "object") == {"value": None, "next": None}


@pytest.mark.parametrize(
    "bad",
    [42, "schema", None, [{"type": "object"}], Plain, int, list[int], Shape("s", [])],
)
def test_unsupported_input_raises_type_error(bad: object) -> None:
    with pytest.raises(TypeError, match="JSON Schema dict"):
        CompiledSchema.compile(bad)


def test_unsupported_hints_and_instances() -> None:
    @dataclasses.dataclass
    class BadKeys:
        m: dict[int, str]

    with pytest.raises(TypeError, match="mapping keys must be str"):
        CompiledSchema.compile(BadKeys)
    with pytest.raises(TypeError, match="not an instance"):
        CompiledSchema.compile(Point(1.0))


def test_pydantic_instance_is_rejected() -> None:
    m = _pydantic_models()
    with pytest.raises(TypeError):
        CompiledSchema.compile(m["Owner"](login="x"))


@pytest.mark.parametrize(
    "bad",
    [
        {"$ref": "#/$defs/Missing"},
        {"$ref": "http://example.com/schema.json"},
        {"type": "integr"},
        {"properties": [1, 2]},
        {"properties": {"a": 5}},
    ],
)
def test_malformed_json_schema_raises_value_error(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        CompiledSchema.compile(bad)


@pytest.mark.parametrize(
    "bad,where,words",
    [
        ({"required": 7}, "#/required", "'required' must be an array of property names"),
        ({"required": [1]}, "#/required", "not [1] (an array)"),
        ({"required": "a"}, "#/required", 'not "a" (a string)'),
        ({"allOf": 7}, "#/allOf", "'allOf' must be a non-empty array of schemas, not 7"),
        ({"anyOf": 7}, "#/anyOf", "'anyOf' must be a non-empty array of schemas"),
        ({"oneOf": {"a": 1}}, "#/oneOf", 'not {"a": 1} (an object)'),
        ({"anyOf": []}, "#/anyOf", "non-empty"),
        ({"enum": 7}, "#/enum", "'enum' must be an array"),
        ({"prefixItems": 5}, "#/prefixItems", "'prefixItems' must be an array of schemas"),
        ({"items": [True, 5]}, "#/items/1", "a schema in 'items' must be an object or a boolean"),
        ({"items": [True], "additionalItems": 5}, "#/additionalItems", "in 'additionalItems'"),
        ({"items": None}, "#/items", "not null"),
        ({"$ref": 5}, "#/$ref", "'$ref' must be a string"),
        ({"type": 5}, "#/type", "'type' must be a type name or a non-empty array"),
        ({"type": [[]]}, "#/type", "'type' holds [] (an array), which is not a type"),
        ({"type": ["string", "integr"]}, "#/type", '"integr" (a string), which is not a type'),
        ({"nullable": "yes"}, "#/nullable", "'nullable' must be true or false"),
        ({"properties": [1]}, "#/properties", "'properties' must be an object"),
        ({"properties": {"a": 5}}, "#/properties/a", "a schema in 'properties'"),
        ({"additionalProperties": 5}, "#/additionalProperties", "in 'additionalProperties'"),
        (
            {"properties": {"a/b~c": {"items": {"required": 7}}}},
            "#/properties/a~1b~0c/items/required",
            "'required'",
        ),
        ({"$defs": {"X": 5}, "$ref": "#/$defs/X"}, "#/$defs/X", "the target of a '$ref'"),
        ({"$ref": "#/$defs/Missing"}, "#/$ref", "'#/$defs/Missing' does not resolve"),
        ({"$ref": "other.json#/a"}, "#/$ref", "is not local"),
        ({"anyOf": [True], "oneOf": [5]}, "#/oneOf/0", "a schema in 'oneOf'"),
    ],
)
def test_malformed_schema_errors_name_the_keyword_and_its_pointer(
    bad: dict[str, Any], where: str, words: str
) -> None:
    with pytest.raises(ValueError) as info:
        CompiledSchema.compile(bad)
    assert type(info.value) is ValueError
    message = str(info.value)
    assert message.startswith(f"invalid JSON Schema at {where}: "), message
    assert words in message


@pytest.mark.parametrize("schema", [True, False])
def test_boolean_schema_at_the_top(schema: bool) -> None:
    compiled = CompiledSchema.compile(schema)
    assert compiled is CompiledSchema.compile(schema)  # cached like a dict
    assert compiled.skeleton() is None
    assert copy.deepcopy(compiled) is compiled
    assert pickle.loads(pickle.dumps(compiled)) is compiled
    for value in ({"a": 1}, [1], "x", 1, None):
        _, warnings = compiled.check((), value, coerce=True, deep=True)
        if schema:
            assert warnings == []
        else:
            assert (
                warnings == [SchemaWarning((), "wrong_type", warnings[0].message)]
                and "schema is false" in warnings[0].message
            )


def test_boolean_subschemas() -> None:
    s = CompiledSchema.compile(
        {
            "type": "object",
            "properties": {
                "any": True,
                "never": False,
                "list": {"type": "array", "items": False},
                "pair": {"type": "array", "prefixItems": [{"type": "integer"}], "items": False},
                "ref": {"$ref": "#/$defs/Nothing"},
                "some": {"anyOf": [False, {"type": "string"}]},
            },
            "$defs": {"Nothing": False},
        }
    )
    assert s.skeleton() == {
        "any": None,
        "never": None,
        "list": [],
        "pair": [],
        "ref": None,
        "some": None,
    }
    assert s.check(("any",), {"x": [1]}, False) == ({"x": [1]}, [])
    for path, value in [(("never",), 1), (("list", 0), "x"), (("pair", 1), 2), (("ref",), "x")]:
        _, warnings = s.check(path, value, False)
        assert [w.kind for w in warnings] == ["wrong_type"], path
        assert "schema is false" in warnings[0].message
    assert s.check(("pair", 0), 5, False) == (5, [])
    assert s.check(("some",), "x", False) == ("x", [])
    _, warnings = s.check((), {"never": 1, "list": [1, 2]}, False, deep=True)
    assert [w.path for w in warnings] == [("never",), ("list", 0), ("list", 1)]


def test_percent_encoded_ref() -> None:
    s = CompiledSchema.compile(
        {"$defs": {"a b": {"type": "string"}, "c%20d": {"type": "integer"}},
         "properties": {"x": {"$ref": "#/$defs/a%20b"}, "y": {"$ref": "#/$defs/c%20d"}}}
    )  # fmt: skip
    assert s.node(("x",)).types == frozenset({"string"})
    assert s.node(("y",)).types == frozenset({"integer"})  # the literal key comes first


def test_works_without_pydantic() -> None:
    code = textwrap.dedent(
        """
        import sys
        sys.modules["pydantic"] = None  # any import of pydantic now fails
        import dataclasses
        from jsonvisor.parsers.schema import CompiledSchema

        @dataclasses.dataclass
        class P:
            x: int
            tags: list[str]

        s = CompiledSchema.compile(P)
        assert s.skeleton() == {"x": None, "tags": []}
        assert s.validate({"x": 1, "tags": []}) == (P(1, []), [])
        j = CompiledSchema.compile({"type": "object", "properties": {"a": {"type": "integer"}}})
        assert j.check(("a",), "5", True)[0] == 5
        try:
            CompiledSchema.compile(object)
        except TypeError:
            print("ok")
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


# --------------------------------------------------------------------------------------
# container / fill / declared_paths
# --------------------------------------------------------------------------------------


def test_container_at_nested_array_item_paths(doc: CompiledSchema) -> None:
    section = {"heading": None, "words": None, "figures": []}
    assert doc.container(("sections", 0), "object") == section
    assert doc.container(("sections", 41), "object") == section
    assert doc.container(("sections", 0, "figures", 3), "object") == {"url": None, "width": None}
    assert doc.container(("sections",), "array") == []
    first = doc.container(("sections", 1), "object")
    first["figures"].append(1)
    assert doc.container(("sections", 1), "object") == section


def test_container_unknown_path_and_kind_mismatch(doc: CompiledSchema) -> None:
    assert doc.container(("nope",), "object") == {}
    assert doc.container(("nope", 0, "x"), "array") == []
    assert doc.container(("title",), "object") == {}  # declared a string
    assert doc.container(("meta",), "array") == []  # declared an object
    assert doc.container(("meta", 0), "object") == {}  # index into an object
    assert doc.container(("sections", "x"), "object") == {}  # key into an array
    with pytest.raises(ValueError):
        doc.container((), "string")


def test_fill_orders_declared_first_then_arrival(doc: CompiledSchema) -> None:
    value = {"zeta": 1, "sections": [{"words": 5, "x": 0}], "alpha": 2, "title": "T"}
    before = copy.deepcopy(value)
    filled = doc.fill((), value)
    assert list(filled) == [*DOC_SKELETON, "zeta", "alpha"]
    assert filled["title"] == "T"
    assert filled["meta"] == {"author": None, "tags": []}
    assert filled["sections"] == [{"heading": None, "words": 5, "figures": [], "x": 0}]
    assert list(filled["sections"][0]) == ["heading", "words", "figures", "x"]
    assert value == before  # input untouched


def test_fill_at_nested_path_and_non_objects(doc: CompiledSchema) -> None:
    got = doc.fill(("sections", 2), {"figures": [{"width": 3}]})
    assert got == {"heading": None, "words": None, "figures": [{"url": None, "width": 3}]}
    assert doc.fill(("sections",), [{}, {}]) == [
        {"heading": None, "words": None, "figures": []},
        {"heading": None, "words": None, "figures": []},
    ]
    assert doc.fill(("title",), "x") == "x"
    assert doc.fill(("unknown",), {"a": 1}) == {"a": 1}
    assert doc.fill(("meta",), None) is None
    assert doc.fill(("meta",), {"author": "me", "tags": ["a"]}) == {"author": "me", "tags": ["a"]}


def test_fill_typed_map_values_and_recursion() -> None:
    s = CompiledSchema.compile(Shape)
    got = s.fill((), {"name": "n", "labels": {"b": 1}, "center": {"x": 1.0}})
    assert got["labels"] == {"b": 1}
    assert got["center"] == {"x": 1.0, "y": None}
    tree = CompiledSchema.compile(TREE_SCHEMA)
    got = tree.fill((), {"children": [{"value": 1}], "mirror": {"value": 2}})
    assert got == {
        "value": None,
        "children": [{"value": 1, "children": [], "parent": None, "mirror": {}}],
        "parent": None,
        "mirror": {"value": 2, "children": [], "parent": None, "mirror": {}},
    }


def test_fill_matches_container_then_streamed_members(doc: CompiledSchema) -> None:
    # What fill gives a whole value equals a container with its members set one by one.
    value = {"heading": "h", "figures": [{"url": "u"}], "extra": True}
    live = doc.container(("sections", 0), "object")
    for k, v in value.items():
        live[k] = doc.fill(("sections", 0, k), v)
    assert doc.fill(("sections", 0), value) == live
    assert list(doc.fill(("sections", 0), value)) == list(live)


def test_declared_paths(doc: CompiledSchema) -> None:
    value = doc.fill((), {"sections": [{"figures": [{}]}, {}], "zzz": {"a": 1}})
    paths = doc.declared_paths(value)
    assert paths[0] == ()
    assert ("zzz",) not in paths and ("zzz", "a") not in paths
    assert paths[:8] == [
        (),
        ("title",),
        ("count",),
        ("meta",),
        ("meta", "author"),
        ("meta", "tags"),
        ("sections",),
        ("sections", 0),
    ]
    for p in [
        ("sections", 0, "figures", 0, "url"),
        ("sections", 0, "figures", 0, "width"),
        ("sections", 1, "heading"),
        ("cover", "url"),
        ("version",),
    ]:
        assert p in paths
    assert ("sections", 2) not in paths
    assert len(paths) == len(set(paths))


def test_declared_paths_of_a_map_and_tags() -> None:
    s = CompiledSchema.compile(Shape)
    value = s.fill((), {"labels": {"a": 1, "b": 2}, "points": [{"x": 1.0}]})
    paths = s.declared_paths(value)
    assert ("labels", "a") in paths and ("labels", "b") in paths
    assert ("points", 0, "x") in paths and ("points", 0, "y") in paths
    doc = CompiledSchema.compile(DOC_SCHEMA)
    paths = doc.declared_paths({"meta": {"tags": ["a", "b"]}})
    assert ("meta", "tags", 1) in paths and ("title",) not in paths


# --------------------------------------------------------------------------------------
# check
# --------------------------------------------------------------------------------------

SCALARS = CompiledSchema.compile(
    {
        "type": "object",
        "properties": {
            "i": {"type": "integer"},
            "n": {"type": "number"},
            "b": {"type": "boolean"},
            "s": {"type": "string"},
            "ni": {"type": ["integer", "null"]},
            "z": {"type": "null"},
            "o": {"type": "object", "properties": {"i": {"type": "integer"}}},
            "a": {"type": "array", "items": {"type": "integer"}},
            "any": {},
        },
    }
)


@pytest.mark.parametrize(
    ("key", "raw", "coerced"),
    [
        ("i", "42", 42),
        ("i", " -7 ", -7),
        ("i", 1.0, 1),
        ("i", "1e3", 1000),
        ("i", "2.0", 2),
        ("ni", "5", 5),
        ("n", "3.5", 3.5),
        ("n", "1e3", 1000.0),
        ("n", "-0.25", -0.25),
        ("n", "42", 42),
        ("b", "true", True),
        ("b", "false", False),
        ("b", "True", True),
        ("s", 42, "42"),
        ("s", 3.5, "3.5"),
    ],
)
def test_check_coercions(key: str, raw: object, coerced: object) -> None:
    value, warnings = SCALARS.check((key,), raw, True)
    assert value == coerced and type(value) is type(coerced)
    assert [w.kind for w in warnings] == ["coerced"]
    assert warnings[0].path == (key,)
    value, warnings = SCALARS.check((key,), raw, False)
    assert value is raw
    assert [w.kind for w in warnings] == ["wrong_type"]
    assert "coercible" in warnings[0].message


@pytest.mark.parametrize(
    ("key", "raw"),
    [
        ("i", "abc"),
        ("i", 1.5),
        ("i", "1.5"),
        ("i", True),
        ("i", "1e400"),
        ("n", True),
        ("n", "nan"),
        ("n", "inf"),
        ("n", "1_000"),
        ("b", 1),
        ("b", "yes"),
        ("s", True),
        ("s", None),
        ("s", {"a": 1}),
        ("z", 0),
        ("o", [1]),
        ("a", {"x": 1}),
        ("a", "[1]"),
    ],
)
def test_check_not_coercible(key: str, raw: object) -> None:
    for coerce in (True, False):
        value, warnings = SCALARS.check((key,), raw, coerce)
        assert value is raw
        assert [w.kind for w in warnings] == ["wrong_type"]
        assert "coercible" not in warnings[0].message


@pytest.mark.parametrize(
    ("key", "raw"),
    [
        ("i", 7),
        ("i", -(2**70)),
        ("n", 7),
        ("n", 7.5),
        ("b", False),
        ("s", ""),
        ("ni", None),
        ("z", None),
        ("o", {"i": "not checked"}),
        ("a", ["not", "checked"]),
        ("any", {"x": [1]}),
    ],
)
def test_check_accepts_valid_values(key: str, raw: object) -> None:
    assert SCALARS.check((key,), raw, True) == (raw, [])


def test_bool_is_not_a_number_but_int_is() -> None:
    _, warnings = SCALARS.check(("i",), False, True)
    assert warnings == [
        SchemaWarning(("i",), "wrong_type", "expected integer, found boolean false")
    ]
    assert SCALARS.check(("n",), 3, False) == (3, [])
    assert SCALARS.check(("b",), True, False) == (True, [])


def test_check_messages_say_expected_and_found() -> None:
    _, [w] = SCALARS.check(("ni",), "x", False)
    assert w.message == "expected integer or null, found string 'x'"
    _, [w] = SCALARS.check(("i",), "42", False)
    assert w.message == "expected integer, found string '42' (coercible to integer 42)"
    _, [w] = SCALARS.check(("s",), 42, True)
    assert w.message == "coerced integer 42 to string '42'"


def test_check_unknown_paths() -> None:
    sentinel = object()
    assert SCALARS.check(("nope",), sentinel, True) == (sentinel, [])
    assert SCALARS.check(("i", "deeper"), "x", True) == ("x", [])
    assert SCALARS.check(("a", 3), "4", True) == (
        4,
        [SchemaWarning(("a", 3), "coerced", "coerced string '4' to integer 4")],
    )


def test_check_enum_and_const(doc: CompiledSchema) -> None:
    assert doc.check(("status",), "draft", False) == ("draft", [])
    _, [w] = doc.check(("status",), "gone", False)
    assert w.kind == "validation" and '"draft", "final"' in w.message
    _, [w] = doc.check(("status",), 3, False)  # types are inferred from the enum
    assert w.kind == "wrong_type"
    assert doc.check(("version",), 2, False) == (2, [])
    _, [w] = doc.check(("version",), 3, False)
    assert w.kind == "validation"
    assert doc.check(("version",), "2", True)[0] == 2
    _, [w] = doc.check(("version",), True, True)  # True == 1 in Python, not in JSON
    assert w.kind == "wrong_type"
    lit = CompiledSchema.compile(Shape)
    assert lit.check(("kind",), "circle", False) == ("circle", [])
    assert lit.check(("kind",), "square", False)[1][0].kind == "validation"


def test_check_deep_coerces_recursively_without_mutating(doc: CompiledSchema) -> None:
    value = {
        "title": 5,
        "count": "7",
        "sections": [{"heading": "h", "words": "12", "figures": [{"url": "u", "width": "2.5"}]}],
        "cover": None,
        "status": "final",
        "extra": 1,
    }
    before = copy.deepcopy(value)
    out, warnings = doc.check((), value, True, deep=True)
    assert value == before
    assert out == {
        **before,
        "title": "5",
        "count": 7,
        "sections": [{"heading": "h", "words": 12, "figures": [{"url": "u", "width": 2.5}]}],
    }
    assert [(w.path, w.kind) for w in warnings] == [
        (("title",), "coerced"),
        (("count",), "coerced"),
        (("sections", 0, "words"), "coerced"),
        (("sections", 0, "figures", 0, "width"), "coerced"),
        (("extra",), "unknown_key"),
    ]
    same, warnings = doc.check((), value, False, deep=True)
    assert same is value
    assert [w.kind for w in warnings] == ["wrong_type"] * 4 + ["unknown_key"]


def test_check_deep_skips_placeholders_and_flags_forbidden_keys(doc: CompiledSchema) -> None:
    filled = doc.fill((), {"title": "t", "sections": []})
    out, warnings = doc.check((), filled, True, deep=True)
    assert out is filled and warnings == []
    _, warnings = doc.check((), {"title": None, "sections": None}, True, deep=True)
    assert [(w.path, w.kind) for w in warnings] == [
        (("title",), "wrong_type"),
        (("sections",), "wrong_type"),
    ]
    _, [w] = doc.check(("cover",), {"url": "u", "height": 1}, True, deep=True)
    assert w == SchemaWarning(
        ("cover", "height"),
        "unknown_key",
        "undeclared key 'height' (additional properties not allowed)",
    )
    shallow = doc.check(("cover",), {"url": 5}, True)
    assert shallow == ({"url": 5}, [])


def test_is_known_key_and_allows_key(doc: CompiledSchema) -> None:
    assert doc.is_known_key((), "title")
    assert not doc.is_known_key((), "whatever")  # allowed but not declared
    assert doc.allows_key((), "whatever")
    assert doc.is_known_key(("cover",), "url")
    assert not doc.is_known_key(("cover",), "height")
    assert not doc.allows_key(("cover",), "height")  # additionalProperties: false
    assert doc.is_known_key(("sections", 3), "heading")
    assert not doc.is_known_key(("sections", 3), "x")
    assert doc.is_known_key(("no", "schema"), "x")  # nothing to compare with
    shape = CompiledSchema.compile(Shape)
    assert shape.is_known_key(("labels",), "anything")  # typed map
    free = CompiledSchema.compile({"type": "object", "properties": {"d": {"type": "object"}}})
    assert free.is_known_key(("d",), "k")  # free-form object


# --------------------------------------------------------------------------------------
# validate
# --------------------------------------------------------------------------------------


def test_validate_json_schema_required(doc: CompiledSchema) -> None:
    value = {"title": "t", "sections": [{"heading": "h", "figures": [{"url": "u"}]}]}
    assert doc.validate(value) == (value, [])
    filled = doc.fill((), value)
    assert doc.validate(filled) == (filled, [])
    missing = {"sections": [{"figures": []}], "cover": {"width": 2}}
    got, warnings = doc.validate(missing)
    assert got is missing
    assert [(w.path, w.kind) for w in warnings] == [
        (("sections", 0, "heading"), "validation"),
        (("cover", "url"), "validation"),
        (("title",), "validation"),
    ]
    # a skeleton's None placeholders count as missing (its [] is a valid empty array), and
    # an untouched optional object is dropped rather than checked for its required "url"
    _, warnings = doc.validate(doc.skeleton())
    assert [w.path for w in warnings] == [("title",)]


def test_validate_typeddict() -> None:
    s = CompiledSchema.compile(Patch)
    assert s.validate({"name": "n"}) == ({"name": "n"}, [])
    assert s.validate(s.skeleton()) == (s.skeleton(), [])
    _, warnings = s.validate({"address": {"street": "s"}})
    assert [w.path for w in warnings] == [("address", "zip")]


def test_validate_dataclass_builds_instances() -> None:
    s = CompiledSchema.compile(Shape)
    value = {
        "name": "s",
        "points": [{"x": 1}, {"x": 2.5, "y": 1}],
        "center": {"x": 0.5},
        "color": "blue",
        "pair": [1, "a"],
        "labels": {"k": 3},
        "ignored": True,
    }
    built, warnings = s.validate(value)
    assert warnings == []
    assert built == Shape(
        name="s",
        points=[Point(1.0), Point(2.5, 1.0)],
        center=Point(0.5),
        color=Color.BLUE,
        pair=(1, "a"),
        labels={"k": 3},
    )
    assert type(built.points[0].x) is float


def test_validate_dataclass_from_skeleton_filled_value_uses_defaults() -> None:
    s = CompiledSchema.compile(Shape)
    built, warnings = s.validate(s.fill((), {"name": "s", "points": []}))
    assert warnings == []
    assert built == Shape(name="s", points=[])


def test_validate_dataclass_failures() -> None:
    s = CompiledSchema.compile(Shape)
    value = {"name": 5, "points": [{"y": 1.0}], "color": "green", "kind": "oval"}
    got, warnings = s.validate(value)
    assert got is value
    assert [(w.path, w.kind) for w in warnings] == [
        (("name",), "validation"),
        (("points", 0, "x"), "validation"),
        (("color",), "validation"),
        (("kind",), "validation"),
    ]
    assert "missing required property 'x'" in warnings[1].message
    got, [w] = s.validate([1])
    assert w.path == () and "expected object" in w.message


def test_validate_pydantic() -> None:
    m = _pydantic_models()
    s = CompiledSchema.compile(m["Order"])
    value = {"id": "3", "owner": {"login": "me"}, "items": [{"name": "a", "price": 2}]}
    inst, warnings = s.validate(value)
    assert warnings == []
    assert isinstance(inst, m["Order"])
    assert inst.id == 3 and inst.items[0].price == 2.0 and inst.state == "open"
    # a skeleton-filled final value validates: placeholders give way to defaults
    inst, warnings = s.validate(s.fill((), value))
    assert warnings == [] and inst.gift is None and inst.note is None
    bad = {"id": "x", "owner": {}, "items": [{"name": "a", "price": "cheap"}]}
    got, warnings = s.validate(bad)
    assert got is bad
    assert {w.path for w in warnings} == {("id",), ("owner", "login"), ("items", 0, "price")}
    assert all(w.kind == "validation" and w.message for w in warnings)
    node = CompiledSchema.compile(m["Node"])
    inst, warnings = node.validate({"value": 1, "next": {"value": 2}})
    assert warnings == [] and inst.next.value == 2


def test_pydantic_check_and_coercion() -> None:
    m = _pydantic_models()
    s = CompiledSchema.compile(m["Order"])
    assert s.check(("items", 0, "price"), "9.5", True)[0] == 9.5
    assert s.check(("note",), None, False) == (None, [])
    assert s.check(("state",), "closed", False) == ("closed", [])
    assert s.check(("state",), "lost", False)[1][0].kind == "validation"
    assert s.check(("gift",), None, False) == (None, [])
    assert not s.is_known_key(("owner",), "password")


# --------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_values = st.recursive(
    json_scalars,
    lambda kids: (
        st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=3), kids, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(["title", "meta", "sections", "x", "y"]), json_values))
def test_fill_is_idempotent_and_keeps_every_key(value: dict[str, Any]) -> None:
    doc = CompiledSchema.compile(DOC_SCHEMA)
    filled = doc.fill((), value)
    assert doc.fill((), filled) == filled
    assert set(value) <= set(filled)
    assert set(DOC_SKELETON) <= set(filled)
    for k, v in value.items():
        if not isinstance(v, (dict, list)):
            assert filled[k] == v or (v != v)


@settings(max_examples=150, deadline=None)
@given(json_values, st.booleans())
def test_check_never_raises_and_only_coerces_when_asked(value: object, coerce: bool) -> None:
    for key in ("i", "n", "b", "s", "ni", "o", "a", "any"):
        out, warnings = SCALARS.check((key,), value, coerce, deep=True)
        assert all(isinstance(w, SchemaWarning) for w in warnings)
        if not coerce:
            assert out is value
        if not warnings:
            assert out is value


def test_schema_node_is_exported() -> None:
    assert isinstance(SCALARS.node(("i",)), SchemaNode)
    assert SCALARS.node(("missing",)) is None
    assert repr(SCALARS.node(("ni",))) == "<SchemaNode integer|null>"
