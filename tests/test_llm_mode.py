"""LLM mode: extraction from prose and fences, tolerant syntax toggles, key styles, and
repairs on finish -- all independent of where the chunks split."""

from __future__ import annotations

import copy
import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import Replay, is_extension, same, split_at
from jsonvisor.parsers import JsonStreamError, StreamingJsonParser
from jsonvisor.parsers.options import Tolerances, key_transformer

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**12), max_value=10**12)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10)
)
values = st.recursive(
    scalars,
    lambda kids: (
        st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=5), kids, max_size=4)
    ),
    max_leaves=20,
)
containers = st.one_of(
    st.lists(values, max_size=4), st.dictionaries(st.text(max_size=5), values, max_size=4)
)
prose = st.text(
    alphabet=st.characters(blacklist_characters="{[`", blacklist_categories=("Cs",)), max_size=40
)
decoys = st.sampled_from(["", "Use {braces} like this: ", "a {set} and {x y} ", "{not json} "])


def run(text, cuts, **kw):
    p = StreamingJsonParser(**kw)
    replay = Replay()
    prev = None
    for chunk in split_at(text, cuts):
        replay.apply(p.feed(chunk))
        snap = copy.deepcopy(p.snapshot())
        assert is_extension(prev, snap), (prev, snap)
        assert same(replay.root, snap) or snap is None
        prev = snap
    result = p.finish()
    replay.apply(list(result.events))
    return result, replay


@SETTINGS
@given(
    containers,
    prose,
    decoys,
    prose,
    st.sampled_from(["json", "", "JSON"]),
    st.lists(st.integers(min_value=0, max_value=300), max_size=25),
    st.booleans(),
)
def test_wrapped_in_prose_and_fences_equals_clean_json(
    value, before, decoy, after, info, cuts, indent
):
    doc = json.dumps(value, indent=2 if indent else None)
    for text in (
        f"{before}{decoy}```{info}\n{doc}\n```{after}",
        f"{before}{decoy}{doc}\n{after}",
    ):
        result, replay = run(text, cuts, lenient=True)
        assert same(result.value, value), text
        assert result.complete and result.confidence == "high"
        assert same(replay.root, value)
        try:
            json.loads(text)
            continue  # no prose around it: plain JSON
        except ValueError:
            pass
        with pytest.raises(JsonStreamError):
            strict = StreamingJsonParser()
            for chunk in split_at(text, cuts):
                strict.feed(chunk)
            strict.finish(allow_partial=False)


@SETTINGS
@given(values, st.lists(st.integers(min_value=0, max_value=300), max_size=25))
def test_lenient_mode_on_clean_json_equals_strict(value, cuts):
    doc = json.dumps(value)
    result, _ = run(doc, cuts, lenient=True, extract=False)
    assert same(result.value, json.loads(doc))


def _pythonish(v):
    """Render like a model imitating Python/JS: single quotes, True/None, trailing commas."""
    if v is None:
        return "None"
    if v is True:
        return "True"
    if v is False:
        return "False"
    if isinstance(v, str):
        return "'" + json.dumps(v)[1:-1].replace("'", "\\'").replace('\\"', '"') + "'"
    if isinstance(v, (int, float)):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + "".join(_pythonish(x) + ", " for x in v) + "]"
    return "{" + "".join(f"{_pythonish(k)}: {_pythonish(x)}, " for k, x in v.items()) + "}"


@SETTINGS
@given(containers, st.lists(st.integers(min_value=0, max_value=300), max_size=25))
def test_python_style_output_split_anywhere(value, cuts):
    text = "/* model output */ " + _pythonish(value) + " // done"
    result, _ = run(text, cuts, lenient=True)
    assert same(result.value, value), text


@SETTINGS
@given(containers, st.integers(min_value=1, max_value=400), st.integers(min_value=1, max_value=9))
def test_truncated_output_repairs_agree_with_shown_values(value, cut, step):
    text = "Here you go:\n```json\n" + json.dumps(value, indent=1) + "\n```"
    text = text[: min(cut, len(text))]
    p = StreamingJsonParser(lenient=True)
    for chunk in split_at(text, list(range(0, len(text), step))):
        p.feed(chunk)
    shown = copy.deepcopy(p.snapshot())
    final = p.finish().value
    assert is_extension(shown, final), (text, shown, final)


# ---------------------------------------------------------------------------- toggles

TOGGLES = {
    "comments": ('{"a": 1 /* c */, // x\n "b": 2}', {"a": 1, "b": 2}),
    "trailing_commas": ('{"a": [1, 2,], "b": 3,}', {"a": [1, 2], "b": 3}),
    "single_quotes": ("{'a': 'it\\'s \"ok\"'}", {"a": 'it\'s "ok"'}),
    "unquoted_keys": ("{a: 1, _b$2: {c: 3}}", {"a": 1, "_b$2": {"c": 3}}),
    "nan_infinity": ("[NaN, Infinity, -Infinity, -1]", [math.nan, math.inf, -math.inf, -1]),
    "python_literals": ("[True, False, None, true]", [True, False, None, True]),
    "hex_numbers": ("[0x1F, -0x10, 0XaB, 10]", [31, -16, 171, 10]),
    "extract": ("Sure:\n```json\n[1, 2]\n```\nBye", [1, 2]),
    "control_characters": (
        '{"a": "line 1\nline 2\ttab\\n", "b\x01": ["\u00e9\r"]}',
        {"a": "line 1\nline 2\ttab\n", "b\x01": ["é\r"]},
    ),
}


@pytest.mark.parametrize("name", sorted(TOGGLES))
@pytest.mark.parametrize("step", [0, 1, 2, 5])
def test_each_toggle_on_and_off(name, step):
    text, expected = TOGGLES[name]
    cuts = list(range(0, len(text), step)) if step else []

    def parse(**kw):
        p = StreamingJsonParser(**kw)
        for chunk in split_at(text, cuts):
            p.feed(chunk)
        return p.finish(allow_partial=False).value

    assert same(parse(**{name: True}), expected)  # on its own
    assert same(parse(lenient=True), expected)  # as part of LLM mode
    with pytest.raises(JsonStreamError):  # off, even with every other tolerance on
        parse(lenient=True, **{name: False})
    with pytest.raises(JsonStreamError):  # strict
        parse()


def test_tolerances_resolve():
    t = Tolerances.resolve(True, comments=False)
    assert t.extract and not t.comments and t.any
    assert not Tolerances.resolve(False).any
    assert Tolerances.resolve(False, hex_numbers=True).hex_numbers
    with pytest.raises(TypeError):
        Tolerances.resolve(True, nope=True)


# ---------------------------------------------------------------------------- extraction


@pytest.mark.parametrize(
    "text,expected",
    [
        ('Use {braces} like this: ```json\n{"a": 1}\n```', {"a": 1}),
        ('Use {braces} like this: {"a": 1}', {"a": 1}),
        ("I think [maybe] this: [1, 2]", [1, 2]),
        ('```\n{"a": 1}\n```', {"a": 1}),
        ('```json {"a": 1}```', {"a": 1}),
        ('{"a": 1} and then {"b": 2}', {"a": 1}),
        ("The answer is ``` ```json\n[3]\n```", [3]),
        ('Text `code` more ```json\n{"k": "```"}\n```', {"k": "```"}),
    ],
)
def test_extraction_cases(text, expected):
    for step in (0, 1, 2, 3, 7):
        p = StreamingJsonParser(lenient=True)
        for chunk in split_at(text, list(range(0, len(text), step)) if step else []):
            p.feed(chunk)
        assert p.finish().value == expected, (text, step)


def test_prose_candidate_is_not_shown_until_it_proves_itself():
    p = StreamingJsonParser(lenient=True)
    p.feed("Use {brac")
    assert p.snapshot() is None
    assert p.feed("es} here: {") == []
    ev = p.feed('"a')
    assert p.snapshot() == {}
    assert ev and ev[0].kind == "object"


def test_closing_fence_ends_an_open_value():
    p = StreamingJsonParser(lenient=True)
    p.feed('```json\n{"a": [1, 2\n``')
    p.feed('`\nmore text {"b": 1}')
    r = p.finish()
    assert r.value == {"a": [1, 2]}
    assert [x.kind for x in r.repairs] == ["closed_array", "closed_object"]


def test_unterminated_fence_is_stripped_and_listed():
    p = StreamingJsonParser(lenient=True)
    p.feed('```json\n{"a": 1}')
    r = p.finish()
    assert r.value == {"a": 1} and r.complete and r.confidence == "high"
    assert [x.kind for x in r.repairs] == ["stripped_fence"]


def test_multiple_values_with_extraction():
    p = StreamingJsonParser(lenient=True, multiple_values=True)
    p.feed('First: {"a": 1}. Second:\n```json\n[2]\n``` and {x} then {"c": 3}')
    got = []
    while p.has_complete_object():
        got.append(p.get())
    assert got == [{"a": 1}, [2], {"c": 3}]


def test_errors_after_a_value_proved_itself_are_still_errors():
    p = StreamingJsonParser(lenient=True)
    with pytest.raises(JsonStreamError) as info:
        p.feed('Here: {"a": 1, "b": @}')
    assert info.value.offset == 20


# ---------------------------------------------------------------------------- key styles


def test_key_transforms():
    camel = key_transformer("camel")
    snake = key_transformer("snake")
    assert [camel(k) for k in ["user_name", "UserName", "HTTP_server", "a"]] == [
        "userName",
        "userName",
        "httpServer",
        "a",
    ]
    assert [snake(k) for k in ["userName", "HTTPServer", "user-name", "UserID"]] == [
        "user_name",
        "http_server",
        "user_name",
        "user_id",
    ]
    with pytest.raises(ValueError):
        key_transformer("kebab")


@pytest.mark.parametrize("threshold", [2, 256])
def test_key_transform_applies_as_keys_complete(threshold):
    doc = '{"user_name": "a", "home_address": {"zip_code": 1, "street_lines": [{"line_no": 1}]}}'
    for style, fn in (("camel", None), ("snake", None), (str.upper, str.upper)):
        p = StreamingJsonParser(key_transform=style, bulk_threshold=threshold)
        events = []
        for ch in doc:
            events += p.feed(ch)
        value = p.finish().value
        t = fn or key_transformer(style)
        expected = json.loads(doc, object_pairs_hook=lambda kv, t=t: {t(k): v for k, v in kv})
        assert value == expected
        p2 = StreamingJsonParser(key_transform=style, bulk_threshold=threshold)
        p2.feed(doc)
        assert p2.finish().value == expected


# ---------------------------------------------------------------------------- repairs


@pytest.mark.parametrize(
    "text,value,kinds,confidence",
    [
        ('{"a": tr', {"a": True}, ["completed_literal", "closed_object"], "low"),
        ('{"a": nul', {"a": None}, ["completed_literal", "closed_object"], "low"),
        ('{"a": Fals', {"a": False}, ["completed_literal", "closed_object"], "low"),
        ('{"a": N', {}, ["dropped_value", "closed_object"], "low"),  # NaN or None?
        ('{"a": 1, b', {"a": 1}, ["dropped_key", "closed_object"], "low"),
        (
            '{"a": [1, 2,',
            {"a": [1, 2]},
            ["dropped_comma", "closed_array", "closed_object"],
            "medium",
        ),
        ('{"a": 0x', {}, ["dropped_value", "closed_object"], "low"),
        ('{"a": 0x1f', {"a": 31}, ["kept_number", "closed_object"], "low"),
        (
            "```json\n[1, {'a': 'x",
            [1, {"a": "x"}],
            ["closed_string", "closed_object", "closed_array", "stripped_fence"],
            "medium",
        ),
        ("Just prose.", None, ["no_value"], "low"),
    ],
)
def test_llm_repairs(text, value, kinds, confidence):
    for step in (0, 1, 3):
        p = StreamingJsonParser(lenient=True)
        for chunk in split_at(text, list(range(0, len(text), step)) if step else []):
            p.feed(chunk)
        r = p.finish()
        assert (r.value, [x.kind for x in r.repairs], r.confidence) == (value, kinds, confidence)


@pytest.mark.parametrize(
    "text,value,kinds",
    [
        # A quoted key proves a prose candidate is JSON: a bad value is an error, not prose.
        ('{"confidence": .85, "label": "spam"}', None, None),
        # A fence that is not JSON is prose, even with braces inside.
        ('To call it:\n```python\nrequests.post(url, json={"x": 1})\n```\nwith:\n```json\n'
         '{"a": 1}\n```', {"a": 1}, []),
        # A fenced block wins over a value found in prose before it.
        ('Based on the search results [1], here is the summary:\n```json\n{"a": 1}\n```',
         {"a": 1}, []),
        ('See [1] and [2].\n```python\nx = [3]\n```\nDone.', [1], []),
        ('Try {"a": 1}. Better:\n```json\n{"b": [2, 3', {"b": [2, 3]},
         ["kept_number", "closed_array", "closed_object", "stripped_fence"]),
        # Cut on the fence's info line: nothing found, the fence is still listed.
        ("Here:\n```json", None, ["no_value", "stripped_fence"]),
    ],
)
def test_review_cases(text, value, kinds):
    for step in (0, 1, 4):
        p = StreamingJsonParser(lenient=True)
        chunks = split_at(text, list(range(0, len(text), step)) if step else [])
        if kinds is None:
            with pytest.raises(JsonStreamError):
                for chunk in chunks:
                    p.feed(chunk)
            continue
        for chunk in chunks:
            p.feed(chunk)
        r = p.finish()
        assert (r.value, [x.kind for x in r.repairs]) == (value, kinds)


def test_strict_mode_does_not_guess_literals():
    p = StreamingJsonParser()
    p.feed('{"a": tr')
    assert [x.kind for x in p.finish().repairs] == ["dropped_value", "closed_object"]


def test_fenced_block_replaces_a_value_found_in_prose():
    from jsonvisor.parsers import ValueBuilder

    p = StreamingJsonParser(lenient=True)
    b = ValueBuilder()
    b.apply(p.feed("Results [1] and "))
    assert p.snapshot() == [1] and p.has_complete_object()
    b.apply(p.feed('then:\n```json\n{"a": '))
    assert p.snapshot() == {} and not p.has_complete_object()
    assert b.value == {}  # a client following events sees the replacement too
    b.apply(p.feed('1}\n```\nBye {"c": 3}'))
    assert p.finish().value == {"a": 1} and p.get() == {"a": 1}
    assert b.value == {"a": 1}
