"""What the parser reuses to stay fast, and what it never changes under its caller.

The C backend gives ``feed()`` the list it returned last time when nobody else holds it
any more, and grows the open string that ``snapshot()`` shows in place when nobody else
can see it.  Whatever a caller keeps (an events list, a string taken from a snapshot, a
hashed, interned or UTF-8-encoded string) must never change, and a number's value is
always ``float(token)`` exactly.  Every test runs over both backends (conftest).
"""

from __future__ import annotations

import ctypes
import gc
import json
import math
import struct
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jsonvisor.parsers import StreamingJsonParser, compile_schema

DOC = {
    "title": "café 模型 🚀 " * 12,
    "items": ["ab" * 40, "naïve " * 30, {"note": "x" * 300}],
    "n": 797.67658,
    "ratio": 3.301972185979986e-06,
}
TEXT = json.dumps(DOC, ensure_ascii=False)


def chunked(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


@pytest.mark.parametrize("size", [1, 3, 7])
def test_a_kept_events_list_never_changes(size: int) -> None:
    kept: list[tuple[list, list]] = []
    dropped: list[list] = []
    p, q = StreamingJsonParser(), StreamingJsonParser()
    for c in chunked(TEXT, size):
        events = p.feed(c)
        kept.append((events, list(events)))
        dropped.append(list(q.feed(c)))  # (q's list is let go at once)
    assert [list(events) for events, _ in kept] == [copy for _, copy in kept] == dropped
    assert p.finish().value == q.finish().value == DOC


def test_a_list_let_go_comes_back_with_only_the_new_events(parser_backend: str) -> None:
    p = StreamingJsonParser()
    first = p.feed('{"a": [1, 2, 3], "b": "x')
    first_id, first_len = id(first), len(first)
    assert first_len > 3
    del first
    second = p.feed("y")
    assert [type(e).__name__ for e in second] == ["StringGrew"]
    assert second[0].text == "y"
    if parser_backend == "c":  # (the list was used again, emptied first)
        assert id(second) == first_id
    third = p.feed('z", "c": 1}')
    assert second == [second[0]]  # (held by us: not reused, not emptied)
    assert [type(e).__name__ for e in third] == [
        "ValueCompleted",  # b
        "ValueCompleted",  # c
        "ValueCompleted",  # the document
        "DocumentCompleted",
    ]


def grow(p: StreamingJsonParser, pieces: list[str]) -> object:
    for piece in pieces:
        p.feed(piece)
        p.snapshot()
    return p.snapshot()


@pytest.mark.parametrize(
    "opening, reach",
    [
        ('{"a": {"s": "', lambda v: v["a"]["s"]),
        ('["', lambda v: v[0]),
        ('"', lambda v: v),
    ],
    ids=["dict", "list", "top-level"],
)
def test_a_shown_string_a_caller_keeps_never_changes(opening, reach) -> None:
    p = StreamingJsonParser()
    p.feed(opening)
    kept = []
    for piece in ["ab", "cd", "é", "模型", "x" * 200, "🚀", "yz"] * 3:
        p.feed(piece)
        s = reach(p.snapshot())
        kept.append((s, "".join(list(s))))  # the string, and a copy of its text
    for s, text in kept:
        assert s == text and hash(s) == hash(text)
    assert reach(p.snapshot()) == kept[-1][1]


def test_a_string_taken_out_of_the_value_never_changes() -> None:
    p = StreamingJsonParser()
    p.feed('{"s": "abc')
    grow(p, ["def", "ghi"])
    root = p.snapshot()
    taken = root.pop("s")
    text = "".join(list(taken))
    grow(p, ["jkl", "mno", "p" * 100])
    assert taken == text == "abcdefghi"
    p.feed('"}')
    assert p.finish().value == {"s": "abcdefghijklmno" + "p" * 100}


def test_a_hashed_string_keeps_a_right_hash() -> None:
    p = StreamingJsonParser()
    p.feed('{"s": "abc')
    grow(p, ["d", "e"])
    assert p.snapshot()["s"] in {"abcde"}  # (hashes the string in the value)
    grow(p, ["f", "g"])
    s = p.snapshot()["s"]
    assert s == "abcdefg" and hash(s) == hash("".join(["abc", "defg"]))


def test_an_interned_string_is_never_written_into() -> None:
    unraisable: list[object] = []
    hook, sys.unraisablehook = sys.unraisablehook, unraisable.append
    try:
        p = StreamingJsonParser()
        p.feed('{"s": "interned-')
        grow(p, ["k", "ey"])
        interned = sys.intern(p.snapshot()["s"])
        assert sys.intern("".join(["interned-", "key"])) is interned
        del interned
        grow(p, ["more", "text"])
        assert p.snapshot()["s"] == "interned-keymoretext"
        assert sys.intern("".join(["interned-", "key"])) == "interned-key"
        del p  # (CPython takes an interned string out of its table as it frees it)
        gc.collect()
    finally:
        sys.unraisablehook = hook
    assert unraisable == []


@pytest.mark.skipif(not hasattr(ctypes, "pythonapi"), reason="needs the C API through ctypes")
def test_a_string_with_a_utf8_copy_keeps_it_right() -> None:
    as_utf8 = ctypes.pythonapi.PyUnicode_AsUTF8
    as_utf8.restype = ctypes.c_char_p
    as_utf8.argtypes = [ctypes.py_object]
    p = StreamingJsonParser()
    p.feed('{"s": "café')
    grow(p, ["模", "型"])
    assert as_utf8(p.snapshot()["s"]) == "café模型".encode()  # (CPython keeps this copy)
    grow(p, ["ab", "cd"])  # (characters of the same kind: the string could grow in place)
    s = p.snapshot()["s"]
    assert s == "café模型abcd"
    assert as_utf8(s) == "café模型abcd".encode()  # (s.encode() would read the same copy)


def test_values_and_snapshots_are_right_after_growing() -> None:
    for size in (1, 2, 5, 64):
        p = StreamingJsonParser()
        shown = []
        for c in chunked(TEXT, size):
            p.feed(c)
            shown.append(json.dumps(p.snapshot(), ensure_ascii=False))
        gc.collect()
        value = p.finish().value
        assert value == DOC
        assert json.loads(shown[-1]) == DOC


KEYS_DOC = [
    # same length, first and last characters: one slot of the kept keys, told apart
    {"title": 1, "tilde": 2, "t\u00e9tle": 3, "tXtle": 4, "": 5, "k" * 40: 6, "a\nb": 7},
    {"title": 8, "tilde": 9, "t\u00e9tle": 10, "tXtle": 11, "": 12, "k" * 40: 13, "a\nb": 14},
]


@pytest.mark.parametrize("size", [1, 2, 3, 5, 64, 10_000])
def test_repeated_keys_are_right_and_shared(size: int, parser_backend: str) -> None:
    text = json.dumps(KEYS_DOC)
    p = StreamingJsonParser()
    for c in chunked(text, size):
        p.feed(c)
        p.snapshot()
    value = p.finish().value
    assert value == KEYS_DOC
    assert [list(d) for d in value] == [list(d) for d in KEYS_DOC]
    if parser_backend == "c" and size < 64:  # (the token path keeps keys; bulk loads differ)
        items = [{"id": i, "name": "x", "tags": [], "a\nb": 1} for i in range(3)]
        q = StreamingJsonParser()
        for c in chunked(json.dumps(items), size):
            q.feed(c)
        first, *others = (list(d) for d in q.finish().value)
        assert all(a is b for other in others for a, b in zip(first, other, strict=True))


@pytest.mark.parametrize("size", [1, 3, 7])
def test_keys_a_schema_declares_are_the_schema_s_own_strings(
    size: int, parser_backend: str
) -> None:
    compiled = compile_schema(
        {
            "type": "object",
            "properties": {
                "title": {"type": "string"},
                "items": {
                    "type": "array",
                    "items": {"type": "object", "properties": {"note": {"type": "string"}}},
                },
            },
        }
    )
    own = {k: k for k in compiled.root.properties}
    own.update({k: k for k in compiled.root.properties["items"].items.properties})
    doc = {"title": "a", "items": [{"note": "b"}, {"note": "c", "extra": 1}], "more": 2}
    p = StreamingJsonParser(schema=compiled)
    events = []
    for c in chunked(json.dumps(doc), size):
        events += p.feed(c)
        p.snapshot()
    result = p.finish()
    assert result.value == doc and list(result.value) == ["title", "items", "more"]
    unknown = [w.path for w in result.warnings if w.kind == "unknown_key"]
    assert unknown == [("items", 1, "extra"), ("more",)]
    paths = [e.path for e in events if hasattr(e, "path") and e.path]
    keys = [path[-1] for path in paths if isinstance(path[-1], str)]
    assert set(keys) == {"title", "items", "note", "extra", "more"}
    if parser_backend == "c":  # (a declared key is the schema's str: found by identity)
        assert all(k is own[k] for k in keys if k in own)


# -- numbers: float(token), exactly ----------------------------------------------------


def _decimal(draw_digits: str, point: int, exponent: int | None, negative: bool) -> str:
    digits = draw_digits.lstrip("0") or "0"
    point = min(point, len(digits))
    text = digits[:point] + "." + digits[point:] if 0 < point < len(digits) else digits + ".0"
    if exponent is not None:
        text += f"e{exponent}"
    return ("-" if negative else "") + text


DECIMALS = st.builds(
    _decimal,
    st.text("0123456789", min_size=1, max_size=21),
    st.integers(0, 21),
    st.none() | st.integers(-40, 40),
    st.booleans(),
)
DOUBLES = st.floats(allow_nan=False, allow_infinity=False).map(repr)
HALFWAY = st.integers(2**53 - 20, 2**53 + 20).map(lambda m: f"{m}.0") | st.integers(
    2**54 - 20, 2**54 + 20
).map(lambda m: f"{m}0e-1")


@settings(max_examples=600, deadline=None)
@given(st.lists(DECIMALS | DOUBLES | HALFWAY, min_size=1, max_size=8))
def test_a_number_is_float_of_its_token_whatever_the_chunking(tokens: list[str]) -> None:
    text = "[" + ", ".join(tokens) + "]"
    want = [float(t) for t in tokens]
    for size in (1, 4, len(text)):
        p = StreamingJsonParser(bulk_threshold=10**9)  # (the token path, not the bulk load)
        for c in chunked(text, size):
            p.feed(c)
        got = p.finish().value
        assert [struct.pack("d", x) for x in got] == [struct.pack("d", x) for x in want]


@pytest.mark.parametrize(
    "token",
    [
        "9007199254740993.0",  # half way between two doubles: strtod decides
        "9007199254740993e0",
        "0.1",
        "-0.0",
        "1e23",
        "1e22",
        "123456789012345678.9e-27",
        "3.301972185979986e-06",
        "0.30000000000000004",
        "2.2250738585072014e-308",
        "1.7976931348623157e308",
    ],
)
def test_numbers_at_the_edges_of_the_fast_paths(token: str) -> None:
    p = StreamingJsonParser()
    p.feed("[")
    p.feed(token)
    p.feed("]")
    (value,) = p.finish().value
    want = float(token)
    assert value == want and math.copysign(1, value) == math.copysign(1, want)


def test_the_backend_under_test_is_the_one_named(parser_backend: str) -> None:
    """(conftest runs this module over both backends: the swap must take effect)"""
    from jsonvisor.parsers import streaming

    is_python = issubclass(StreamingJsonParser, streaming.PurePythonParser)
    assert is_python == (parser_backend == "python")
