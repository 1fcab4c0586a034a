"""An independent, deliberately simple (and slow) oracle for what snapshot() should show.

It parses a whole prefix from scratch with recursive descent, so it shares no code or
state with the incremental parser.
"""

from __future__ import annotations

import json
import re
from typing import Any

MISSING: Any = object()
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_WS = " \t\n\r"


class Incomplete(Exception):
    def __init__(self, value: Any) -> None:
        self.value = value


def _ws(s: str, i: int) -> int:
    while i < len(s) and s[i] in _WS:
        i += 1
    return i


def _string(s: str, i: int) -> tuple[str, int]:
    """s[i] is the opening quote."""
    j = i + 1
    while j < len(s):
        c = s[j]
        if c == "\\":
            j += 2
            continue
        if c == '"':
            return json.loads(s[i : j + 1]), j + 1
        j += 1
    body = s[i + 1 :]
    # Cut an unfinished escape, then a high surrogate escape that may still get its pair.
    m = re.search(r"\\(u[0-9a-fA-F]{0,3})?$", body)
    if m and (len(body) - m.start()) % 1 == 0:
        k = m.start()
        backslashes = len(body[:k]) - len(body[:k].rstrip("\\"))
        if backslashes % 2 == 0:
            body = body[:k]
    m = re.search(r"\\u[dD][89abAB][0-9a-fA-F]{2}$", body)
    if m:
        k = m.start()
        backslashes = len(body[:k]) - len(body[:k].rstrip("\\"))
        if backslashes % 2 == 0:
            body = body[:k]
    raise Incomplete(json.loads('"' + body + '"'))


def _value(s: str, i: int) -> tuple[Any, int]:
    i = _ws(s, i)
    if i >= len(s):
        raise Incomplete(MISSING)
    c = s[i]
    if c == "{":
        d: dict[str, Any] = {}
        i = _ws(s, i + 1)
        if i >= len(s):
            raise Incomplete(d)
        if s[i] == "}":
            return d, i + 1
        while True:
            i = _ws(s, i)
            if i >= len(s):
                raise Incomplete(d)
            try:
                k, i = _string(s, i)
            except Incomplete:
                raise Incomplete(d) from None
            i = _ws(s, i)
            if i >= len(s):
                raise Incomplete(d)
            assert s[i] == ":"
            try:
                v, i = _value(s, i + 1)
            except Incomplete as e:
                if e.value is not MISSING:
                    d[k] = e.value
                raise Incomplete(d) from None
            d[k] = v
            i = _ws(s, i)
            if i >= len(s):
                raise Incomplete(d)
            if s[i] == "}":
                return d, i + 1
            i += 1
    if c == "[":
        a: list[Any] = []
        i = _ws(s, i + 1)
        if i >= len(s):
            raise Incomplete(a)
        if s[i] == "]":
            return a, i + 1
        while True:
            try:
                v, i = _value(s, i)
            except Incomplete as e:
                if e.value is not MISSING:
                    a.append(e.value)
                raise Incomplete(a) from None
            a.append(v)
            i = _ws(s, i)
            if i >= len(s):
                raise Incomplete(a)
            if s[i] == "]":
                return a, i + 1
            i += 1
    if c == '"':
        return _string(s, i)
    for word, val in (("true", True), ("false", False), ("null", None)):
        if c == word[0]:
            if s[i : i + len(word)] == word:
                return val, i + len(word)
            raise Incomplete(MISSING)
    j = i
    while j < len(s) and s[j] in "0123456789.eE+-":
        j += 1
    m = _NUMBER.match(s, i)
    if m is None or j >= len(s):
        raise Incomplete(MISSING)  # held until a delimiter proves it complete
    return json.loads(m.group()), m.end()


def expected_snapshot(prefix: str) -> Any:
    """What snapshot() should show after ``prefix`` of one valid document."""
    try:
        v, _ = _value(prefix, 0)
    except Incomplete as e:
        return None if e.value is MISSING else e.value
    return v
