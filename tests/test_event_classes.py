"""The event classes: the C accelerator's and the pure-Python reference, side by side.

Both sets must behave the same in every way a user can see: construction, fields,
immutability, equality, hashing, repr, indexing and unpacking, pattern matching.  The C
classes also leave an event's path pending until it is read; that must be invisible.
"""

from __future__ import annotations

import copy
import gc
import math
import pickle
from types import SimpleNamespace

import pytest

from jsonvisor.cluster._eventbatch import _make_events
from jsonvisor.parsers import PurePythonParser, StreamingJsonParser, events
from jsonvisor.parsers._native import native

NAMES = ("ValueStarted", "StringGrew", "ValueCompleted", "DocumentCompleted")
FIELDS = {
    "ValueStarted": ("path", "kind"),
    "StringGrew": ("path", "text"),
    "ValueCompleted": ("path", "value"),
    "DocumentCompleted": ("index", "value"),
}
IMPLS = {"python": dict(zip(NAMES, events.PURE_CLASSES, strict=True))}
if native is not None:
    IMPLS["c"] = {name: getattr(native, name) for name in NAMES}


@pytest.fixture(params=sorted(IMPLS))
def classes(request: pytest.FixtureRequest) -> dict[str, type]:
    return IMPLS[request.param]


def test_the_module_exports_the_accelerators_classes_when_it_is_loaded() -> None:
    expected = IMPLS["c"] if native is not None else IMPLS["python"]
    for name in NAMES:
        assert getattr(events, name) is expected[name]
        assert getattr(events, name).__module__ == "jsonvisor.parsers.events"
        assert getattr(events, name).__name__ == name


@pytest.mark.parametrize("name", NAMES)
def test_fields_by_name_position_and_keyword(classes: dict[str, type], name: str) -> None:
    cls = classes[name]
    a, b = FIELDS[name]
    ev = cls((1, "k"), "x")
    assert (getattr(ev, a), getattr(ev, b)) == ((1, "k"), "x")
    assert cls(**{a: (1, "k"), b: "x"}) == ev
    assert cls((1, "k"), **{b: "x"}) == ev
    assert cls._fields == cls.__match_args__ == (a, b)
    assert (ev[0], ev[1], ev[-1], ev[-2]) == ((1, "k"), "x", "x", (1, "k"))
    assert len(ev) == 2
    first, second = ev
    assert (first, second) == ((1, "k"), "x")
    assert tuple(ev) == ((1, "k"), "x") and list(ev) == [(1, "k"), "x"]
    with pytest.raises(IndexError):
        ev[2]
    with pytest.raises(IndexError):
        ev[-3]
    assert not isinstance(ev, tuple)


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((), {}), (((),), {}), (((), 1, 2), {}), (((),), {"nope": 1}), (((), 1), {"path": ()})],
)
def test_wrong_arguments_are_a_type_error(
    classes: dict[str, type], args: tuple, kwargs: dict
) -> None:
    with pytest.raises(TypeError):
        classes["ValueCompleted"](*args, **kwargs)


def test_events_are_immutable_and_final(classes: dict[str, type]) -> None:
    ev = classes["ValueCompleted"]((), 1)
    with pytest.raises(AttributeError):
        ev.value = 2  # type: ignore[misc]
    with pytest.raises(AttributeError):
        ev.other = 2  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        del ev.value  # type: ignore[misc]
    assert ev.value == 1
    with pytest.raises(TypeError):
        type("Sub", (classes["ValueCompleted"],), {})


def test_equality_is_by_class_and_fields(classes: dict[str, type]) -> None:
    started, grew, done = classes["ValueStarted"], classes["StringGrew"], classes["ValueCompleted"]
    assert done((0,), 1) == done((0,), 1) and not done((0,), 1) != done((0,), 1)
    assert done((0,), 1) != done((0,), 2) and done((0,), 1) != done((1,), 1)
    assert started((0,), "string") != grew((0,), "string")  # (equal as tuples once)
    assert done((0,), 1) != ((0,), 1) and ((0,), 1) != done((0,), 1)
    nan = math.nan
    assert done((), nan) == done((), nan)  # the same object, as in tuples and lists


def test_hash_and_repr_are_the_same_in_both_implementations() -> None:
    for name in NAMES:
        made = [impl[name]((0, "a"), "v") for impl in IMPLS.values()]
        assert len({hash(ev) for ev in made}) == 1
        assert len({repr(ev) for ev in made}) == 1
        a, b = FIELDS[name]
        assert repr(made[0]) == f"{name}({a}=(0, 'a'), {b}='v')"
    for impl in IMPLS.values():
        assert hash(impl["ValueCompleted"]((), 1)) != hash(impl["ValueStarted"]((), 1))
        with pytest.raises(TypeError):
            hash(impl["ValueCompleted"]((), {"unhashable": []}))


def test_pattern_matching(classes: dict[str, type]) -> None:
    c = SimpleNamespace(**classes)
    match c.ValueCompleted(("a",), [1]):
        case c.ValueStarted():
            got = None
        case c.ValueCompleted(path, value=[v]):
            got = (path, v)
    assert got == (("a",), 1)


@pytest.mark.parametrize("name", NAMES)
def test_the_modules_classes_pickle_and_copy(name: str) -> None:
    cls = getattr(events, name)
    ev = cls((0, "k"), ["v"])
    for again in (pickle.loads(pickle.dumps(ev)), copy.copy(ev), copy.deepcopy(ev)):
        assert again == ev and type(again) is cls
    assert copy.deepcopy(ev).__getattribute__(FIELDS[name][1]) is not ev[1]


def test_events_from_columns_are_the_same_in_both_implementations() -> None:
    fields = [((0,), "array"), [(0,), "ab"], ((1,), {"x": 1}), (0, [1])]
    made = _make_events(bytes([0, 1, 2, 3]), fields)  # type: ignore[arg-type]
    assert [type(ev).__name__ for ev in made] == list(NAMES)
    if native is not None:
        assert native.make_events(bytes([0, 1, 2, 3]), fields) == made
        with pytest.raises(ValueError):
            native.make_events(bytes([4]), [((), 1)])
        with pytest.raises(ValueError):
            native.make_events(bytes([2]), [((), 1, 2)])
        with pytest.raises(ValueError):
            native.make_events(bytes([2, 2]), [((), 1)])


# -- pending paths (the C classes) -----------------------------------------------------------


def _events(parser_class: type, chunks: list[str], **options: object) -> list:
    p = parser_class(**options)
    out = [ev for c in chunks for ev in p.feed(c)]
    return out + list(p.finish().events)


@pytest.mark.parametrize(
    "text",
    [
        '[1, 2.5, "ab", null, {"k": [true]}, [3]]',
        '{"a": 1, "b": "two", "c": {"d": [4, 5]}, "e": [], "f": {}}',
        '{"outer": {"inner": [1, "x", {"deep": "y"}]}}',
    ],
)
@pytest.mark.parametrize("size", [1, 3, 1000])
def test_pending_paths_read_as_the_pure_parser_builds_them(text: str, size: int) -> None:
    chunks = [text[i : i + size] for i in range(0, len(text), size)]
    fast = _events(StreamingJsonParser, chunks)
    slow = _events(PurePythonParser, chunks)
    assert fast == slow
    assert [ev[0] for ev in fast] == [ev[0] for ev in slow]
    for ev in fast:
        first = ev[0]
        assert ev[0] is first  # built once
        assert type(first) is (int if type(ev).__name__ == "DocumentCompleted" else tuple)


def test_an_events_path_does_not_change_with_the_parser_after_it() -> None:
    p = StreamingJsonParser()
    early = p.feed('{"a": [1, 2')
    p.feed(', 3], "b": {"c": 4}}')
    assert [ev.path for ev in early] == [(), ("a",), ("a", 0)]
    assert pickle.loads(pickle.dumps(early)) == early


@pytest.mark.skipif(native is None, reason="the C classes' GC tracking")
def test_events_of_atomic_fields_stay_out_of_the_cyclic_gc() -> None:
    done = native.ValueCompleted  # type: ignore[union-attr]
    assert not gc.is_tracked(done((), 1))
    assert gc.is_tracked(done((), [1]))
    p = StreamingJsonParser()
    evs = p.feed("[1, 2, [3], 4]")
    assert [gc.is_tracked(ev) for ev in evs if ev[0] in ((0,), (2,))] == [False, False, True]
    # a cycle through an event is found
    box: list = []
    ev = done((), box)
    box.append(ev)
    del box, ev
    assert gc.collect() >= 2
