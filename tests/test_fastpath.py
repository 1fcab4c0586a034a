"""The C-speed fast path accepts exactly what json.loads accepts (minus NaN/Infinity)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import same
from jsonvisor.parsers import fastpath
from jsonvisor.parsers.fastpath import NotFast, strict_loads


def _json_strict(text: str):
    def reject(name: str):
        raise ValueError(name)

    return json.loads(text, parse_constant=reject)


@pytest.mark.parametrize(
    "text",
    [
        "[01]",
        "[1.]",
        "2.",
        '["a\nb"]',
        '["\x01"]',
        "[-]",
        "[00]",
        "[-00]",
        "[0.e1]",
        "[1.e1]",
        "[-.5]",
        '["\t"]',
        '{"\n":1}',
        "[NaN]",
        "[Infinity]",
        "[-Infinity]",
        "NaN",
        "[1,]",
        "[\x0c1]",
        "[1e]",
        '{"a":01}',
        '{"a":[1,2,-]}',
        '["x"]\x00',
    ],
)
def test_lax_input_is_refused(text):
    with pytest.raises(NotFast):
        strict_loads(text, 256, 1000)


@pytest.mark.parametrize(
    "text",
    [
        '{"a": [1, 2.5, -0, -0.0, 1e-05, 1E+2, 0.001, "x\\"y\\\\", true, false, null]}',
        '["\\ud83d\\ude00", "\\u0000", "-.5 01 NaN"]',
        "[\n  1,\n\t2\r\n]",
        "[10, 100, 0]",
    ],
)
def test_valid_input_loads_like_json(text):
    assert same(strict_loads(text, 256, 1000), json.loads(text))


def test_depth_and_number_limits():
    assert strict_loads("[[[1]]]", 3, 1000) == [[[1]]]
    with pytest.raises(NotFast):
        strict_loads("[[[1]]]", 2, 1000)
    with pytest.raises(NotFast):
        strict_loads("[" + "1" * 30 + "]", 10, 20)
    assert strict_loads('["' + "1" * 30 + '"]', 10, 20) == ["1" * 30]


@settings(max_examples=1500, deadline=None)
@given(st.text(alphabet='{}[]",:0123456789.eE+-tfrueanlNIy \n\t\x01\\u', max_size=40))
def test_agrees_with_json_loads_on_garbage(text):
    try:
        expected = _json_strict(text)
    except (ValueError, RecursionError):
        with pytest.raises(NotFast):
            strict_loads(text, 256, 1000)
    else:
        assert same(strict_loads(text, 256, 1000), expected)


@pytest.mark.parametrize(
    "scan_value_end",
    [fastpath.scan_value_end, fastpath.py_scan_value_end],
    ids=["default", "regex"],
)
def test_scan_value_end(scan_value_end):
    text = '{"a": "]}", "b": [1, {"c": "\\"}"}]} tail'
    n = len(text)
    assert text[: scan_value_end(text, 0, n, 256)] == '{"a": "]}", "b": [1, {"c": "\\"}"}]}'
    assert scan_value_end(text, 0, n, 2) == -2  # nests 3 levels
    assert scan_value_end(text, 0, 20, 256) == -1  # does not end before the limit
    assert scan_value_end('{"a": [1, 2', 0, 11, 256) == -1
    assert scan_value_end("123", 0, 3, 256) == -1  # a number at the end may continue
    assert scan_value_end("123,", 0, 4, 256) == 3
    assert scan_value_end('"abc', 0, 4, 256) == -1


@pytest.mark.parametrize(
    "scan_members", [fastpath.scan_members, fastpath.py_scan_members], ids=["default", "regex"]
)
def test_scan_members(scan_members):
    text = '1, "a", [2, 3], {"b": 4}, 5'
    end, closed, open_at = scan_members(text, 0, False, len(text), 256)
    assert text[:end] == '1, "a", [2, 3], {"b": 4}' and not closed and open_at == -1
    text = '"k": 1, "j": [2]} '
    end, closed, _ = scan_members(text, 0, True, len(text), 256)
    assert closed and text[end] == "}"
    assert scan_members('"k": 1', 0, True, 6, 256) == (-1, False, -1)
    assert scan_members('"k": 1, "j": [2, {', 0, True, 18, 256) == (6, False, 13)
