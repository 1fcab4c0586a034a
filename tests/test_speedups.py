"""The C accelerator behaves exactly like the pure-Python parser.

``StreamingJsonParser`` runs on the C half (``_speedups``) when it is built;
``PurePythonParser`` is the same parser without it.  Every feed must return the same
events, every snapshot the same value, every error the same message and position, and
``finish()`` the same result.  (``make test`` also runs the parser test files a second
time with ``JSONVISOR_PURE=1``, so both halves pass the whole parser suite.)
"""

from __future__ import annotations

import copy
import gc
import itertools
import json
import os
import pickle
import subprocess
import sys
import sysconfig
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grammar import CARD_SCHEMA
from helpers import same, split_at
from invariants import check
from jsonvisor.parsers import JsonStreamError, StreamingJsonParser
from jsonvisor.parsers.streaming import SPEEDUPS, PurePythonParser
from test_llm_corpus import CASES
from test_parser_properties import dump_options, json_values

# This file compares the two halves; it is not collected when the C half is off.
pytestmark = pytest.mark.skipif(not SPEEDUPS, reason="needs the C accelerator")
SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

OPTIONS = [
    {},
    {"bulk_threshold": 2},
    {"partial_strings": False},
    {"hold_numbers": False},
    {"max_depth": 3},
    {"max_number_length": 4},
    {"max_bytes": 40},
    {"lenient": True},
    {"multiple_values": True},
    {"lenient": True, "multiple_values": True},
    {"extract": True},
    {"comments": True, "trailing_commas": True},
    {"single_quotes": True, "unquoted_keys": True},
    {"hex_numbers": True, "nan_infinity": True, "python_literals": True},
    {"key_transform": "camel"},
]


def test_the_extension_is_built_under_ci() -> None:
    """CI must exercise the C half: a silent build failure would test only Python."""
    if os.environ.get("CI"):
        assert SPEEDUPS
    assert StreamingJsonParser.feed is not PurePythonParser.feed


def test_the_extension_says_how_it_was_built() -> None:
    """``make install`` rebuilds the accelerator with profile-guided optimisation where the
    compiler is gcc (scripts/pgo.py); under CI, where make built it, that must have worked."""
    from jsonvisor.parsers import accelerator

    build = accelerator.speedups.BUILD
    assert build in ("plain", "pgo", "sanitize")  # (scripts/sanitize.sh builds its own)
    cc = (sysconfig.get_config_var("CC") or "").split()
    if os.environ.get("CI") and cc and "gcc" in os.path.basename(cc[0]):
        assert build in ("pgo", "sanitize")


def test_pgo_can_be_turned_off() -> None:
    script = Path(__file__).resolve().parent.parent / "scripts" / "pgo.py"
    out = subprocess.run(
        [sys.executable, str(script)],
        env={**os.environ, "JSONVISOR_PGO": "0"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "pgo: skipped (JSONVISOR_PGO=0): the plain build stays"


def _outcome(parser: Any, chunks: list[Any]) -> list[Any]:
    """Everything observable: events and snapshot per feed, then the error or result."""
    seen: list[Any] = []
    try:
        for chunk in chunks:
            seen.append(("events", parser.feed(chunk)))
            seen.append(("snapshot", copy.deepcopy(parser.snapshot())))
        result = parser.finish()
        seen.append(("result", result.value, result.complete, result.repairs, result.confidence))
    except JsonStreamError as err:
        seen.append(("error", str(err), err.offset, err.line, err.column, err.limit))
    seen.append(("position", parser.position))
    return seen


def _same_outcome(a: list[Any], b: list[Any]) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if x[0] != y[0]:
            return False
        if x[0] == "events":
            if len(x[1]) != len(y[1]):
                return False
            for ex, ey in zip(x[1], y[1], strict=True):
                if type(ex) is not type(ey) or not all(map(same, ex, ey)):
                    return False
        elif not all(map(same, x[1:], y[1:])):
            return False
    return True


def _compare(text: str | bytes, cuts: list[int], options: dict[str, Any]) -> None:
    chunks = split_at(text, cuts)
    fast = _outcome(StreamingJsonParser(**options), chunks)
    slow = _outcome(PurePythonParser(**options), chunks)
    assert _same_outcome(fast, slow), (text, chunks, options, fast, slow)


@SETTINGS
@given(
    json_values,
    dump_options,
    st.lists(st.integers(min_value=0, max_value=400), max_size=40),
    st.sampled_from(OPTIONS),
    st.booleans(),
)
def test_documents_split_anywhere(value, dump, cuts, options, as_bytes):
    text = json.dumps(value, **dump)
    _compare(text.encode() if as_bytes else text, cuts, options)


@SETTINGS
@given(
    json_values,
    st.integers(min_value=0, max_value=400),
    st.lists(st.integers(min_value=0, max_value=400), max_size=20),
)
def test_truncated_documents(value, keep, cuts):
    text = json.dumps(value)
    _compare(text[:keep], cuts, {})


# Near-JSON: strict syntax errors, escapes, lone surrogates; and LLM-mode syntax after prose.
GARBAGE = st.text(
    alphabet='{}[]",:0123456789.eE+-tfrueanl \n\t\\u\x00\x01é😀\ud800\udc00', max_size=80
) | st.text(alphabet="{}[]\"',:0123456789.eExXIN+-tfrueanl \n\\u/*`jsoTF_", max_size=80).map(
    "Here it is: ".__add__
)


@SETTINGS
@given(
    GARBAGE,
    st.lists(st.integers(min_value=0, max_value=100), max_size=12),
    st.sampled_from(OPTIONS),
)
def test_json_like_garbage(text, cuts, options):
    _compare(text, cuts, options)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_llm_corpus_every_mode(case: dict[str, Any]) -> None:
    """Real model outputs (tests/data/llm_corpus) under several chunkings and modes."""
    text = case["output"]
    for options in ({"lenient": True}, {"lenient": True, "key_transform": "snake"}, {}):
        for step in (1, 2, 3, 7, 64, len(text) or 1):
            _compare(text, list(range(0, len(text), step)), options)


@pytest.mark.parametrize(
    "text",
    [
        '{"a": "\\ud83d\\ude00 x\\u00e9\\/\\b\\f\\n\\r\\t\\"\\\\"}',
        '{"a": "\\ud800 lone", "b": "\\udc00", "c": "\\ud83dx"}',
        '{"a": "\\uZZZZ"}',
        '{"a": "\\q"}',
        '{"a": "raw\x01"}',
        '{"a": [01]}',
        '{"a": [1.]}',
        '{"a": [-]}',
        '{"a": [1e5, -0, -0.0, 1E+2, 12345678901234567890123]}',
        '{"a": [tru]}',
        '{"a": truex}',
        '{"a" 1}',
        '{"a": 1,}',
        "[[[[[[1]]]]]]",
        '"top"',
        "123",
        '{"a": 1} x',
        '{"a": 1}{"b": 2}',
    ],
)
def test_edge_cases_every_split(text: str) -> None:
    for options in OPTIONS:
        for cut in range(len(text) + 1):
            _compare(text, [cut], options)
            _compare(text, list(range(0, len(text), 1 + cut % 3)), options)


def test_pickles_mid_stream() -> None:
    """The process offload pickles parsers: the C fields travel with the rest."""
    text = json.dumps({"a": [1, "two", {"b": "x" * 50}], "c": "é😀"})
    for cut in range(1, len(text)):
        p = StreamingJsonParser()
        p.feed(text[:cut])
        q = pickle.loads(pickle.dumps(p))
        assert same(q.snapshot(), p.snapshot())
        q.feed(text[cut:])
        assert same(q.finish().value, json.loads(text))


def test_no_memory_growth_over_many_documents() -> None:
    """Reference leaks in the C half would show as memory growing with every parse."""
    doc = json.dumps(
        {"items": [{"id": i, "t": "tëxt \\n \\ud83d\\ude00 " * 3, "f": i / 7} for i in range(30)]}
    )
    chunks = [doc[i : i + 5] for i in range(0, len(doc), 5)]

    def run(times: int) -> None:
        for _ in range(times):
            p = StreamingJsonParser()
            for c in chunks:
                p.feed(c)
                p.snapshot()
            p.finish()

    run(50)
    tracemalloc.start()
    try:
        run(50)
        gc.collect()  # parsers hold reference cycles: count only what the collector cannot free
        base = tracemalloc.get_traced_memory()[0]
        run(500)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    assert grown < 16 * 1024, grown  # a leaked object per parse would be 500 of them


def test_max_sizes_are_clamped_not_refused() -> None:
    p = StreamingJsonParser(max_bytes=10**30, max_number_length=10**30)
    assert p.max_bytes == sys.maxsize
    assert p.feed("[1]")[-1].value == [1]


def _strictly_valid(text: str) -> bool:
    def reject(name: str) -> Any:
        raise ValueError(name)

    try:
        json.loads(text, parse_constant=reject)
    except ValueError:
        return False
    return True


@SETTINGS
@given(st.text(alphabet='{}[]",:0123456789.eE+-tfrueanlNI \n\t\r\\u\x01\x7fé\u20ac😀', max_size=60))
def test_validate_agrees_with_json_loads_on_garbage(text):
    from jsonvisor.parsers._speedups import validate

    assert bool(validate(text, 1000, 1000)) == _strictly_valid(text), text


@SETTINGS
@given(json_values, dump_options)
def test_validate_accepts_every_dumped_document(value, dump):
    from jsonvisor.parsers._speedups import validate

    text = json.dumps(value, **dump)
    assert validate(text, 1000, 1000)
    assert not validate(text + ",", 1000, 1000)


def test_validate_limits() -> None:
    from jsonvisor.parsers._speedups import validate

    assert validate("[[[1]]]", 3, 10) and not validate("[[[1]]]", 2, 10)
    assert validate('{"a": {"b": []}}', 3, 10) and not validate('{"a": {"b": []}}', 2, 10)
    assert validate("[-1.5e+10]", 1, 8) and not validate("[-1.5e+10]", 1, 7)
    deep = "[" * 300 + "]" * 300  # deeper than the validator's on-stack buffer
    assert validate(deep, 300, 10) and not validate(deep, 299, 10)


def test_validate_flags_integers_a_64_bit_loader_gets_wrong() -> None:
    from jsonvisor.parsers._speedups import validate

    assert validate("[123456789012345678, 1.5]", 10, 100) == 1  # 18 digits: any loader
    assert validate("[1234567890123456789]", 10, 100) == 2
    assert validate('{"a": -18446744073709551616}', 10, 100) == 2
    assert validate("[12345678901234567890.5, 1234567890123456789012e3]", 10, 100) == 1


@pytest.mark.parametrize(
    "text",
    [
        "[18446744073709551616, -9223372036854775809, 123456789012345678901234567890]",
        '["\\ud800", "\\udfff x", "\\ud83d\\ude00"]',  # lone surrogates: orjson refuses
        "[1e400, -1e400, 1e-400, 0.1e310]",  # overflow to inf: orjson refuses
        '{"a": 1, "a": 2}',
        "[4.9e-324, 1.7976931348623157e308, 9007199254740993.0, -0.0]",
    ],
)
def test_strict_loads_equals_json_loads_where_orjson_differs(text: str) -> None:
    from jsonvisor.parsers.fastpath import strict_loads

    got, want = strict_loads(text, 10, 1000), json.loads(text)
    assert repr(got) == repr(want)


def test_the_c_fields_keep_their_types() -> None:
    """The C half checks its object fields once, then trusts them: a field of the wrong
    type or a deleted one is refused where it is set, not met later in C."""
    p = StreamingJsonParser()
    p.feed('{"a": [1, "x')
    from jsonvisor.parsers.extract import Extraction

    bad_fields = (("_stack", None), ("_pieces", ()), ("_str_path", []), ("_held", b""),
                  ("_x", Extraction()))  # (the C half's extraction state is its own type)
    for name, bad in bad_fields:
        with pytest.raises(TypeError, match=f"parser field {name} must be"):
            setattr(p, name, bad)
    with pytest.raises(AttributeError, match="cannot delete"):
        del p._root
    p._root = p._root  # any object is fine where any object is expected
    p.feed('y"]}')
    assert p.finish().value == {"a": [1, "xy"]}


@pytest.mark.parametrize("threshold", [2, 256])
def test_ascii_bytes_read_in_place_give_what_str_gives(threshold: int) -> None:
    """ASCII bytes chunks are parsed in place (no str made for them); whole ones go to
    the loader as they are.  Mixed with non-ASCII chunks and UTF-8 cut mid-character."""
    doc = json.dumps({"a": [1, 2.5e3, True, None, "x\\n"], "b": "caf\u00e9 \U0001f600", "c": -0.0})
    raw = doc.encode()
    for cuts in ([], [1, 2, 3], list(range(1, len(raw), 3)), list(range(1, len(raw)))):
        got = StreamingJsonParser(bulk_threshold=threshold)
        want = PurePythonParser(bulk_threshold=threshold)
        edges = [0, *cuts, len(raw)]
        for a, b in itertools.pairwise(edges):
            events = got.feed(raw[a:b])
            want_events = want.feed(raw[a:b])
            assert events == want_events
            assert same(got.snapshot(), want.snapshot())
        assert same(got.finish(), want.finish())
        assert got.position == want.position


def _run_to_end(parser: Any, chunks: list[Any]) -> list[Any]:
    """Everything a parser says for ``chunks``: events, documents, the error or result."""
    out: list[Any] = []
    try:
        for c in chunks:
            out.append(parser.feed(c))
            out.append(copy.deepcopy(parser.snapshot()))
        out.append(parser.finish())
    except JsonStreamError as e:
        out.append(("error", str(e), e.offset, e.line, e.column, e.limit))
    while parser.has_complete_object():
        out.append(parser.get())
    out.append((parser.documents, parser.position))
    return out


@pytest.mark.parametrize("max_bytes", [10_000, 30, 21, 9])
@pytest.mark.parametrize("step", [1, 3, 7, 1000])
@pytest.mark.parametrize("as_bytes", [False, True])
def test_documents_of_a_multiple_value_stream_end_in_c(max_bytes, step, as_bytes) -> None:
    """With multiple values the C half opens and closes each document and counts its
    bytes against max_bytes; what it says must be what the Python half says."""
    text = '{"a": [1, "x"]}\n[2, {"b": null}]  {"c": "dé"}\n[]\n{"long": "' + "y" * 25 + '"}'
    data = text.encode() if as_bytes else text
    chunks = [data[i : i + step] for i in range(0, len(data), step)]
    got = _run_to_end(StreamingJsonParser(multiple_values=True, max_bytes=max_bytes), chunks)
    want = _run_to_end(PurePythonParser(multiple_values=True, max_bytes=max_bytes), chunks)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert same(g, w) or g == w, (g, w)


@pytest.mark.parametrize("max_bytes", [10_000, 150, 60])
@pytest.mark.parametrize("step", [1, 2, 5, 17, 1000])
@pytest.mark.parametrize("multiple_values", [False, True])
def test_prose_the_extractor_passes_over_is_skipped_in_c(max_bytes, step, multiple_values):
    """In LLM mode the C half passes over prose chunks that hold none of the characters
    the fence finder looks for, and trailing prose after the value; positions, limits and
    what is found must be what the Python half gives."""
    text = (
        "Sure, here it is. Use `ls` and ``x`` inline.\nA ```python\nprint({1: 2})\n```\n"
        'then ```json\n{"a": [1, {"b": "c"}]}\n``` and more words, line\nafter line, '
        "with no braces at all " * 3
    )
    chunks = [text[i : i + step] for i in range(0, len(text), step)]
    kw = {"lenient": True, "max_bytes": max_bytes, "multiple_values": multiple_values}
    got = _run_to_end(StreamingJsonParser(**kw), chunks)
    want = _run_to_end(PurePythonParser(**kw), chunks)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert same(g, w) or g == w, (g, w)


# ------------------------------------------------------------------ finish() and errors
#
# finish() (with its repairs) and every error run in C wherever no extraction is involved
# (_c_finish.h, _c_errors.h): the result must be the Python one field by field, and every
# error the same JsonStreamError, every attribute and the message included.

# Option sets without extraction: finish() and errors in C.
C_END_OPTIONS: list[dict[str, Any]] = [
    {},
    {"hold_numbers": False},
    {"multiple_values": True},
    {"multiple_values": True, "max_bytes": 30},
    {"lenient": True, "extract": False},
    {"lenient": True, "extract": False, "hold_numbers": False, "partial_strings": False},
    {"lenient": True, "extract": False, "multiple_values": True, "hold_numbers": False},
    {"comments": True, "trailing_commas": True, "single_quotes": True, "unquoted_keys": True,
     "max_key_length": 4, "bulk_threshold": 2},
    {"hex_numbers": True, "nan_infinity": True, "python_literals": True, "hold_numbers": False},
    {"max_depth": 3, "max_number_length": 4, "max_bytes": 40, "lenient": True, "extract": False},
    {"key_transform": "camel", "bulk_threshold": 2},
    {"schema": CARD_SCHEMA},
    {"schema": CARD_SCHEMA, "lenient": True, "extract": False, "coerce": True, "validate": True},
]  # fmt: skip
# ... and with extraction (finish() is the Python side's there; errors are C's but at a '`').
EXTRACT_END_OPTIONS: list[dict[str, Any]] = [
    {"lenient": True},
    {"extract": True, "multiple_values": True, "max_bytes": 60},
]
# Every prefix of these is a truncated input.
TRUNCATED = [
    '{"title": "T\\u00e9\\ud83d\\ude00", "price": 3.5e2, "tags": ["a", "b"], "n": null, "x": -1}',
    '[1, -2, 3.25, 1e5, 0, [], {}, [[{"a": [1]}]], "x\\n\\"y", true, false]',
    "{'a': 'q', b: 0x1F, c: NaN, d: -Infinity, e: True, f: None, /* */ g: [1, 2,], // x\n h: {},}",
    '{"a": 1}\n[2, "three"]\n"four"\n5\ntrue\n',
    '"top\\tlevel \u00e9 \U0001f600"',
    "-12.5e-3",
    'Sure: ```json\n{"a": [1, "b"]}\n```',
]
# Inputs with an error (or one that extraction passes over).
ERRONEOUS = [
    '{"a": 1 x', "[1, 2,, 3]", '{"a" 1}', '{"a": tru}', "[01]", "[1.]", "[-]", "[1e+]", '["\\q"]',
    '["\\u12G4"]', '["a\x01"]', '{"a": 1} extra', "[[[[[1]]]]]", "[123456]", "{abcdef: 1}",
    "{a: 0x}", "{a: 0xG}", "[1 /x]", '{"a": 1,}', "[1,]", "}", "]", "{,}", '{"a":}', "[NaN]",
    "[Infinity]", "[-Infinity]", "[True]", "[None]", '{"a": [1, 2}', '{"a": "b"}}', "nul x",
    '"abc" "d"', "1 2", "[1]\n[2, x]", '{"a":\n [1,\n 2 x]}', "\u00e9", "[\u00e9]",
    '{"\u00e9": 1 \u00e9}', '{"a": -Inf}', '{"a": Nan}', '{"a": Tx}', '{"a": "x" :}', "[0x1]",
    '{"a": 1e}', '{"a": 1 /* */ 2}', '```json\n{"a": [1, 2\n```', 'Sure: {"a": 1 x}',
    "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25]",
    '{"a": "' + "y" * 40 + '"} [1]',
    b'["a\xff"]', b'["\xc3', b'{"a": "\xe2\x82"}', b"[1, 2] \xff", b"[1]\xc3", b"\xf0\x9f",
]  # fmt: skip
END_INPUTS: list[str | bytes] = [
    *(doc[:i] for doc in TRUNCATED for i in range(len(doc) + 1)),
    *ERRONEOUS,
]
END_CHUNKINGS = ("whole", "chars", "random", "bytes-whole", "bytes-each", "bytes-random", "mixed")


def _options_id(options: dict[str, Any]) -> str:
    return ",".join(f"{k}={'CARD' if k == 'schema' else v}" for k, v in options.items()) or "strict"


@pytest.mark.parametrize(
    "options", C_END_OPTIONS + EXTRACT_END_OPTIONS, ids=_options_id
)
def test_truncated_and_erroneous_inputs_end_alike(options: dict[str, Any]) -> None:
    """Every prefix of a few documents and many broken inputs, str and bytes, whole, per
    unit and random: the C and Python backends give identical finish() results (value,
    complete, repairs, confidence, events, warnings) and errors (every field), and neither
    depends on the chunking (see invariants.check)."""
    for text in END_INPUTS:
        check(text, options, chunkings=END_CHUNKINGS)


def _end(cls: type, options: dict[str, Any], chunks: list[Any], allow_partial: bool) -> Any:
    """How a parse ends, every field: the ParseResult, or the error's class, attributes and
    message; then the parser's state after it."""
    p = cls(**options)
    try:
        for chunk in chunks:
            p.feed(chunk)
            repr(p.snapshot())
        r = p.finish(allow_partial=allow_partial)
        end: Any = (
            "result", repr(r.value), r.complete, r.repairs, r.confidence, repr(r.events),
            repr(r.warnings), repr(r.model), p.finish() is r,
        )  # fmt: skip
    except JsonStreamError as e:
        end = ("error", type(e), sorted(vars(e).items()), str(e))
        try:  # after an error from feed(), finish() raises it again
            p.finish()
        except JsonStreamError as again:
            end += (again is e or vars(again) == vars(e),)
    return end, p.position, p.documents, p.document_state(), repr(p.snapshot())


def _end_chunkings(text: str | bytes) -> list[list[Any]]:
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    out = [[data], [data[i : i + 1] for i in range(len(data))]]
    out.append([bytearray(data[:3]), memoryview(data[3:])])  # bytes-like: C too
    if isinstance(text, str):
        out += [[text], list(text)]
    return out


def test_finish_and_errors_end_alike() -> None:
    """Without extraction, finish() and every error of the C backend (its own, see the test
    below) end every input exactly as the Python one does, allow_partial=False too."""
    runs = [
        (options, chunks, allow_partial)
        for options in C_END_OPTIONS
        for text in END_INPUTS[::3] + ERRONEOUS
        for chunks in _end_chunkings(text)
        for allow_partial in (True, False)
    ]
    want = [_end(PurePythonParser, *run) for run in runs]

    for run, expected in zip(runs, want, strict=True):
        got = _end(StreamingJsonParser, *run)
        assert got == expected, (run, got, expected)


def test_the_c_backend_is_not_a_subclass_of_the_python_engine() -> None:
    """Two complete backends behind one contract: the C parser shares only the face
    (construction, fields, the read-only public API) with the Python one, none of the
    engine's parts, so no Python implementation can run behind its feed(), snapshot() or
    finish()."""
    from jsonvisor.parsers import _bulk, _extracting, _failing, _repair, _scanner
    from jsonvisor.parsers._face import _ParserFace
    from jsonvisor.parsers.streaming import _Parser

    engine = (_Parser, _scanner._Scanner, _bulk._Bulk, _extracting._Extracting,
              _repair._Repairing, _failing._Failing)  # fmt: skip
    core = StreamingJsonParser.__mro__[1]
    assert core.__module__.endswith("_speedups") and core.__name__ == "Core"
    assert StreamingJsonParser.__mro__[2:] == (_ParserFace, object)
    assert not any(issubclass(StreamingJsonParser, part) for part in engine)
    assert issubclass(PurePythonParser, _Parser)
    for name in ("feed", "snapshot", "finish", "_copy_state"):
        assert getattr(StreamingJsonParser, name).__qualname__.startswith("Core."), name


def test_finish_restores_a_value_in_prose() -> None:
    """In extraction mode, finish() with a fenced candidate still on trial that would
    replace a value found in prose restores that value (as _reject_trial() does), as the
    Python backend does; other candidates on trial are released."""
    q = PurePythonParser(lenient=True)
    q.feed('Here {"a": 1} or ```json\n{b: [2')
    want = q.finish()
    for options in C_END_OPTIONS:
        p = StreamingJsonParser(**options)
        p.feed('{"a": [1, "x')
        p.finish()
    p = StreamingJsonParser(lenient=True)
    p.feed('Sure: ```json\n{"a": [1, "x')
    assert p.finish().value == {"a": [1, "x"]}
    p = StreamingJsonParser(lenient=True)
    p.feed('Sure: ```json\n{a: [1, 2')  # a candidate on trial, all there is
    assert p.finish().value == {"a": [1, 2]}
    p = StreamingJsonParser(lenient=True)
    p.feed('Here {"a": 1} or ```json\n{b: [2')  # a fenced one would replace {"a": 1}
    r = p.finish()
    assert r.value == {"a": 1} and r.complete
    assert r == want


def test_finish_in_extraction_mode_ends_alike() -> None:
    """finish() in extraction mode (a candidate on trial released, an unterminated fence
    stripped) ends every input on the C backend as on the Python one."""
    runs = [
        (options, chunks, allow_partial)
        for options in EXTRACT_END_OPTIONS
        for text in END_INPUTS[::2] + SEEK_TEXTS + ['Sure: ```json\n{a: [1, 2', "``` json\n["]
        for chunks in _end_chunkings(text)
        for allow_partial in (True, False)
    ]
    want = [_end(PurePythonParser, *run) for run in runs]

    for run, expected in zip(runs, want, strict=True):
        got = _end(StreamingJsonParser, *run)
        assert got == expected, (run, got, expected)


_ITEMS = [
    {"id": i, "name": f"item \u00e9{i}", "tags": ["a", "b"], "n": {"x": [i, 2.5]}}
    for i in range(12)
]
BULK_DOCS: list[str] = [
    json.dumps({"items": _ITEMS, "total": 12, "note": "d\u00e9j\u00e0 vu \U0001f600"}),
    json.dumps(_ITEMS, separators=(",", ":")),
    json.dumps({"a": {"b": {"c": _ITEMS}}}, indent=2),
    "\n".join(json.dumps(item) for item in _ITEMS) + "\n",  # (multiple values)
    json.dumps({"deep": [[[[[[[[1]]]]]]]], "wide": _ITEMS}),
    json.dumps({"bad": _ITEMS[:3]})[:-1] + ", 01]}",  # a lax number: the token path refuses it
]


def _events_and_end(cls: type, options: dict[str, Any], chunks: list[Any]) -> Any:
    """Every feed's events and snapshot, then how the parse ends."""
    p = cls(**options)
    seen: list[Any] = []
    try:
        for chunk in chunks:
            seen.append(repr(p.feed(chunk)))
            seen.append(repr(p.snapshot()))
        r = p.finish()
        seen.append(("result", repr(r.value), r.complete, r.repairs, repr(r.events)))
    except JsonStreamError as e:
        seen.append(("error", sorted(vars(e).items())))
    return seen


def test_bulk_path_ends_alike() -> None:
    """The bulk path (a run of whole values found, checked and loaded at once; C's own in
    _c_bulkstep.h) gives every event, snapshot and result on the C backend that it gives
    on the Python one, for documents cut anywhere, a key transform, a schema, several
    values, a depth limit and separators it must guess."""
    option_sets: list[dict[str, Any]] = [
        {},
        {"bulk_threshold": 2},
        {"key_transform": "camel"},
        {"key_transform": "snake", "bulk_threshold": 8},
        {"schema": CARD_SCHEMA},
        {"max_depth": 5},
        {"lenient": True, "extract": False},
    ]
    runs = []
    for options in option_sets:
        for doc in BULK_DOCS:
            opts = {**options, "multiple_values": doc.endswith("\n")}
            for data in (doc, doc.encode()):
                size = max(1, len(data) // 7)
                runs.append((opts, [data]))
                runs.append((opts, [data[: len(data) // 2]]))  # cut in the middle
                runs.append((opts, [data[i : i + size] for i in range(0, len(data), size)]))
                runs.append((opts, [data[i : i + 300] for i in range(0, len(data), 300)]))
    want = [_events_and_end(PurePythonParser, *run) for run in runs]

    for run, expected in zip(runs, want, strict=True):
        got = _events_and_end(StreamingJsonParser, *run)
        assert got == expected, run


def test_c_errors_are_remembered_and_raised_again() -> None:
    """An error raised by the C token loop is the parser's error from then on: further
    input and finish() raise the same object; the input after finish() is refused anew
    each time (it is not the parser's error)."""
    p = StreamingJsonParser()
    with pytest.raises(JsonStreamError) as first:
        p.feed('{"a": 1 x')
    for again in (lambda: p.feed("]"), lambda: p.feed(b"]"), p.finish):
        with pytest.raises(JsonStreamError) as e:
            again()
        assert e.value is first.value
    p = StreamingJsonParser()
    p.feed("[1]")
    r = p.finish()
    errors = []
    for _ in range(2):
        with pytest.raises(JsonStreamError, match="input after finish") as e:
            p.feed(b"x")
        errors.append(e.value)
    assert errors[0] is not errors[1] and vars(errors[0]) == vars(errors[1])
    assert p.finish() is r


def test_held_values_shown_and_kept_in_c() -> None:
    """hold_numbers=False: snapshot() shows a held number's or literal's best value (C),
    and finish() keeps exactly that."""
    for text, shown in (
        ('{"a": 12.', {"a": 12}), ("[1, -", [1]), ("[1e", [1]), ('{"a": fa', {"a": False}),
        ("[nu", [None]), ("-0.5e", -0.5), ("tr", True), ("{a: 0x1", {"a": 1}), ("[N", [None]),
    ):  # fmt: skip
        for cls in (StreamingJsonParser, PurePythonParser):
            p = cls(hold_numbers=False, python_literals=True, hex_numbers=True, unquoted_keys=True)
            p.feed(text)
            assert same(p.snapshot(), shown), (cls, text, p.snapshot())
            assert same(p.finish().value, shown), (cls, text)


def test_no_memory_growth_over_errors_and_repairs() -> None:
    """Reference leaks on the C half's error and finish() paths would show as memory
    growing with every parse that ends in an error or a repair."""
    inputs = [*ERRONEOUS, *(doc[: len(doc) // 2] for doc in TRUNCATED)]
    options = [{}, {"multiple_values": True, "max_bytes": 30}, {"lenient": True, "extract": False},
               {"schema": CARD_SCHEMA}, {"hold_numbers": False, "hex_numbers": True}]  # fmt: skip

    def run(times: int) -> None:
        for _ in range(times):
            for o in options:
                for text in inputs:
                    for strict in (False, True):
                        p = StreamingJsonParser(**o)
                        try:
                            for c in (text, text) if strict else (text,):
                                p.feed(c)
                                p.snapshot()
                            p.finish(allow_partial=not strict)
                        except JsonStreamError:
                            pass

    run(3)
    tracemalloc.start()
    try:  # (after the first runs, which fill bounded caches: schema tables, interned names)
        run(10)
        gc.collect()
        base = tracemalloc.get_traced_memory()[0]
        run(40)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    assert grown < 8 * 1024, grown  # a leaked object per parse would be 25 000 of them


_UTF8_PIECES = [
    "a", "é", "€", "😀", "東", "\u07ff", "\u0800", "\uffff", "\U00010000", "\U0010ffff",
]  # fmt: skip
_BAD_UTF8 = [
    b"\x80", b"\xbf", b"\xc0\xaf", b"\xc1\xbf", b"\xe0\x80\x80", b"\xe0\x9f\xbf",
    b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xf0\x80\x80\x80", b"\xf0\x8f\xbf\xbf",
    b"\xf4\x90\x80\x80", b"\xf5\x80\x80\x80", b"\xff", b"\xe2\x82", b"\xf0\x9f\x98",
]  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.lists(
        st.one_of(
            st.sampled_from(_UTF8_PIECES).map(str.encode),
            st.sampled_from(_BAD_UTF8),
        ),
        max_size=12,
    ),
    st.booleans(),
)
def test_bytes_decoded_by_hand_or_by_the_codec_end_alike(pieces: list[bytes], lenient: bool):
    # Short bytes chunks are decoded by hand (utf8_small), longer ones by the codec: valid,
    # invalid and cut sequences, fed whole, per byte and at random, give what the Python
    # backend's incremental decoder gives, error positions included.
    text = b'{"k": "' + b"".join(pieces) + b'", "n": [1, "\xc3\xa9"]}'
    check(text, {"lenient": lenient} if lenient else {})


# ------------------------------------------------------------------ extraction in C
#
# In extraction mode the C half runs the fence finder itself (_c_extract.h: the parser's
# ``_x`` is a C Extraction, read in place) and seeks in C: prose before the first value,
# between values and after a value found in prose (a fence may still replace it); it runs
# the tokens of a value on trial, snapshot() while seeking or with a value on trial, and
# finish().  A trial begins, and a failed one is rejected, on the Python side
# (_begin_trial, _extracting; see the header of _speedups.c for every deferral).

SEEK_TEXTS = [
    "Sure, here it is. Use `ls` and ``x`` inline, {name} and [1] in prose.\nA ```python\n"
    "print({1: 2})\n```\nthen ```` JSON \n{\"a\": [1, {\"b\": \"c\"}]}\n```` and more `words`.",
    'Text {not json} then ```json\n{"a": 1}\n``` after `x` {y} [z]\n```json\n[2]\n```',
    'Here: {"a": [1, 2]} then ```js\n{"b": "c"}\n``` bye',
    '{"a": 1}\n```\n```json\n{"b": 2}\n```',
    "No JSON here at all, just ``` ticks `` and `code` ```text\nx\n```\nand ````\n````",
    '```json {"a": 1}``` and `{"b": [2]}` {"c": 3}\n',
]

SEEK_OPTIONS: list[dict[str, Any]] = [
    {"lenient": True},
    {"extract": True, "multiple_values": True},
    {"lenient": True, "max_bytes": 70},
]


@pytest.mark.parametrize("options", SEEK_OPTIONS, ids=_options_id)
def test_extraction_seeks_in_c(options: dict[str, Any]) -> None:
    """The C backend seeks with its own fence finder (a C Extraction): every text above
    ends exactly as on the Python backend, whatever the chunking, prose alone too."""
    runs = [(options, chunks, True) for text in SEEK_TEXTS for chunks in _end_chunkings(text)]
    want = [_end(PurePythonParser, *run) for run in runs]
    prose = "Intro with `code`, ``x``, a ```python\nfence {1: [2]}\n``` and ` `` ``` ticks\n" * 3
    prose_chunks = [prose[i : i + 5] for i in range(0, len(prose), 5)]
    prose_want = [_end(PurePythonParser, options, prose_chunks[:k], True) for k in (5, 30)]

    for run, expected in zip(runs, want, strict=True):
        got = _end(StreamingJsonParser, *run)
        assert got == expected, (run, got, expected)
    for k, expected in zip((5, 30), prose_want, strict=True):
        assert _end(StreamingJsonParser, options, prose_chunks[:k], True) == expected
    assert type(StreamingJsonParser(**options)._x).__module__.endswith("_speedups")


TRIAL_TEXTS = [
    "Sure: {a: [1, 2, 3, 4, 5, 6, 7, 8], b: {c: [true, null, 'x']}, d: -1.5e3} done",
    "Use {x y} or [1 2] or {'k': 'v'} then ```json\n{k: [1, 2\n``` and {z}",
    "Set {name} and {id: 1, tags: [a]} or ```\n{note: 'a'\n, n: [NaN, 0x1F]}\n```",
    "A {/* c */ k: // x\n 1,} [,] {'a': {'b': ['c', ]}}",
    # (a document on trial loaded whole by the bulk path, then the next one: fuzzer-found)
    "[1] " + "Some explanation. " * 30 + "\n```json\n[0,0]",
]


@pytest.mark.parametrize("options", SEEK_OPTIONS, ids=_options_id)
def test_a_candidate_on_trial_ends_alike(options: dict[str, Any]) -> None:
    """Extraction in C (seeking, beginning a trial, the tokens of a value on trial with
    their events held in the candidate, its top level, proving, releasing or rejecting it,
    a closing fence that ends an unfinished value, the prose after it) ends every text as
    on the Python backend, whatever the chunking."""
    runs = [
        (options, chunks, True)
        for text in TRIAL_TEXTS + SEEK_TEXTS
        for chunks in [*_end_chunkings(text), [text[:1], text[1:]]]
    ]
    want = [_end(PurePythonParser, *run) for run in runs]

    for run, expected in zip(runs, want, strict=True):
        got = _end(StreamingJsonParser, *run)
        assert got == expected, (run, got, expected)
    p = StreamingJsonParser(lenient=True)
    for c in TRIAL_TEXTS[0]:
        p.feed(c)
    assert p.finish().value == {"a": [1, 2, 3, 4, 5, 6, 7, 8], "b": {"c": [True, None, "x"]},
                                "d": -1500.0}  # fmt: skip
