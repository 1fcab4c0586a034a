"""The C accelerator's envelope reader and the adapters' fast paths, against the reference.

A projection reads only the keys an adapter reads; it must give exactly ``json.loads``'
value restricted to those keys, or ``None`` (the caller then decodes the text in full).  A
template match stands for its projection filled in.  Every adapter must emit the same items
on the pure-Python path, on the projection alone and with its hot-event templates, for
every recording and fixture, split anywhere, and for random provider-shaped events.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import FrozenInstanceError
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import same, split_at
from jsonvisor.llm import FORMATS, Delta, adapter_for, base, sse
from jsonvisor.llm.decode import BACKEND, decode_json
from test_llm_adapters import FIXTURES, RECORDINGS, fmt, raw

C = sse.ACCELERATOR
needs_c = pytest.mark.skipif(C is None, reason="the C accelerator is not built")
ADAPTERS = [cls for name, cls in sorted(FORMATS.items()) if cls.projection is not None]
SPEC = {"a": None, "b": {"c": None, "d": [{"e": None}]}, "f": [None]}


def restrict(value: Any, spec: Any) -> Any:
    """``value`` with only the keys ``spec`` reads (the reference for a projection)."""
    if isinstance(value, dict) and isinstance(spec, dict):
        return {k: restrict(v, spec[k]) for k, v in value.items() if k in spec}
    if isinstance(value, list) and isinstance(spec, list):
        return [restrict(v, spec[0]) for v in value]
    return value


def check_projection(text: bytes | str, spec: dict[str, Any], *, exact: bool = False) -> Any:
    """Project ``text``; if it gives a value it must be the reference's restriction."""
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    got = C.project(data, C.Projection(spec))
    try:
        want = json.loads(data.decode("utf-8", "replace"))
    except ValueError:
        assert got is None, text
        return None
    if got is not None:
        assert isinstance(want, dict)
        assert same(got, restrict(want, spec)), (text, got)
    elif exact:
        raise AssertionError(f"expected a projection of {text!r}")
    return got


# -- projection against json.loads ---------------------------------------------------------


@needs_c
def test_projection_reads_only_the_named_keys() -> None:
    text = '{"a": "x", "z": {"deep": [1, {"q": null}]}, "b": {"c": 2.5, "d": [{"e": true}]}}'
    got = check_projection(text, SPEC, exact=True)
    assert got == {"a": "x", "b": {"c": 2.5, "d": [{"e": True}]}}


@needs_c
@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1, "a": 2}',  # duplicates: the last wins, as in json.loads
        '{"a": -0.0, "f": [1e400, -1e400, 5e-324, 0.1, 123456789012345678, -0]}',
        '{"a": "\\u00e9\\ud83d\\ude00\\n\\"\\\\\\/\\b\\f\\r\\t", "f": ["\\u0000"]}',
        '{"a": "caf\xe9 \U0001f38b", "b": {"d": []}, "f": []}',
        '  {"f" : [ ] , "b" : { } }  ',
        '{"b": {"d": [{"e": 1, "x": {"y": [[]]}}, {}]}}',
        '{"z": "skipped \\ud800 lone surrogate", "a": 1}',
        '{"a": true, "b": null, "f": [false, null]}',
    ],
)
def test_projection_equals_json_loads(text: str) -> None:
    check_projection(text, SPEC, exact=True)


@needs_c
@pytest.mark.parametrize(
    "text",
    [
        '{"a": {"x": 1}}',  # a container where the projection wants a scalar
        '{"b": [1]}',  # an array where it wants an object
        '{"f": {"x": 1}}',  # an object where it wants an array
        '{"\\u0061": 1}',  # an escaped key could be a projected one
        '{"a": "\\ud800"}',  # a lone surrogate escape in a projected string
        '{"a": 12345678901234567890}',  # a big integer
        '{"a": NaN}',
        '{"a": Infinity}',
        '{"a": -Infinity}',
        "[1, 2]",  # not an object
        '"text"',
        "",
        '{"a": 1',
        '{"a": 1} x',
        '{"a": 1,}',
        '{"a": 01}',
        '{"a": 1.}',
        '{"a": .5}',
        '{"a": "\x01"}',  # a raw control character
        '{"z": "\\x"}',  # a bad escape in a skipped string
        '{"z": tru}',
        "\ufeff{}",
        '{"a": 1 "b": 2}',
        "[" * 100 + "]" * 100,
        '{"z": ' + "[" * 100 + "]" * 100 + "}",  # deeper than the reader goes
    ],
)
def test_projection_falls_back_rather_than_guess(text: str) -> None:
    assert check_projection(text, SPEC) is None


@needs_c
def test_invalid_utf8_is_replaced_as_the_reference_does() -> None:
    for text in [b'{"a": "\xff x"}', b'{"a": "\xe2\x82"}', b'{"z": "\xed\xa0\x80", "a": 1}']:
        assert check_projection(text, SPEC, exact=True) is not None
    assert check_projection(b'{"a": 1, \xff: 2}', SPEC) is None  # outside a string: invalid


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(["a", "b", "c", "d", "e", "f", "g"]) | st.text(), inner)
    ),
    max_leaves=20,
)


@needs_c
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["a", "b", "f", "x"]), json_values), st.integers(0, 3))
def test_random_objects_project_exactly(value: dict[str, Any], style: int) -> None:
    text = [
        json.dumps(value),
        json.dumps(value, ensure_ascii=False),
        json.dumps(value, indent=2),
        json.dumps(value, separators=(",", ":"), ensure_ascii=False),
    ][style]
    check_projection(text, SPEC)


@needs_c
@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.sampled_from(["a", "b", "f"]), json_values), st.data())
def test_damaged_text_never_projects_to_a_wrong_value(value: dict[str, Any], data: Any) -> None:
    text = bytearray(json.dumps(value, ensure_ascii=False).encode())
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(text)))
        op = data.draw(st.integers(0, 2))
        byte = data.draw(st.sampled_from(b'{}[],:"\\ 0-.eE\xff\xc3a'))
        if op == 0 and i < len(text):
            del text[i]
        elif op == 1:
            text.insert(i, byte)
        elif i < len(text):
            text[i] = byte
    check_projection(bytes(text), SPEC)


# -- templates ----------------------------------------------------------------------------


def templates(spec: dict[str, Any], *tmpls: dict[str, Any]) -> Any:
    return C.Projection(spec, list(tmpls))


@needs_c
def test_template_match_gives_the_captures_in_template_order() -> None:
    tmpl = {"f": None, "b": {"d": [{"e": ...}], "c": (...,)}, "a": "hot"}
    spec = {"a": None, "b": {"c": None, "d": [{"e": None}]}, "f": [None]}
    proj = templates(spec, tmpl)
    text = b'{"x": [1], "b": {"d": [{"e": "E", "y": 2}], "c": 3}, "a": "hot"}'
    assert C.project(text, proj) == (0, "E", 3)
    assert sse.fill_template(tmpl, ("E", 3)) == {
        "f": None,
        "b": {"d": [{"e": "E"}], "c": 3},
        "a": "hot",
    }
    assert C.project(b'{"b": {"d": [{"e": 1}]}, "a": "hot"}', proj) == (0, 1, None)  # optional
    assert C.project(b'{"b": {"d": [{"e": 1}]}, "a": "hot", "f": null}', proj) == (0, 1, None)


@needs_c
@pytest.mark.parametrize(
    "text",
    [
        b'{"b": {"d": [{"e": 1}]}, "a": "cold"}',  # another constant
        b'{"b": {"d": [{"e": 1}]}, "a": "hot", "f": [1]}',  # null wanted
        b'{"b": {"d": [{"e": 1}, {"e": 2}]}, "a": "hot"}',  # two items
        b'{"b": {"d": []}, "a": "hot"}',
        b'{"b": {"d": [{"e": {"x": 1}}]}, "a": "hot"}',  # a container captured
        b'{"b": {"d": [{"e": 1}]}, "a": "hot", "a": "hot"}',  # a duplicate
        b'{"b": {"d": [{"e": 1}], "g": 1}, "a": "hot", "g": 2}',  # g: read, not templated
        b'{"b": {"d": [{}]}, "a": "hot"}',  # a required capture missing
        b'{"b": {"d": [{"e": 1}]}, "a": "h\\u006ft"}',  # an escaped constant
    ],
)
def test_a_non_matching_event_gets_its_projection(text: bytes) -> None:
    tmpl = {"a": "hot", "b": {"d": [{"e": ...}], "c": (...,)}, "f": None}
    spec = {"a": None, "b": {"c": None, "d": [{"e": None}], "g": None}, "f": [None], "g": None}
    got = C.project(text, templates(spec, tmpl))
    assert not isinstance(got, tuple)
    if got is not None:
        assert same(got, restrict(json.loads(text), spec))


@needs_c
def test_bad_templates_are_refused() -> None:
    with pytest.raises(ValueError):
        templates(SPEC, {"nope": ...})
    with pytest.raises(TypeError):
        templates(SPEC, {"a": {"x": ...}})  # a dict where the projection has a scalar
    with pytest.raises(TypeError):
        templates(SPEC, {"a": 1})
    with pytest.raises(ValueError):
        C.Projection({"a": []})
    with pytest.raises(TypeError):
        C.Projection({1: None})
    cyclic: dict[str, Any] = {}
    cyclic["a"] = cyclic
    with pytest.raises(ValueError):
        C.Projection(cyclic)


@needs_c
@pytest.mark.parametrize("cls", ADAPTERS, ids=lambda c: c.format)
def test_every_recorded_event_projects_to_its_json(cls: type) -> None:
    """Each event of every stream, through each adapter's projection and templates."""
    plain = C.Projection(cls.projection)
    hot = cls._compiled_projection()
    matched = 0
    for name in sorted(RECORDINGS) + sorted(FIXTURES):
        for event in sse.PureSSEDecoder().feed(raw(name)):
            data = event.data.encode()
            got = C.project(data, plain)
            if got is not None:
                assert same(got, restrict(json.loads(event.data), cls.projection))
            fast = C.project(data, hot)
            if isinstance(fast, tuple):
                matched += fmt(name) == cls.format
                filled = sse.fill_template(cls.hot[fast[0]], fast[1:])
                assert got is not None
                assert {k: v for k, v in filled.items() if v is not None} == {
                    k: v for k, v in got.items() if v is not None
                } or _same_modulo_nulls(filled, got)
            else:
                assert same(fast, got)
    assert matched > 0


def _same_modulo_nulls(filled: Any, got: Any) -> bool:
    """A filled template has ``None`` where the projection may have no key."""
    if isinstance(filled, dict):
        keys = {k for k, v in filled.items() if v is not None} | set(got)
        return all(_same_modulo_nulls(filled.get(k), got.get(k)) for k in keys)
    if isinstance(filled, list):
        return len(filled) == len(got) and all(map(_same_modulo_nulls, filled, got))
    return same(filled, got)


# -- adapters: pure == projection == templates ---------------------------------------------


@contextmanager
def mode(name: str) -> Iterator[None]:
    """``"pure"``: the Python decoder; ``"projection"``: C without the hot templates;
    ``"templates"``: the default."""
    saved, cache = sse.ACCELERATOR, dict(base._PROJECTIONS)
    try:
        if name == "pure":
            sse.ACCELERATOR = None
        elif name == "projection":
            base._PROJECTIONS.clear()
            for cls in ADAPTERS:
                base._PROJECTIONS[cls] = C.Projection(cls.projection)
        yield
    finally:
        sse.ACCELERATOR = saved
        base._PROJECTIONS.clear()
        base._PROJECTIONS.update(cache)


def items_of(fmt_name: str, chunks: list[bytes], how: str) -> list[Any]:
    with mode(how):
        adapter = adapter_for(fmt_name, fallback_id="test")
        out: list[Any] = []
        try:
            for chunk in chunks:
                out += adapter.feed(chunk)
            out += adapter.close()
        except Exception as exc:  # the same failure on every path
            out.append((type(exc), str(exc)))
        state = {k: v for k, v in vars(adapter).items() if not k.startswith("_")}
        return [*out, state]


def all_agree(fmt_name: str, chunks: list[bytes]) -> list[Any]:
    want = items_of(fmt_name, chunks, "pure")
    if C is not None:
        assert items_of(fmt_name, chunks, "projection") == want
        assert items_of(fmt_name, chunks, "templates") == want
    return want


@pytest.mark.parametrize("name", sorted(RECORDINGS) + sorted(FIXTURES))
def test_adapters_agree_on_every_path_split_anywhere(name: str) -> None:
    data = raw(name)
    whole = all_agree(fmt(name), [data])
    assert all_agree(fmt(name), [data[i : i + 1] for i in range(len(data))]) == whole
    rng = random.Random(name)
    for _ in range(20):
        cuts = [rng.randrange(len(data) + 1) for _ in range(rng.randrange(1, 12))]
        assert all_agree(fmt(name), split_at(data, cuts)) == whole


# random provider-shaped events: the keys adapters read, with values of every type
KEYS = sorted(
    {
        "type", "index", "id", "choices", "delta", "tool_calls", "function", "arguments",
        "name", "content", "finish_reason", "error", "message", "code", "chunk", "text",
        "partial_json", "content_block", "input", "stop_reason", "output_index",
        "content_index", "item_id", "item", "part", "response", "call_id",
        "incomplete_details", "candidates", "parts", "thought", "functionCall", "args",
        "finishReason", "responseId", "promptFeedback", "blockReason",
    }
)  # fmt: skip
TYPES = [
    "chunk", "error", "message_start", "content_block_start", "content_block_delta",
    "content_block_stop", "message_delta", "message_stop", "text_delta", "input_json_delta",
    "tool_use", "text", "response.created", "response.output_item.added",
    "response.output_text.delta", "response.output_text.done",
    "response.function_call_arguments.delta", "response.function_call_arguments.done",
    "response.output_item.done", "response.completed", "response.incomplete", "response.failed",
    "function_call", "output_text", "response.content_part.added",
]  # fmt: skip
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-2, 3)
    | st.sampled_from(["", "x", '{"', "r1", "m1", "c1", "stop", "tool_calls", *TYPES])
)
shaped = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, min_size=1, max_size=2)
        | st.dictionaries(st.sampled_from(KEYS), inner, max_size=5)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(sorted(f for f, cls in FORMATS.items() if cls.projection is not None)),
    st.lists(
        st.tuples(
            st.sampled_from([None, "error", "message_start", "content_block_delta", "ping"]),
            st.dictionaries(st.sampled_from(KEYS), shaped, max_size=6),
        ),
        max_size=8,
    ),
    st.integers(0, 10_000),
)
def test_random_provider_events_give_the_same_items_on_every_path(
    fmt_name: str, events: list[tuple[str | None, dict[str, Any]]], cut: int
) -> None:
    text = "".join(
        (f"event: {e}\n" if e else "") + f"data: {json.dumps(obj)}\n\n" for e, obj in events
    ).encode()
    all_agree(fmt_name, [text])
    all_agree(fmt_name, split_at(text, [cut % (len(text) + 1)]))


def test_hot_paths_agree_with_the_general_path_on_recorded_streams() -> None:
    """Replaying recorded events in a shuffled order hits the fast paths' fallbacks too."""
    for name in sorted(RECORDINGS):
        events = [e for e in sse.PureSSEDecoder().feed(raw(name))]
        rng = random.Random(name)
        for _ in range(5):
            order = events[:]
            rng.shuffle(order)
            text = "".join(
                (f"event: {e.event}\n" if e.event != "message" else "") + f"data: {e.data}\n\n"
                for e in order
            ).encode()
            all_agree(fmt(name), [text])


# -- the fast Delta maker and the JSON helper -----------------------------------------------


def test_new_delta_is_a_delta() -> None:
    d = base.new_delta("m", "text")
    assert type(d) is Delta
    assert d == Delta("m", "text") and hash(d) == hash(Delta("m", "text"))
    assert (d.msg_id, d.text) == ("m", "text")
    with pytest.raises(FrozenInstanceError):
        d.text = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        base.new_delta("only one")


@needs_c
def test_slot_maker_refuses_classes_it_cannot_fill() -> None:
    class NotSlots:
        a = 1

    class OwnNew:
        __slots__ = ("a",)

        def __new__(cls) -> OwnNew:
            return super().__new__(cls)

    with pytest.raises(TypeError):
        C.SlotMaker(NotSlots, ("a",))
    with pytest.raises(TypeError):
        C.SlotMaker(OwnNew, ("a",))
    with pytest.raises(ValueError):
        C.SlotMaker(Delta, tuple("abcdefghi"))  # more fields than it takes
    with pytest.raises(AttributeError):
        C.SlotMaker(Delta, ("nope",))


@pytest.mark.parametrize(
    "text",
    ['{"a": [1, 2.5, "x", null, true]}', '"\\ud800"', "NaN", "-Infinity", "1e400", "[]"],
)
def test_decode_json_gives_json_loads_values(text: str) -> None:
    assert same(decode_json(text), json.loads(text))


@pytest.mark.parametrize("text", ["{", "[1,]", "", "01", '{"a" 1}'])
def test_decode_json_refuses_what_json_loads_refuses(text: str) -> None:
    if BACKEND == "ujson" and text == "01":
        pytest.skip("ujson reads a leading zero")
    with pytest.raises(ValueError):
        decode_json(text)


def test_decode_json_backend_is_the_fastest_installed() -> None:
    try:
        import orjson  # noqa: F401
    except ImportError:
        assert BACKEND == "ujson"
    else:
        assert BACKEND == "orjson"


BIG = 123456789012345678901234567890


@pytest.mark.parametrize(
    ("fmt_name", "event"),
    [
        (
            "gemini",
            {
                "candidates": [
                    {"content": {"parts": [{"functionCall": {"name": "f", "args": {"n": BIG}}}]}}
                ],
                "responseId": "r",
            },
        ),
        (
            "anthropic",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "tool_use", "id": "t", "name": "f", "input": {"n": BIG}},
            },
        ),
    ],
)
def test_big_integers_in_arguments_sent_as_text_stay_exact(fmt_name: str, event: Any) -> None:
    text = f"data: {json.dumps(event)}\n\n".encode()
    if fmt_name == "anthropic":
        text += b'data: {"type": "content_block_stop", "index": 0}\n\n'
    items = all_agree(fmt_name, [text])
    deltas = [i.text for i in items if isinstance(i, Delta)]
    assert deltas == [json.dumps({"n": BIG})]
