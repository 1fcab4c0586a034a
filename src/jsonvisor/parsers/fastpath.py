"""C-speed helpers: find where complete values end, and load slices strictly.

Everything here works on ``str`` slices with :mod:`re`, ``str`` methods and a C JSON
loader, never a Python loop per character. ``ujson`` is fast but lax (it accepts ``[01]``,
``[1.]``, ``[-]``, raw control characters in strings, ``NaN``); :func:`strict_loads`
validates a slice first and only trusts ``ujson`` when nothing lax can be in it, otherwise
it uses the standard library's strict C scanner. Either way the result equals
``json.loads`` of the slice, or :class:`NotFast` is raised and the caller falls back to
the exact token-by-token parser (which then reports the precise error).
"""

from __future__ import annotations

import re
from typing import Any

import ujson

__all__ = ["NotFast", "scan_members", "scan_value_end", "strict_loads"]


class NotFast(Exception):
    """The slice cannot be loaded by the fast path; parse it token by token instead."""


_WS = re.compile(r"[ \t\n\r]*")
# From just after an opening bracket: skip strings and everything but brackets, then
# capture the next bracket.  One Python step per bracket, never per character.
_NEXT_BRACKET = re.compile(
    r'[^"\[\]{}]*(?:"[^"\\]*(?:\\.[^"\\]*)*"[^"\[\]{}]*)*([\[\]{}])', re.DOTALL
)
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
# A number or literal, which must be followed by something (else it may continue).
_SCALAR = re.compile(r"[^ \t\n\r,:\[\]{}\"]+")
# A run of complete scalar members of an array: each followed by a comma.
_SCALAR_RUN = re.compile(
    r'(?:[ \t\n\r]*(?:"[^"\\]*(?:\\.[^"\\]*)*"|[^ \t\n\r,:\[\]{}"]+)[ \t\n\r]*,)*', re.DOTALL
)
_OPEN = frozenset("[{")


def scan_value_end(text: str, pos: int) -> int:
    """End (exclusive) of the value starting at ``text[pos]``, or -1 if it is not complete.

    Only boundaries are found here; validity is the loader's job.  A number or literal is
    complete only when a character follows it.
    """
    n = len(text)
    c = text[pos]
    if c in _OPEN:
        depth = 1
        p = pos + 1
        match = _NEXT_BRACKET.match
        while True:
            m = match(text, p)
            if m is None:
                return -1
            p = m.end()
            if m.group(1) in _OPEN:
                depth += 1
            else:
                depth -= 1
                if depth == 0:
                    return p
    if c == '"':
        m = _STRING.match(text, pos)
        return -1 if m is None else m.end()
    m = _SCALAR.match(text, pos)
    if m is None:
        return -1
    e = m.end()
    return e if e < n else -1


def scan_members(text: str, pos: int, in_object: bool) -> tuple[int, bool]:
    """Find the longest run of complete members of an open container, from ``pos``.

    ``pos`` is where a member may start (after ``[``, ``{`` or a comma).  Returns
    ``(end, closed)``: ``text[pos:end]`` holds whole members and ``text[end]`` is the
    comma after the last of them, or the closing bracket when ``closed``.  ``end`` is -1
    when not even one member is complete.
    """
    n = len(text)
    close = "}" if in_object else "]"
    last = -1
    p = pos
    while True:
        if not in_object:
            p = _SCALAR_RUN.match(text, p).end()
            if p > pos:
                last = p - 1
        p = _WS.match(text, p).end()
        if p >= n:
            break
        if in_object:
            if text[p] != '"':
                break
            m = _STRING.match(text, p)
            if m is None:
                break
            p = _WS.match(text, m.end()).end()
            if p >= n or text[p] != ":":
                break
            p = _WS.match(text, p + 1).end()
            if p >= n:
                break
        e = scan_value_end(text, p)
        if e < 0:
            break
        p = _WS.match(text, e).end()
        if p >= n:
            break
        c = text[p]
        if c == ",":
            last = p
            p += 1
            continue
        if c == close:
            return p, True
        break
    return last, False


# Inside a valid document a string is always delimited by structure, so removing strings
# leaves numbers, literals, brackets and whitespace to check.  Each check below starts with
# a literal character so that :mod:`re` can skip ahead at C speed.
_ESCAPED_BACKSLASH = "\\\\"
_ESCAPED_QUOTE = '\\"'
_ANY_CONTROL = re.compile(r"[\x00-\x1f]")
_CONTROL_NOT_WS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_BAD_MINUS = re.compile(r"-(?![0-9])")  # '-' alone, '-.5', '-Infinity'
_BAD_DOT = re.compile(r"\.(?![0-9])")  # '1.' and '1.e5'
# A '0' followed by a digit that starts a number; led by a literal so re can skip ahead.
_LEADING_ZERO = re.compile(r"0(?<![0-9.eE+\-]0)[0-9]")
_NEGATIVE_LEADING_ZERO = re.compile(r"-(?<![eE]-)0[0-9]")
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_INNER_PAIR = re.compile(r"\[\]|\{\}")


def strict_loads(text: str, max_depth: int, max_number_length: int) -> Any:
    """``json.loads(text)`` at C speed (``ujson``), or :class:`NotFast`.

    Raises :class:`NotFast` when the text is not strictly valid JSON, nests deeper than
    ``max_depth`` containers, or holds a digit run longer than ``max_number_length``.
    """
    stripped = text
    if "\\" in stripped:
        stripped = stripped.replace(_ESCAPED_BACKSLASH, "").replace(_ESCAPED_QUOTE, "")
    if '"' in stripped:
        parts = stripped.split('"')
        if not len(parts) & 1:
            raise NotFast("unbalanced quotes")
        outside = "".join(parts[::2])
    else:
        outside = stripped
    if (
        _BAD_MINUS.search(outside)
        or _BAD_DOT.search(outside)
        or _LEADING_ZERO.search(outside)
        or _NEGATIVE_LEADING_ZERO.search(outside)
        or "NaN" in outside
        or "Infinity" in outside
    ):
        raise NotFast("lax")
    if (
        len(outside) > max_number_length
        # Numbers are separated by commas or brackets: only a long piece needs a look.
        and max(map(len, outside.split(","))) > max_number_length
        and re.search(f"[0-9.eE+-]{{{max_number_length + 1}}}", outside)
    ):
        raise NotFast("number too long")
    _check_depth(outside, max_depth)
    if _ANY_CONTROL.search(text):
        # JSON whitespace is fine between tokens; inside a string it must be escaped.
        if _CONTROL_NOT_WS.search(text):
            raise NotFast("control character")
        for c in "\t\n\r":
            if text.count(c) != outside.count(c):
                raise NotFast("control character in string")
    try:
        return ujson.loads(text)
    except Exception as exc:  # JSONDecodeError, ValueError (digit limit), ...
        raise NotFast(str(exc)) from None


def _check_depth(outside: str, max_depth: int) -> None:
    skeleton = _NOT_BRACKET.sub("", outside)
    depth = 0
    while skeleton:
        reduced = _INNER_PAIR.sub("", skeleton)
        if len(reduced) == len(skeleton):
            raise NotFast("unbalanced")
        depth += 1
        if depth > max_depth:
            raise NotFast("too deep")
        skeleton = reduced
