"""Schemas compiled for the incremental parser: skeletons, type checks, coercion, validation.

:class:`CompiledSchema` accepts a JSON Schema ``dict``, a dataclass type, a ``TypedDict`` type
or a pydantic v2 ``BaseModel`` subclass, and compiles it once into a graph of
:class:`SchemaNode` objects with everything the parser needs per value precomputed (Python
classes for type checks, enum keys, skeleton factories).  Paths are tuples of object keys
(``str``) and array indices (``int``); an index selects the array's ``items`` schema.

>>> s = CompiledSchema.compile({
...     "type": "object",
...     "properties": {"name": {"type": "string"}, "tags": {"type": "array"}},
... })
>>> s.skeleton()
{'name': None, 'tags': []}
>>> value, warnings = s.check(("name",), 42, coerce=True)
>>> value, [w.kind for w in warnings]
('42', ['coerced'])

A compiled schema is immutable and shared: :func:`compile_schema` (or
``CompiledSchema.compile``) caches what it compiles, so every parser given the same model
(or an equal JSON Schema dict) uses one object, and parsers given a ``CompiledSchema`` skip
compilation altogether:

>>> compile_schema({"type": "array"}) is compile_schema({"type": "array"})
True

Sans-IO and pure Python: no Trio, no I/O.  pydantic is optional; it is only used when a
pydantic model is compiled (and it is then already imported by the caller).
"""

from __future__ import annotations

import collections.abc
import copy
import dataclasses
import enum
import functools
import json
import math
import re
import sys
import threading
import types
import typing
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

from .events import Path

__all__ = ["CompiledSchema", "SchemaNode", "SchemaWarning", "compile_schema"]


class SchemaWarning(NamedTuple):
    """A value at ``path`` that does not match the schema.

    ``kind`` is ``"wrong_type"`` (not of the declared type; the message says whether it
    could be coerced), ``"coerced"`` (converted to the declared type), ``"unknown_key"``
    (a key the schema does not declare) or ``"validation"`` (an enum/const mismatch, a
    missing required property, or a pydantic/dataclass validation error).
    """

    path: Path
    kind: str
    message: str


# --------------------------------------------------------------------------------------
# Compiled nodes
# --------------------------------------------------------------------------------------

_JSON_TYPES = ("object", "array", "string", "number", "integer", "boolean", "null")
_TYPE_ORDER = {name: i for i, name in enumerate(_JSON_TYPES)}
_CLASSES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "number": (int, float),
    "integer": (int,),
    "boolean": (bool,),
    "null": (type(None),),
}
_EMPTY_PROPS: dict[str, SchemaNode] = {}
_MISSING: Any = object()
_PY_TYPE: Any = object()  # private key: the Python type a converted schema came from
_CACHE_LIMIT = 4096

_UNBUILT = 0
_BUSY = 1
_BUILT = 2


class SchemaNode:
    """One compiled (sub)schema.  Read-only: assigning or deleting an attribute raises
    :class:`AttributeError` (nodes are shared by every parser of their
    :class:`CompiledSchema`; the compiler builds them as a private writable subclass and
    turns them into ``SchemaNode`` when compilation ends).  The containers they expose
    (``properties``, ``enum``...) must not be changed either.

    ``types`` is the set of allowed JSON types (``None``: anything); ``kind`` is the
    container shown in skeletons (``"object"``, ``"array"`` or ``None``); ``properties``
    maps declared names to nodes in schema order; ``additional`` is ``additionalProperties``
    (``None`` when absent, a bool, or a node); ``items``/``prefix_items`` describe array
    elements; ``enum`` holds the allowed values (``const`` becomes a one-value enum);
    ``default``/``has_default`` expose the schema's default; ``alternatives`` are the
    ``anyOf``/``oneOf`` branches; ``py_type`` is the Python class the node was built from
    (dataclass, TypedDict, pydantic model, Enum, tuple...), if any.
    """

    __slots__ = (
        "_alts",
        "_classes",
        "_enum_keys",
        "_factory",
        "_map",
        "_own",
        "_parts",
        "_state",
        "additional",
        "alternatives",
        "default",
        "enum",
        "has_default",
        "items",
        "kind",
        "nullable",
        "prefix_items",
        "properties",
        "py_type",
        "required",
        "types",
    )

    def __init__(self) -> None:
        self.types: frozenset[str] | None = None
        self.kind: str | None = None
        self.nullable = True
        self.properties: dict[str, SchemaNode] = _EMPTY_PROPS
        self.required: frozenset[str] = frozenset()
        self.additional: bool | SchemaNode | None = None
        self.items: SchemaNode | None = None
        self.prefix_items: tuple[SchemaNode, ...] = ()
        self.enum: tuple[Any, ...] | None = None
        self.default: Any = None
        self.has_default = False
        self.alternatives: tuple[SchemaNode, ...] = ()
        self.py_type: Any = None
        self._classes: frozenset[type] | None = None
        self._enum_keys: frozenset[Any] | None = None
        self._factory: Callable[[], dict[str, Any]] | None = None
        self._map: SchemaNode | None = None  # typed additionalProperties
        self._own: _Facts | None = None
        self._parts: list[SchemaNode] = []
        self._alts: list[SchemaNode] = []
        self._state = _BUILT

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"SchemaNode is read-only (shared by parsers): cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"SchemaNode is read-only (shared by parsers): cannot delete {name!r}")

    def __reduce__(self) -> Any:
        raise TypeError("a SchemaNode does not pickle on its own: pickle its CompiledSchema")

    def __copy__(self) -> SchemaNode:
        return self

    def __deepcopy__(self, memo: object) -> SchemaNode:
        return self

    def __repr__(self) -> str:
        kinds = "any" if self.types is None else "|".join(_sorted_types(self.types))
        props = f" properties={list(self.properties)}" if self.properties else ""
        return f"<SchemaNode {kinds}{props}>"

    def child(self, part: str | int) -> SchemaNode | None:
        """The node of a property name or an array index below this one, or ``None``."""
        if isinstance(part, str):
            return self.properties.get(part, self._map)
        prefix = self.prefix_items
        if prefix and 0 <= part < len(prefix):  # type: ignore[operator]
            return prefix[part]  # type: ignore[index]
        return self.items

    @property
    def map_values(self) -> SchemaNode | None:
        """The node of undeclared properties' values (typed ``additionalProperties``)."""
        return self._map

    def key_known(self, key: str) -> bool:
        """Is ``key`` declared here (a property, or any key of a typed map)?"""
        if key in self.properties:
            return True
        add = self.additional
        if add is False:
            return False
        if isinstance(add, SchemaNode):
            return True
        return not self.properties  # a free-form object declares nothing to compare with

    def key_allowed(self, key: str) -> bool:
        """May ``key`` appear here (declared, or additional properties not forbidden)?"""
        return key in self.properties or self.additional is not False

    def matches(self, value: object) -> bool:
        """Is ``value`` of one of the allowed JSON types (``bool`` is not a number)?"""
        classes = self._classes
        if classes is None or type(value) in classes:
            return True
        return self._matches_subclass(value)

    def _matches_subclass(self, value: object) -> bool:
        if isinstance(value, bool) or self.types is None:
            return False
        return any(isinstance(value, _CLASSES[t]) for t in self.types)

    def in_enum(self, value: object) -> bool:
        """Is ``value`` allowed by ``enum``/``const`` (always true without them)?"""
        keys = self._enum_keys
        return keys is None or _enum_key(value) in keys


class _NodeBuilder(SchemaNode):
    """A :class:`SchemaNode` being compiled: writable until :func:`_freeze` makes it a
    ``SchemaNode`` (same slots, so only its class changes)."""

    __slots__ = ()
    __setattr__ = object.__setattr__
    __delattr__ = object.__delattr__


def _freeze(nodes: Iterable[SchemaNode]) -> None:
    """Make compiled nodes read-only (see :class:`SchemaNode`)."""
    for n in nodes:
        if type(n) is _NodeBuilder:
            n.__class__ = SchemaNode


class _Facts:
    """The keywords of one schema object (or a merge of several), before finalisation."""

    __slots__ = (
        "additional",
        "alternatives",
        "default",
        "enum",
        "has_default",
        "items",
        "kind",
        "prefix_items",
        "properties",
        "py_type",
        "required",
        "types",
    )

    def __init__(self) -> None:
        self.types: tuple[str, ...] | None = None  # ordered, deduplicated
        self.kind: str | None = None
        self.properties: dict[str, SchemaNode] = _EMPTY_PROPS
        self.required: frozenset[str] = frozenset()
        self.additional: bool | SchemaNode | None = None
        self.items: SchemaNode | None = None
        self.prefix_items: tuple[SchemaNode, ...] = ()
        self.enum: tuple[Any, ...] | None = None
        self.default: Any = None
        self.has_default = False
        self.py_type: Any = None
        self.alternatives: tuple[SchemaNode, ...] = ()

    @classmethod
    def of(cls, node: SchemaNode) -> _Facts:
        f = cls()
        f.types = None if node.types is None else _sorted_types(node.types)
        f.kind = node.kind
        f.properties = node.properties
        f.required = node.required
        f.additional = node.additional
        f.items = node.items
        f.prefix_items = node.prefix_items
        f.enum = node.enum
        f.default = node.default
        f.has_default = node.has_default
        f.py_type = node.py_type
        f.alternatives = node.alternatives
        return f


def _sorted_types(ts: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(ts), key=_TYPE_ORDER.__getitem__))


def _and_types(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    """Intersect two type lists (in ``a``'s order); ``integer`` is a ``number``."""
    out = [t for t in a if t in b or (t == "integer" and "number" in b)]
    if "number" in a and "integer" in b and "integer" not in out:
        out.append("integer")
    return tuple(out)


def _first_kind(ts: Iterable[str]) -> str | None:
    for t in ts:
        if t == "object" or t == "array":
            return t
    return None


def _value_type(v: object) -> str | None:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, dict):
        return "object"
    if isinstance(v, (list, tuple)):
        return "array"
    return None


def _enum_key(v: object) -> Any:
    t = type(v)
    if t is str:
        return v
    if t is bool:
        return ("b", v)
    if t is int or t is float:
        return ("n", v)
    if v is None:
        return ("z",)
    if isinstance(v, enum.Enum):
        return _enum_key(v.value)
    try:
        return ("j", json.dumps(v, sort_keys=True, default=repr))
    except (TypeError, ValueError):
        return ("r", repr(v))


def _intersect(facts: list[_Facts]) -> _Facts:
    """Merge schemas that must all hold (``allOf``, ``$ref`` with siblings)."""
    if len(facts) == 1:
        return facts[0]
    out = _Facts()
    for f in facts:
        if f.types is not None:
            out.types = f.types if out.types is None else _and_types(out.types, f.types)
    with_props = [f.properties for f in facts if f.properties]
    if len(with_props) == 1:
        out.properties = with_props[0]  # shared: keeps recursion detection by identity
    elif with_props:
        merged: dict[str, SchemaNode] = {}
        for props in with_props:
            for name, node in props.items():
                merged.setdefault(name, node)
        out.properties = merged
    out.required = frozenset().union(*(f.required for f in facts))
    adds = [f.additional for f in facts if f.additional is not None]
    if False in adds:
        out.additional = False
    else:
        typed = [a for a in adds if isinstance(a, SchemaNode)]
        out.additional = typed[0] if typed else (True if adds else None)
    for f in facts:
        if out.items is None and f.items is not None:
            out.items = f.items
        if not out.prefix_items and f.prefix_items:
            out.prefix_items = f.prefix_items
        if out.enum is None and f.enum is not None:
            out.enum = f.enum
        if f.has_default:
            out.default, out.has_default = f.default, True
        if f.py_type is not None:
            out.py_type = f.py_type
        if not out.alternatives and f.alternatives:
            out.alternatives = f.alternatives
    if out.enum is not None:
        out.enum = tuple(v for v in out.enum if all(_facts_allow(f, v) for f in facts))
    for f in facts:
        if f.kind is not None and (out.types is None or f.kind in out.types):
            out.kind = f.kind
            break
    return out


def _facts_allow(f: _Facts, v: object) -> bool:
    return f.enum is None or _enum_key(v) in {_enum_key(e) for e in f.enum}


def _union(alts: list[SchemaNode]) -> _Facts:
    """Merge ``anyOf``/``oneOf`` branches: types are united, the first object (array)
    branch gives the object (array) shape and the first container branch the kind."""
    out = _Facts()
    out.alternatives = tuple(alts)
    if any(a.types is None for a in alts):
        out.types = None
    else:
        out.types = _sorted_types(t for a in alts for t in a.types)  # type: ignore[union-attr]
    for a in alts:
        if out.kind is None and a.kind is not None:
            out.kind = a.kind
    obj = next((a for a in alts if a.properties or a.kind == "object"), None)
    if obj is not None:
        out.properties = obj.properties
        out.required = obj.required
        out.additional = obj.additional
    arr = next((a for a in alts if a.items is not None or a.kind == "array"), None)
    if arr is not None:
        out.items = arr.items
        out.prefix_items = arr.prefix_items
    if all(a.enum is not None for a in alts):
        out.enum = tuple(v for a in alts for v in a.enum)  # type: ignore[union-attr]
    return out


def _finalize(node: SchemaNode) -> None:
    """Resolve ``$ref``/``allOf``/``anyOf`` merges of ``node`` (cycles through them alone
    are degenerate and leave the node unconstrained)."""
    if node._state != _UNBUILT:
        return
    node._state = _BUSY
    own = node._own
    assert own is not None
    for n in node._parts:
        _finalize(n)
    for n in node._alts:
        _finalize(n)
    facts = [_Facts.of(n) for n in node._parts]
    if node._alts:
        facts.append(_union(node._alts))
    facts.append(own)
    f = _intersect(facts)
    node.types = None if f.types is None else frozenset(f.types)
    kind = f.kind
    if kind is None and (f.types is None or "object" in f.types) and f.properties:
        kind = "object"
    node.kind = kind
    node.nullable = f.types is None or "null" in f.types
    node.properties = f.properties
    node.required = f.required
    node.additional = f.additional
    node.items = f.items
    node.prefix_items = f.prefix_items
    node.enum = f.enum
    node.default = f.default
    node.has_default = f.has_default
    node.py_type = f.py_type
    node.alternatives = f.alternatives
    if node.types is not None:
        node._classes = frozenset(c for t in node.types for c in _CLASSES[t])
    if isinstance(node.additional, SchemaNode):
        node._map = node.additional
    if node.enum is not None:
        node._enum_keys = frozenset(_enum_key(v) for v in node.enum)
    node._own = None
    node._parts = []
    node._alts = []
    node._state = _BUILT


# --------------------------------------------------------------------------------------
# JSON Schema -> nodes
# --------------------------------------------------------------------------------------

_ANNOTATIONS = frozenset(
    {
        "title",
        "description",
        "examples",
        "$comment",
        "deprecated",
        "readOnly",
        "writeOnly",
        "$defs",
        "definitions",
        "$schema",
    }
)


def _pointer(where: str, *parts: str | int) -> str:
    """``where`` (a JSON pointer, as a ``#`` fragment) extended by ``parts``, escaped as
    RFC 6901 says (``~`` as ``~0``, ``/`` as ``~1``)."""
    return where + "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _shown(value: object) -> str:
    """A short picture of a schema value and its JSON type, for error messages."""
    if value is None:
        return "null"
    try:
        text = json.dumps(value, ensure_ascii=False, default=repr)
    except (TypeError, ValueError, RecursionError):
        text = repr(value)
    if len(text) > 60:
        text = text[:59] + "…"
    kind = {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        type(None): "null",
        list: "an array",
        tuple: "an array",
    }.get(type(value))
    if kind is None:
        kind = "an object" if isinstance(value, Mapping) else f"a {type(value).__name__}"
    return f"{text} ({kind})"


def _malformed(where: str, keyword: str, problem: str, value: object) -> ValueError:
    """The error for a keyword whose value is not what JSON Schema allows."""
    return ValueError(
        f"invalid JSON Schema at {_pointer(where, keyword)}: {keyword!r} {problem}, "
        f"not {_shown(value)}"
    )


def _schema_array(schema: Mapping[str, Any], key: str, where: str) -> list[Any] | None:
    """``schema[key]``, which must be a non-empty array of schemas (``allOf``...)."""
    value = schema.get(key)
    if value is None:
        return None
    if not isinstance(value, (list, tuple)) or not value:
        raise _malformed(where, key, "must be a non-empty array of schemas", value)
    return list(value)


class _JsonSchemaCompiler:
    """Turns a JSON Schema document into a graph of :class:`SchemaNode` objects.

    A schema is an object or a boolean (``true``: any value; ``false``: no value is valid,
    so a value there gets a warning).  A keyword whose value JSON Schema does not allow
    raises :class:`ValueError` naming the keyword and its JSON pointer (``invalid JSON
    Schema at #/properties/a/required: 'required' must be an array of property names
    (strings), not 7 (a number)``).  Keywords the compiler does not use are not checked.
    """

    def __init__(self, doc: Mapping[str, Any] | bool) -> None:
        self.doc = doc
        self.refs: dict[str, SchemaNode] = {}
        self.nodes: list[SchemaNode] = []
        # id(schema object) -> (schema, node): one node per schema object, however reached
        self.memo: dict[int, tuple[object, SchemaNode]] = {}
        self.pending: set[str] = set()

    def compile(self) -> SchemaNode:
        root = self.node(self.doc, "#")
        for n in self.nodes:
            _finalize(n)
        _freeze(self.nodes)
        return root

    def _known(self, schema: object) -> SchemaNode | None:
        hit = self.memo.get(id(schema))
        return hit[1] if hit is not None and hit[0] is schema else None

    def node(self, schema: object, where: str, via: str | None = None) -> SchemaNode:
        """The node of ``schema``, found at ``where`` (``via``: the keyword holding it)."""
        if isinstance(schema, Mapping):
            ref = schema.get("$ref")
            if isinstance(ref, str) and all(k == "$ref" or k in _ANNOTATIONS for k in schema):
                return self.ref(ref, where)
            known = self._known(schema)
            if known is not None:
                return known
        elif schema is not True and schema is not False:
            what = (
                "the target of a '$ref'"
                if via == "$ref"
                else (f"a schema in {via!r}" if via else "a schema")
            )
            raise ValueError(
                f"invalid JSON Schema at {where}: {what} must be an object or a boolean "
                f"(true: any value, false: none), not {_shown(schema)}"
            )
        node = _NodeBuilder()
        self.nodes.append(node)
        if isinstance(schema, Mapping):
            self.memo[id(schema)] = (schema, node)
        self.fill(node, schema, where)
        return node

    def ref(self, ref: str, where: str) -> SchemaNode:
        node = self.refs.get(ref)
        if node is None:
            target = self.resolve(ref, where)
            node = self._known(target)
            if node is None:
                if ref in self.pending:  # a cycle of bare $refs: constrains nothing
                    free = _NodeBuilder()
                    self.nodes.append(free)
                    return free
                self.pending.add(ref)
                try:
                    node = self.node(target, ref, "$ref")
                finally:
                    self.pending.discard(ref)
            self.refs[ref] = node
        return node

    def resolve(self, ref: str, where: str) -> object:
        at = _pointer(where, "$ref")
        if not ref.startswith("#"):
            raise ValueError(
                f"invalid JSON Schema at {at}: '$ref' {ref!r} is not local; only references "
                "into the same document ('#/$defs/Name', any '#/...' JSON pointer) are supported"
            )
        target: object = self.doc
        for raw in ref[1:].split("/")[1:] if ref != "#" else ():
            parts = [raw, urllib.parse.unquote(raw)]  # a URI fragment may be %-encoded
            for part in (p.replace("~1", "/").replace("~0", "~") for p in parts):
                if isinstance(target, Mapping) and part in target:
                    target = target[part]
                    break
                if isinstance(target, list) and part.isdigit() and int(part) < len(target):
                    target = target[int(part)]
                    break
            else:
                raise ValueError(
                    f"invalid JSON Schema at {at}: '$ref' {ref!r} does not resolve "
                    f"(no {raw!r} in the document there)"
                )
        return target

    def fill(self, node: SchemaNode, schema: object, where: str) -> None:
        node._state = _UNBUILT
        own = node._own = _Facts()
        if schema is True:
            return
        if schema is False:
            own.types = ()
            return
        assert isinstance(schema, Mapping)  # (node() checked)
        own.py_type = schema.get(_PY_TYPE)
        t = schema.get("type")
        if t is not None:
            names = [t] if isinstance(t, str) else t
            if not isinstance(names, (list, tuple)) or not names:
                raise _malformed(
                    where, "type", "must be a type name or a non-empty array of them", t
                )
            for name in names:
                if not isinstance(name, str) or name not in _TYPE_ORDER:
                    raise ValueError(
                        f"invalid JSON Schema at {_pointer(where, 'type')}: 'type' holds "
                        f"{_shown(name)}, which is not a type; the types are "
                        f"{', '.join(_JSON_TYPES[:-1])} and {_JSON_TYPES[-1]}"
                    )
            nullable = schema.get("nullable")
            if nullable is not None and not isinstance(nullable, bool):
                raise _malformed(where, "nullable", "must be true or false", nullable)
            if nullable is True:
                names = [*names, "null"]
            own.types = tuple(dict.fromkeys(names))
            own.kind = _first_kind(own.types)
        elif "nullable" in schema and not isinstance(schema["nullable"], bool):
            raise _malformed(where, "nullable", "must be true or false", schema["nullable"])
        props = schema.get("properties")
        if props is not None:
            if not isinstance(props, Mapping):
                raise _malformed(
                    where, "properties", "must be an object mapping names to schemas", props
                )
            own.properties = {
                str(k): self.node(v, _pointer(where, "properties", str(k)), "properties")
                for k, v in props.items()
            }
        req = schema.get("required")
        if req is not None:
            if not isinstance(req, (list, tuple)) or not all(isinstance(r, str) for r in req):
                raise _malformed(
                    where, "required", "must be an array of property names (strings)", req
                )
            own.required = frozenset(req)
        add = schema.get("additionalProperties", _MISSING)
        if add is not _MISSING:
            if isinstance(add, bool):
                own.additional = add
            else:
                own.additional = self.node(
                    add, _pointer(where, "additionalProperties"), "additionalProperties"
                )
        items = schema.get("items", _MISSING)
        items_key = "items"
        prefix = schema.get("prefixItems")
        prefix_key = "prefixItems"
        if isinstance(items, (list, tuple)):  # draft 4-2019 tuple form
            prefix, prefix_key = items, "items"
            items, items_key = schema.get("additionalItems", _MISSING), "additionalItems"
        if prefix is not None:
            if not isinstance(prefix, (list, tuple)):
                raise _malformed(where, prefix_key, "must be an array of schemas", prefix)
            own.prefix_items = tuple(
                self.node(s, _pointer(where, prefix_key, i), prefix_key)
                for i, s in enumerate(prefix)
            )
        if items is not _MISSING:  # (false: no items past the prefix are valid)
            own.items = self.node(items, _pointer(where, items_key), items_key)
        if own.kind is None and own.types is None and (own.items or own.prefix_items):
            own.kind = "array"
        if "const" in schema:
            own.enum = (schema["const"],)
        elif "enum" in schema:
            values = schema["enum"]
            if not isinstance(values, (list, tuple)):
                raise _malformed(where, "enum", "must be an array of the allowed values", values)
            own.enum = tuple(values)
        if own.enum is not None and own.types is None:
            inferred = {_value_type(v) for v in own.enum}
            if None not in inferred:
                own.types = _sorted_types(t for t in inferred if t is not None)
        if "default" in schema:
            own.default, own.has_default = schema["default"], True
        parts = node._parts = []
        ref = schema.get("$ref")
        if ref is not None:
            if not isinstance(ref, str):
                raise _malformed(where, "$ref", "must be a string (a '#/...' JSON pointer)", ref)
            parts.append(self.ref(ref, where))
        for i, sub in enumerate(_schema_array(schema, "allOf", where) or ()):
            parts.append(self.node(sub, _pointer(where, "allOf", i), "allOf"))
        any_of = _schema_array(schema, "anyOf", where)
        one_of = _schema_array(schema, "oneOf", where)
        if any_of and one_of:  # both must hold: the oneOf becomes a part of its own
            parts.append(self.node({"oneOf": one_of}, where))  # (its pointers are ours)
            one_of = None
        alts = any_of or one_of
        if alts:
            key = "anyOf" if any_of else "oneOf"
            node._alts = [self.node(s, _pointer(where, key, i), key) for i, s in enumerate(alts)]


# --------------------------------------------------------------------------------------
# Python types -> JSON Schema
# --------------------------------------------------------------------------------------

_SEQUENCES: tuple[Any, ...] = (
    list,
    collections.abc.Sequence,
    collections.abc.MutableSequence,
    collections.abc.Iterable,
    collections.abc.Collection,
    set,
    frozenset,
    collections.abc.Set,
    collections.abc.MutableSet,
)
_MAPPINGS: tuple[Any, ...] = (dict, collections.abc.Mapping, collections.abc.MutableMapping)


def _is_typeddict(tp: object) -> bool:
    return (
        isinstance(tp, type)
        and issubclass(tp, dict)
        and hasattr(tp, "__required_keys__")
        and hasattr(tp, "__annotations__")
    )


def _pydantic_model_class() -> type | None:
    """``pydantic.BaseModel`` if pydantic has been imported, without importing it."""
    mod = sys.modules.get("pydantic")
    return getattr(mod, "BaseModel", None) if mod is not None else None


def _is_pydantic_model(tp: object) -> bool:
    base = _pydantic_model_class()
    return base is not None and isinstance(tp, type) and issubclass(tp, base) and tp is not base


def _hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls, localns={cls.__name__: cls})
    except Exception as exc:  # NameError for unresolvable forward references, ...
        raise TypeError(f"cannot resolve the type hints of {cls.__qualname__}: {exc}") from exc


class _TypeConverter:
    """Turns Python type hints into one JSON Schema document with ``$defs``."""

    def __init__(self) -> None:
        self.defs: dict[str, Any] = {}
        self.names: dict[type, str] = {}

    def document(self, tp: type) -> dict[str, Any]:
        root = self.schema(tp, tp.__qualname__)
        return {**root, "$defs": self.defs}

    def schema(self, tp: Any, where: str) -> dict[str, Any]:
        if tp is Any or tp is object:
            return {}
        if tp is None or tp is type(None):
            return {"type": "null"}
        if tp is bool:
            return {"type": "boolean"}
        if tp is int:
            return {"type": "integer"}
        if tp is float:
            return {"type": "number"}
        if tp is str:
            return {"type": "string"}
        supertype = getattr(tp, "__supertype__", None)  # typing.NewType
        if supertype is not None:
            return self.schema(supertype, where)
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin is typing.Annotated:
            return self.schema(args[0], where)
        if origin is typing.Union or origin is types.UnionType:
            alts = [self.schema(a, where) for a in args]
            if all(len(a) == 1 and isinstance(a.get("type"), str) for a in alts):
                return {"type": list(dict.fromkeys(a["type"] for a in alts))}
            return {"anyOf": alts}
        if origin is typing.Literal:
            values = list(_flatten_literal(args))
            return self._enum_schema([v.value if isinstance(v, enum.Enum) else v for v in values])
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            return {**self._enum_schema([m.value for m in tp]), _PY_TYPE: tp}
        if _is_typeddict(tp) or dataclasses.is_dataclass(tp) or _is_pydantic_model(tp):
            return {"$ref": "#/$defs/" + self._define(tp)}
        if tp is tuple or origin is tuple:
            if not args or (len(args) == 2 and args[1] is Ellipsis):
                item = {"items": self.schema(args[0], where)} if args else {}
                return {"type": "array", **item, _PY_TYPE: tuple}
            if args == ((),):
                return {"type": "array", "maxItems": 0, _PY_TYPE: tuple}
            prefix = [self.schema(a, where) for a in args]
            return {"type": "array", "prefixItems": prefix, "items": False, _PY_TYPE: tuple}
        if tp in _SEQUENCES or origin in _SEQUENCES:
            out: dict[str, Any] = {"type": "array"}
            if args:
                out["items"] = self.schema(args[0], where)
            container = origin or tp
            if container in (set, frozenset):
                out[_PY_TYPE] = container
            return out
        if tp in _MAPPINGS or origin in _MAPPINGS:
            out = {"type": "object"}
            if args:
                if args[0] not in (str, Any):
                    raise TypeError(f"{where}: mapping keys must be str, got {args[0]!r}")
                out["additionalProperties"] = self.schema(args[1], where)
            return out
        raise TypeError(f"{where}: unsupported type {tp!r}")

    def _enum_schema(self, values: list[Any]) -> dict[str, Any]:
        kinds = {_value_type(v) for v in values}
        out: dict[str, Any] = {"enum": values}
        if None not in kinds:
            out["type"] = list(_sorted_types(k for k in kinds if k is not None))
        return out

    def _define(self, cls: type) -> str:
        name = self.names.get(cls)
        if name is not None:
            return name
        base = name = cls.__name__
        n = 1
        while name in self.defs:
            n += 1
            name = f"{base}{n}"
        self.names[cls] = name
        self.defs[name] = {}  # reserved first: recursive types refer to it while building
        if _is_pydantic_model(cls):
            doc = cls.model_json_schema(ref_template=f"#/$defs/{name}__{{model}}")  # type: ignore[attr-defined]
            for sub, sub_schema in doc.pop("$defs", {}).items():
                self.defs[f"{name}__{sub}"] = sub_schema
            self.defs[name] = {**doc, _PY_TYPE: cls}
            return name
        hints = _hints(cls)
        props: dict[str, Any] = {}
        required: list[str] = []
        if dataclasses.is_dataclass(cls):
            for f in dataclasses.fields(cls):
                if not f.init:
                    continue
                sub = self.schema(hints.get(f.name, Any), f"{cls.__qualname__}.{f.name}")
                if f.default is not dataclasses.MISSING:
                    sub = {**sub, "default": f.default}
                elif f.default_factory is dataclasses.MISSING:
                    required.append(f.name)
                props[f.name] = sub
        else:  # TypedDict
            req_keys = cls.__required_keys__  # type: ignore[attr-defined]
            for key, hint in hints.items():
                props[key] = self.schema(hint, f"{cls.__qualname__}.{key}")
                if key in req_keys:
                    required.append(key)
        self.defs[name] = {
            "type": "object",
            "properties": props,
            "required": required,
            _PY_TYPE: cls,
        }
        return name


def _flatten_literal(args: tuple[Any, ...]) -> Iterable[Any]:
    for a in args:
        if typing.get_origin(a) is typing.Literal:
            yield from _flatten_literal(typing.get_args(a))
        else:
            yield a


# --------------------------------------------------------------------------------------
# Skeleton factories
# --------------------------------------------------------------------------------------


SkeletonForm = tuple[dict[str, None], tuple[tuple[str, Any], ...]]


def _object_form(node: SchemaNode, stack: frozenset[int]) -> SkeletonForm:
    """How to make a fresh skeleton of ``node``'s object shape, the same for both backends
    (the C half builds it without calling Python: ``skeleton_of``): a template of every
    declared key (``None``), copied, then each nested part made fresh (``list``, ``dict``,
    or another such form).  ``stack`` holds the ids of the property maps being expanded:
    a recursion becomes ``None`` (nullable) or an empty container."""
    props = node.properties
    stack = stack | {id(props)}
    subs: list[tuple[str, Any]] = []
    for name, sub in props.items():
        if sub.kind == "array":
            subs.append((name, list))
        elif sub.kind == "object":
            if id(sub.properties) in stack:
                if not sub.nullable:
                    subs.append((name, dict))
            else:
                subs.append((name, _object_form(sub, stack) if sub.properties else dict))
    return dict.fromkeys(props), tuple(subs)


def _from_form(form: SkeletonForm) -> dict[str, Any]:
    """The object ``form`` stands for, made as the C half makes it (``skeleton_of``)."""
    template, subs = form
    d = dict(template)
    for name, how in subs:
        d[name] = _from_form(how) if isinstance(how, tuple) else how()
    return d


def _factory(node: SchemaNode) -> Callable[[], dict[str, Any]]:
    f = node._factory
    if f is None:
        # A memo on a read-only node: built on first use (most nodes never need one).
        # Idempotent, so parsers racing here at worst build it twice; either one is kept.
        f = functools.partial(_from_form, _object_form(node, frozenset()))
        object.__setattr__(node, "_factory", f)
    return f


def _may_need_fill(node: SchemaNode) -> bool:
    """Can a value of ``node`` gain properties from :meth:`CompiledSchema.fill`?"""
    return bool(
        node.properties
        or node.items is not None
        or node.prefix_items
        or isinstance(node.additional, SchemaNode)
    )


def _is_placeholder(value: object) -> bool:
    """Only ``None``, ``[]`` and dicts of those: what a skeleton holds before any data."""
    if value is None:
        return True
    if type(value) is list:
        return not value
    if type(value) is dict:
        return all(_is_placeholder(v) for v in value.values())
    return False


# --------------------------------------------------------------------------------------
# Type checks and coercion
# --------------------------------------------------------------------------------------

_INT_RE = re.compile(r"[+-]?[0-9]+\Z")
_NUM_RE = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")


def _coerce(ts: frozenset[str], value: object) -> Any:
    """``value`` converted to one of the types ``ts`` by a safe conversion, or ``_MISSING``."""
    t = type(value)
    if t is str:
        s = value.strip()  # type: ignore[attr-defined]
        if "boolean" in ts:
            low = s.lower()
            if low == "true":
                return True
            if low == "false":
                return False
        if "integer" in ts or "number" in ts:
            try:
                if _INT_RE.match(s):
                    return int(s)
                if _NUM_RE.match(s):
                    f = float(s)
                    if "integer" in ts and f.is_integer():
                        return int(f)
                    if "number" in ts and math.isfinite(f):
                        return f
            except ValueError:  # more digits than int() accepts
                pass
    elif t is float:
        if ("integer" in ts) and value.is_integer():  # type: ignore[attr-defined]
            return int(value)  # type: ignore[arg-type]
        if "string" in ts and math.isfinite(value):  # type: ignore[arg-type]
            return repr(value)
    elif t is int:
        if "string" in ts:
            return str(value)
    return _MISSING


def _describe(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean " + ("true" if value else "false")
    if isinstance(value, int):
        text = str(value) if value.bit_length() < 128 else f"{str(value)[:20]}..."
        return f"integer {text}"
    if isinstance(value, float):
        return f"number {value!r}"
    if isinstance(value, str):
        return f"string {value[:40] + '...' if len(value) > 40 else value!r}"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return type(value).__name__


def _expected(node: SchemaNode) -> str:
    if node.types is None:
        return "any value"
    if not node.types:
        return "no value (schema is false)"
    return " or ".join(_sorted_types(node.types))


def _enum_text(node: SchemaNode) -> str:
    values = ", ".join(json.dumps(v, default=repr) for v in (node.enum or ())[:10])
    more = ", ..." if node.enum and len(node.enum) > 10 else ""
    return f"one of {values}{more}" if node.enum and len(node.enum) > 1 else f"{values}{more}"


# --------------------------------------------------------------------------------------
# The public class
# --------------------------------------------------------------------------------------


_DICT_CACHE_SIZE = 256
_CLASS_ATTR = "__jsonvisor_schema__"
# Guards the caches' insertions (and the LRU's reordering); compilation runs outside it.
_LOCK = threading.Lock()
# JSON Schema dicts compiled lately: json.dumps(schema) (key order kept, since the order of
# "properties" is the skeleton's order) -> the CompiledSchema of a private copy of schema.
_DICT_CACHE: collections.OrderedDict[str, CompiledSchema] = collections.OrderedDict()


class CompiledSchema:
    """A schema compiled once, queried by path by the parser (see the module docstring).

    Attributes: ``root``, the root :class:`SchemaNode`; ``source``, what was compiled: the
    Python type, or for a JSON Schema dict a private deep copy made before compiling, so
    later changes to the caller's dict cannot reach a compiled schema (a dict that is not
    JSON-serialisable is not cached, nor copied: ``source`` is then the caller's object).

    Immutable and safe to share between any number of parsers, also across threads:
    assigning or deleting an attribute raises :class:`AttributeError`, its nodes are
    read-only too, and it keeps no per-parse state (every method works on its arguments
    and locals).  Its one mutable part is private: a memo of path -> node lookups (a pure
    function of the schema; only paths made of declared property names are memoised, so
    documents cannot grow it, and it is bounded).  Concurrent parsers may at worst compute
    an entry twice.

    It pickles (and copies) as its ``source``, compiled again on the other side, which
    hits that process's cache: a parser holding one can go to a worker process and back.
    ``copy.copy``/``copy.deepcopy`` return the object itself.
    """

    __slots__ = (
        "_by_keywords", "_cache", "_mode", "_model", "_quick", "root", "source",
    )  # fmt: skip

    root: SchemaNode
    source: object

    def __init__(self, root: SchemaNode, source: object, mode: str) -> None:
        init = object.__setattr__
        init(self, "root", root)
        init(self, "source", source)
        init(self, "_mode", mode)
        init(self, "_model", source if mode == "pydantic" else None)
        # The lookup memo of node(): path -> node (see the class docstring).
        init(self, "_cache", {(): root})
        # ParserOptions built with this schema, by the parser's keywords (options_for)
        init(self, "_by_keywords", {})
        # What the C half may decide without calling back, per memoised path (the keys of
        # _cache): see _remember().
        init(self, "_quick", ({}, {}, {}, {}))
        self._remember((), root)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(
            f"CompiledSchema is immutable (shared by parsers): cannot set {name!r}"
        )

    def __delattr__(self, name: str) -> None:
        raise AttributeError(
            f"CompiledSchema is immutable (shared by parsers): cannot delete {name!r}"
        )

    def __reduce__(self) -> tuple[Any, tuple[object]]:
        return compile_schema, (self.source,)

    def __copy__(self) -> CompiledSchema:
        return self

    def __deepcopy__(self, memo: object) -> CompiledSchema:
        return self

    def __repr__(self) -> str:
        return f"<CompiledSchema {self._mode} {self.root!r}>"

    @classmethod
    def compile(cls, schema: object) -> CompiledSchema:
        """Compile a JSON Schema dict, a dataclass type, a ``TypedDict`` type or a pydantic
        v2 ``BaseModel`` subclass, or return ``schema`` itself if it is already a
        ``CompiledSchema``.

        Cached: a class compiles once (the result is kept in the class's own namespace,
        as ``__jsonvisor_schema__``, so it lives exactly as long as the class: models made
        in a loop are not leaked); a dict is looked up by its ``json.dumps`` text among the
        last 256 dicts compiled, and a hit must also be equal (``==``) to the stored copy.
        Dicts that are not JSON-serialisable (and classes that refuse the attribute) are
        compiled each time.  A class changed after its first compilation (say, a pydantic
        ``model_rebuild``) keeps that compilation.  Thread-safe: a lock guards the caches,
        but compilation runs outside it, so two threads compiling the same new schema at
        once may both compile it; both then get the first result stored.

        JSON Schema support: ``type`` (string or list), ``nullable``, ``properties``,
        ``required``, ``additionalProperties``, ``items``/``prefixItems``, ``enum``,
        ``const``, ``default``, ``allOf``, ``anyOf``/``oneOf`` and local ``$ref``
        (``#/$defs/...``, ``#/definitions/...``, any JSON pointer; recursion allowed), and
        boolean schemas anywhere a schema may stand, the whole schema included: ``True``
        allows any value, ``False`` none (a value there gets a warning).
        Python types: ``int``/``float``/``str``/``bool``/``None``, ``Optional``/unions,
        ``list[T]``/``tuple``/``set``, ``dict[str, T]``, ``Literal``, ``Enum``,
        ``Annotated``, nested dataclasses, TypedDicts and pydantic models.

        Raises :class:`TypeError` for any other kind of input or an unsupported type hint,
        and :class:`ValueError` for a malformed JSON Schema (a keyword's value of the wrong
        kind, an unknown ``type``, an unresolvable ``$ref``...), naming the keyword and its
        JSON pointer.  Failures are not cached.
        """
        if isinstance(schema, CompiledSchema):
            return schema
        if isinstance(schema, type):
            return cls._compile_class(schema)
        if isinstance(schema, Mapping) or schema is True or schema is False:
            return cls._compile_dict(schema)
        return cls._compile_uncached(schema)  # raises the TypeError

    @classmethod
    def _compile_class(cls, schema: type) -> CompiledSchema:
        hit = schema.__dict__.get(_CLASS_ATTR)
        # (``source is schema``: not a namespace copied from another class)
        if isinstance(hit, CompiledSchema) and hit.source is schema:
            return hit
        compiled = cls._compile_uncached(schema)
        with _LOCK:
            hit = schema.__dict__.get(_CLASS_ATTR)
            if isinstance(hit, CompiledSchema) and hit.source is schema:
                return hit
            try:
                setattr(schema, _CLASS_ATTR, compiled)
            except (AttributeError, TypeError):  # a class that takes no attributes
                pass
        return compiled

    @classmethod
    def _compile_dict(cls, schema: Mapping[str, Any] | bool) -> CompiledSchema:
        try:
            key = json.dumps(schema)
        except (TypeError, ValueError, RecursionError):  # not JSON: not cached
            return cls._compile_uncached(schema)
        with _LOCK:
            hit = _DICT_CACHE.get(key)
            # Equal text can hide a difference the compiler sees (a tuple for a list).
            if hit is not None and hit.source == schema:
                _DICT_CACHE.move_to_end(key)
                return hit
        compiled = cls._compile_uncached(copy.deepcopy(schema))
        with _LOCK:
            hit = _DICT_CACHE.get(key)
            if hit is not None and hit.source == schema:
                _DICT_CACHE.move_to_end(key)
                return hit
            _DICT_CACHE[key] = compiled
            _DICT_CACHE.move_to_end(key)
            while len(_DICT_CACHE) > _DICT_CACHE_SIZE:
                _DICT_CACHE.popitem(last=False)
        return compiled

    @classmethod
    def _compile_uncached(cls, schema: object) -> CompiledSchema:
        """Compile ``schema`` without looking at or filling the caches."""
        if isinstance(schema, Mapping) or schema is True or schema is False:
            return cls(_JsonSchemaCompiler(schema).compile(), schema, "json_schema")
        if isinstance(schema, type):
            if _is_pydantic_model(schema):
                try:
                    doc = schema.model_json_schema()  # type: ignore[attr-defined]
                except Exception as exc:
                    raise TypeError(
                        f"cannot build a JSON Schema for {schema.__qualname__}: {exc}"
                    ) from exc
                doc = {**doc, _PY_TYPE: schema}
                return cls(_JsonSchemaCompiler(doc).compile(), schema, "pydantic")
            if dataclasses.is_dataclass(schema):
                doc = _TypeConverter().document(schema)
                return cls(_JsonSchemaCompiler(doc).compile(), schema, "dataclass")
            if _is_typeddict(schema):
                doc = _TypeConverter().document(schema)
                return cls(_JsonSchemaCompiler(doc).compile(), schema, "typeddict")
        what = schema.__qualname__ if isinstance(schema, type) else type(schema).__name__
        hint = " (pass the class, not an instance)" if dataclasses.is_dataclass(schema) else ""
        raise TypeError(
            "CompiledSchema.compile() accepts a JSON Schema dict (or a boolean schema), a "
            f"dataclass type, a TypedDict type or a pydantic BaseModel subclass, not {what}{hint}"
        )

    # -- lookups -----------------------------------------------------------------------

    def node(self, path: Path) -> SchemaNode | None:
        """The :class:`SchemaNode` declared for ``path`` (e.g. for its ``default``), or
        ``None`` when the schema says nothing about it."""
        cache = self._cache
        node = cache.get(path, _MISSING)
        if node is not _MISSING:
            return node  # type: ignore[no-any-return]
        # Items of a plain array share one node whatever their index: memoised with the
        # indices left out, so the path of every array element is found in one lookup.
        key = tuple([None if type(p) is int else p for p in path])
        node = cache.get(key, _MISSING) if key != path else _MISSING
        if node is not _MISSING:
            return node  # type: ignore[no-any-return]
        node = self.root
        declared = True  # only declared names and plain array items: the path may be memoised
        for part in path:
            if type(part) is str:
                sub = node.properties.get(part)
                if sub is None:
                    declared = False  # a typed map's key or an unknown key: any string
                    sub = node._map
                node = sub
            elif node.prefix_items or type(part) is not int:
                declared = False  # each array element has its own path
                node = node.child(part)
            else:
                node = node.items
            if node is None:
                break
        # Racing parsers may both store an entry (the same one) or overshoot the bound a little.
        if declared and len(cache) < _CACHE_LIMIT:
            cache[key] = node
            self._remember(key, node)
        return node

    def _remember(self, key: Path, node: SchemaNode | None) -> None:
        """Note what the C half may decide alone at the paths memoised as ``key`` (array
        indices as ``None``), in three tables (``_quick``), each entry exactly what the
        method it stands for would answer:

        - types: the classes a completed value may have to pass :meth:`check` (not deep)
          unchanged and without warnings (``None``: any); absent when an enum or const
          needs a look at the value;
        - keys: the keys :meth:`is_known_key` knows there (``None``: every key), each
          mapped to itself: the C half then uses the schema's own str for a key it parses
          (a lookup in the tables and in a pre-filled object is then by identity);
        - containers: for an object starting there, how to make :meth:`container`'s
          pre-filled dict (``None``: an empty dict), as :func:`_object_form` gives it;
        - children: the types table again, by the parent's key and then the last part
          (so a value's entry is found without building its key).
        """
        types, keys, containers, children = self._quick
        if node is None:
            types[key] = keys[key] = containers[key] = None
            if key:
                children.setdefault(key[:-1], {})[key[-1]] = None
            return
        if node._enum_keys is None:
            types[key] = node._classes
            if key:
                children.setdefault(key[:-1], {})[key[-1]] = node._classes
        add = node.additional
        if isinstance(add, SchemaNode) or (not node.properties and add is not False):
            keys[key] = None
        else:
            keys[key] = {name: name for name in node.properties}
        if not node.properties or (node.types is not None and "object" not in node.types):
            containers[key] = None
        else:
            containers[key] = _object_form(node, frozenset())

    @property
    def root_kind(self) -> str | None:
        """``"object"``, ``"array"`` or ``None``: the container shown for the root."""
        return self.root.kind

    # -- shapes ------------------------------------------------------------------------

    def skeleton(self) -> object:
        """The value to show before the first byte (a fresh object each call): for an
        object root a dict with every declared property (nested objects expanded, arrays
        ``[]``, scalars ``None``; a recursive reference becomes ``None`` if nullable, else an
        empty container); for an array root ``[]``; else ``None``."""
        kind = self.root.kind
        if kind == "object":
            return _factory(self.root)()
        if kind == "array":
            return []
        return None

    def container(self, path: Path, kind: str) -> dict[str, Any] | list[Any]:
        """A fresh container for a value of ``kind`` (``"object"`` or ``"array"``) starting
        at ``path``: an object with a known shape is pre-filled like :meth:`skeleton`;
        otherwise ``{}`` / ``[]``."""
        if kind == "object":
            node = self.node(path)
            if node is None or not node.properties:
                return {}
            if node.types is not None and "object" not in node.types:
                return {}
            return _factory(node)()
        if kind == "array":
            return []
        raise ValueError(f"kind must be 'object' or 'array', not {kind!r}")

    def fill(self, path: Path, value: object) -> object:
        """``value`` (a whole value that arrived at ``path``) with every missing declared
        property added as in :meth:`skeleton`, recursively.  Objects come back as new dicts
        with declared properties first in schema order, then other keys in arrival order;
        lists of objects as new lists; anything else unchanged.  The input is not mutated."""
        node = self.node(path)
        if node is None:
            return value
        return self._fill(node, value)

    def _fill(self, node: SchemaNode, value: object) -> object:
        t = type(value)
        if t is dict:
            props = node.properties
            add = node.additional
            if props:
                if node.types is not None and "object" not in node.types:
                    return value
                out = _factory(node)()
                for k, v in value.items():  # type: ignore[attr-defined]
                    sub = props.get(k)
                    if sub is None and isinstance(add, SchemaNode):
                        sub = add
                    out[k] = v if sub is None else self._fill(sub, v)
                return out
            if isinstance(add, SchemaNode):
                return {k: self._fill(add, v) for k, v in value.items()}  # type: ignore[attr-defined]
            return value
        if t is list:
            items = node.items
            if node.prefix_items:
                out_list = []
                for i, v in enumerate(value):  # type: ignore[arg-type]
                    sub = node.child(i)
                    out_list.append(v if sub is None else self._fill(sub, v))
                return out_list
            if items is not None and _may_need_fill(items):
                return [self._fill(items, v) for v in value]  # type: ignore[attr-defined]
        return value

    def declared_paths(self, value: object) -> list[Path]:
        """Every path of ``value`` that the schema declares, in document order: the root
        ``()``, declared properties present (recursively; keys of typed maps count), and
        each existing element of an array with item schemas."""
        out: list[Path] = [()]
        self._paths(self.root, value, (), out)
        return out

    def _paths(self, node: SchemaNode, value: object, path: Path, out: list[Path]) -> None:
        if type(value) is dict or isinstance(value, dict):
            props = node.properties
            for name, sub in props.items():
                if name in value:
                    p = (*path, name)
                    out.append(p)
                    self._paths(sub, value[name], p, out)
            add = node.additional
            if isinstance(add, SchemaNode):
                for k, v in value.items():
                    if k not in props:
                        p = (*path, k)
                        out.append(p)
                        self._paths(add, v, p, out)
        elif type(value) is list or isinstance(value, list):
            if node.items is None and not node.prefix_items:
                return
            for i, v in enumerate(value):
                sub = node.child(i)
                if sub is not None:
                    p = (*path, i)
                    out.append(p)
                    self._paths(sub, v, p, out)

    # -- checks ------------------------------------------------------------------------

    def is_known_key(self, path: Path, key: str) -> bool:
        """Is ``key`` declared for the object at ``path``: a declared property, or any key
        of a typed map (``additionalProperties`` given as a schema)?  A key that is merely
        allowed (``additionalProperties`` true or absent next to declared properties) is
        *not* known; see :meth:`allows_key`.  Where the schema declares nothing to compare
        with (unknown path, free-form object) every key counts as known."""
        node = self.node(path)
        return node is None or node.key_known(key)

    def allows_key(self, path: Path, key: str) -> bool:
        """May ``key`` appear in the object at ``path``?  False only when it is not
        declared and ``additionalProperties`` is false."""
        node = self.node(path)
        return node is None or node.key_allowed(key)

    def check(
        self, path: Path, value: object, coerce: bool, *, deep: bool = False
    ) -> tuple[object, list[SchemaWarning]]:
        """Type-check a completed ``value`` at ``path``; return it (coerced when
        ``coerce``) and the warnings.

        Safe coercions, only towards a declared type the value lacks: ``"42"`` -> 42 and
        ``1.0`` -> 1 (integer), ``"3.5"``/``"1e3"`` -> float (number; ``"42"`` -> 42),
        ``"true"``/``"false"`` -> bool, 42 / 3.5 -> ``"42"`` / ``"3.5"`` (string).  With
        ``coerce=False`` the value is unchanged and a ``"wrong_type"`` warning says what
        it could be coerced to; with ``coerce=True`` the coerced value comes back with a
        ``"coerced"`` warning.  Not coercible: ``"wrong_type"``, value unchanged.  ``int``
        is a number; ``bool`` is not.  ``enum``/``const`` mismatches give ``"validation"``.
        No schema at ``path``: ``(value, [])``.

        A container's children are not checked unless ``deep``: then they are checked and
        coerced recursively (new containers are returned where something was coerced),
        undeclared keys give ``"unknown_key"`` warnings, and ``None`` or an untouched
        skeleton object (only ``None``/``[]`` inside) at a property that is not required
        is taken for a placeholder and not reported.
        """
        node = self.node(path)
        if node is None:
            return value, []
        if not deep and node._enum_keys is None:
            classes = node._classes
            if classes is None or type(value) in classes:
                return value, []
        warnings: list[SchemaWarning] = []
        return self._check(node, path, value, coerce, deep, warnings), warnings

    def _check(
        self,
        node: SchemaNode,
        path: Path,
        value: object,
        coerce: bool,
        deep: bool,
        warnings: list[SchemaWarning],
    ) -> object:
        if not node.matches(value):
            types = node.types
            new = _MISSING if not types else _coerce(types, value)
            if new is _MISSING:
                warnings.append(
                    SchemaWarning(
                        path, "wrong_type", f"expected {_expected(node)}, found {_describe(value)}"
                    )
                )
                return value
            if not coerce:
                warnings.append(
                    SchemaWarning(
                        path,
                        "wrong_type",
                        f"expected {_expected(node)}, found {_describe(value)}"
                        f" (coercible to {_describe(new)})",
                    )
                )
                return value
            warnings.append(
                SchemaWarning(path, "coerced", f"coerced {_describe(value)} to {_describe(new)}")
            )
            value = new
        if node._enum_keys is not None and not node.in_enum(value):
            warnings.append(
                SchemaWarning(
                    path, "validation", f"expected {_enum_text(node)}, found {_describe(value)}"
                )
            )
        if not deep:
            return value
        if type(value) is dict:
            return self._check_object(node, path, value, coerce, warnings)  # type: ignore[arg-type]
        if type(value) is list:
            changed = False
            out = []
            for i, v in enumerate(value):  # type: ignore[arg-type]
                sub = node.child(i)
                nv = v if sub is None else self._check(sub, (*path, i), v, coerce, True, warnings)
                changed = changed or nv is not v
                out.append(nv)
            return out if changed else value
        return value

    def _check_object(
        self,
        node: SchemaNode,
        path: Path,
        value: dict[str, Any],
        coerce: bool,
        warnings: list[SchemaWarning],
    ) -> object:
        props = node.properties
        add = node.additional
        required = node.required
        changed = False
        out: dict[str, Any] = {}
        for k, v in value.items():
            sub = props.get(k)
            nv = v
            if sub is None:
                if isinstance(add, SchemaNode):
                    nv = self._check(add, (*path, k), v, coerce, True, warnings)
                elif not node.key_known(k):
                    why = "not allowed" if add is False else "allowed"
                    warnings.append(
                        SchemaWarning(
                            (*path, k),
                            "unknown_key",
                            f"undeclared key {k!r} (additional properties {why})",
                        )
                    )
            elif k in required or not (v is None or (type(v) is dict and _is_placeholder(v))):
                nv = self._check(sub, (*path, k), v, coerce, True, warnings)
            changed = changed or nv is not v
            out[k] = nv
        return out if changed else value

    # -- validation --------------------------------------------------------------------

    def validate(self, value: object) -> tuple[object, list[SchemaWarning]]:
        """Validate a final (possibly skeleton-filled) value.

        Placeholders are dropped first: ``None`` at a property that does not allow null,
        and ``[]`` or an all-placeholder object (only ``None``/``[]`` inside) at a property
        that is not required, so that defaults apply.  Then, for a pydantic model:
        ``model_validate`` -> ``(instance, [])``, or ``(value, warnings)`` with one
        ``"validation"`` warning per error.  For a dataclass: the instance built
        recursively (nested dataclasses, lists, tuples, Enums; scalar types checked) or
        ``(value, warnings)``.  For a JSON Schema or a TypedDict: ``(value, warnings)``
        with one warning per missing required property (recursively).
        """
        stripped = self._strip(self.root, value)
        warnings: list[SchemaWarning] = []
        if self._mode == "pydantic":
            return self._validate_model(self._model, stripped, (), value, warnings)
        if self._mode == "dataclass":
            built = self._build(self.root, stripped, (), warnings, True)
            return (value, warnings) if warnings else (built, warnings)
        self._build(self.root, stripped, (), warnings, False)
        return value, warnings

    def _validate_model(
        self,
        model: Any,
        stripped: object,
        path: Path,
        original: object,
        warnings: list[SchemaWarning],
    ) -> tuple[object, list[SchemaWarning]]:
        errors_type = getattr(sys.modules.get("pydantic"), "ValidationError", None)
        try:
            return model.model_validate(stripped), warnings
        except Exception as exc:
            if errors_type is None or not isinstance(exc, errors_type):
                raise
            for err in exc.errors():
                loc = (*path, *err.get("loc", ()))
                warnings.append(
                    SchemaWarning(loc, "validation", f"{err.get('msg')} [{err.get('type')}]")
                )
            return original, warnings

    def _strip(self, node: SchemaNode, value: object) -> object:
        if type(value) is dict:
            props = node.properties
            add = node.map_values
            if not props and add is None:
                return value
            out: dict[str, Any] = {}
            for k, v in value.items():  # type: ignore[attr-defined]
                sub = props.get(k)
                if sub is None:
                    out[k] = v if add is None else self._strip(add, v)
                    continue
                if v is None and not sub.nullable:
                    continue
                if (type(v) is dict or type(v) is list) and k not in node.required:
                    if _is_placeholder(v):
                        continue
                out[k] = self._strip(sub, v)
            return out
        if type(value) is list and (node.items is not None or node.prefix_items):
            return [
                v if (sub := node.child(i)) is None else self._strip(sub, v)
                for i, v in enumerate(value)  # type: ignore[arg-type]
            ]
        return value

    def _build(
        self,
        node: SchemaNode,
        value: object,
        path: Path,
        warnings: list[SchemaWarning],
        build: bool,
    ) -> object:
        """Check required properties (and, when ``build``, types) below ``node``; when
        ``build``, also make dataclass/Enum/tuple instances.  Returns the built value."""
        if build:
            if node.alternatives:
                first_failure: list[SchemaWarning] | None = None
                for alt in node.alternatives:
                    if not alt.matches(value):
                        continue
                    attempt: list[SchemaWarning] = []
                    built = self._build(alt, value, path, attempt, True)
                    if not attempt:
                        return built
                    if first_failure is None:
                        first_failure = attempt
                if first_failure is not None:
                    warnings.extend(first_failure)
                    return value
            if not node.matches(value):
                warnings.append(
                    SchemaWarning(
                        path, "validation", f"expected {_expected(node)}, found {_describe(value)}"
                    )
                )
                return value
            if node._enum_keys is not None and not node.in_enum(value):
                warnings.append(
                    SchemaWarning(
                        path, "validation", f"expected {_enum_text(node)}, found {_describe(value)}"
                    )
                )
                return value
        py_type = node.py_type if build else None
        if type(value) is dict:
            if build and _is_pydantic_model(py_type):
                attempt: list[SchemaWarning] = []
                built, _ = self._validate_model(py_type, value, path, value, attempt)
                warnings.extend(attempt)
                return built
            props = node.properties
            add = node.map_values
            if not props and add is None:
                return value
            before = len(warnings)
            out: dict[str, Any] = {}
            for k, v in value.items():  # type: ignore[attr-defined]
                sub = props.get(k) or add
                out[k] = v if sub is None else self._build(sub, v, (*path, k), warnings, build)
            for name in props:
                if name in node.required and name not in value:  # type: ignore[operator]
                    warnings.append(
                        SchemaWarning(
                            (*path, name), "validation", f"missing required property {name!r}"
                        )
                    )
            if len(warnings) == before and dataclasses.is_dataclass(py_type):
                kwargs = {k: v for k, v in out.items() if k in props}
                try:
                    return py_type(**kwargs)  # type: ignore[operator]
                except Exception as exc:
                    warnings.append(
                        SchemaWarning(
                            path, "validation", f"cannot build {py_type.__qualname__}: {exc}"
                        )
                    )
            return out
        if type(value) is list:
            if node.items is None and not node.prefix_items:
                return value
            items = [
                v
                if (sub := node.child(i)) is None
                else self._build(sub, v, (*path, i), warnings, build)
                for i, v in enumerate(value)  # type: ignore[arg-type]
            ]
            if py_type in (tuple, set, frozenset):
                try:
                    return py_type(items)  # type: ignore[misc]
                except TypeError as exc:  # unhashable set members
                    warnings.append(SchemaWarning(path, "validation", str(exc)))
            return items
        if build:
            if isinstance(py_type, type) and issubclass(py_type, enum.Enum):
                try:
                    return py_type(value)
                except ValueError as exc:
                    warnings.append(SchemaWarning(path, "validation", str(exc)))
            elif type(value) is int and node.types is not None and "integer" not in node.types:
                return float(value)  # a float field given an integer
        return value


def compile_schema(schema: object) -> CompiledSchema:
    """Compile ``schema`` once, for any number of parsers.

    ``schema`` is what ``StreamingJsonParser(schema=...)`` takes: a JSON Schema dict, a
    dataclass, a ``TypedDict`` or a pydantic v2 model (or an already compiled schema,
    returned as it is).  The result is an immutable :class:`CompiledSchema`: pass it as
    ``schema=`` and the parser skips compilation.  Results are cached (see
    :meth:`CompiledSchema.compile`), so compiling the same model again is cheap too.

    >>> from jsonvisor.parsers import StreamingJsonParser
    >>> card = compile_schema({"type": "object", "properties": {"title": {"type": "string"}}})
    >>> parsers = [StreamingJsonParser(schema=card) for _ in range(3)]
    >>> parsers[0].snapshot()
    {'title': None}

    Raises :class:`TypeError` or :class:`ValueError` as :meth:`CompiledSchema.compile`.
    """
    return CompiledSchema.compile(schema)
