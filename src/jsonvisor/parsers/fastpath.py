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

from .accelerator import speedups

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


def _nested_container(levels: int) -> re.Pattern[str]:
    """A regex for a whole array or object nested at most ``levels`` deep.

    Written as "unrolled loops": a run of plain characters, then a string or an inner
    container (each told apart by its first character), then plain characters again.
    There is only one way to match, so a failed match backtracks in linear time.
    """
    plain = r'[^"\[\]{}]*'
    unit = r'"[^"\\]*(?:\\.[^"\\]*)*"'
    container = ""
    for _ in range(levels):
        body = f"{plain}(?:(?:{unit}){plain})*"
        container = rf"(?:\{{{body}\}}|\[{body}\])"
        unit = rf'"[^"\\]*(?:\\.[^"\\]*)*"|{container}'
    return re.compile(container, re.DOTALL)


# Most values in model output nest only a few levels: match them in one C call, and fall
# back to a step per bracket for deeper ones.
_SHALLOW_CONTAINER = _nested_container(4)


def scan_value_end(text: str, pos: int) -> int:
    """End (exclusive) of the value starting at ``text[pos]``, or -1 if it is not complete.

    Only boundaries are found here; validity is the loader's job.  A number or literal is
    complete only when a character follows it.
    """
    n = len(text)
    c = text[pos]
    if c in _OPEN:
        m = _SHALLOW_CONTAINER.match(text, pos)
        if m is not None:
            return m.end()
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
_ANY_CONTROL = re.compile(r"[\x00-\x1f]")
_CONTROL_NOT_WS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_BAD_MINUS = re.compile(r"-(?![0-9])")  # '-' alone, '-.5', '-Infinity'
_BAD_DOT = re.compile(r"\.(?![0-9])")  # '1.' and '1.e5'
# A '0' followed by a digit that starts a number; led by a literal so re can skip ahead.
_LEADING_ZERO = re.compile(r"0(?<![0-9.eE+\-]0)[0-9]")
_NEGATIVE_LEADING_ZERO = re.compile(r"-(?<![eE]-)0[0-9]")
_INNER_PAIR = re.compile(rb"\[\]|\{\}")
_NOT_BRACKET_BYTES = bytes(c for c in range(128) if chr(c) not in "[]{}")
# Every character a number can hold becomes "0", anything else a space.
_NUMBER_CHARS_TO_ZERO = str.maketrans(
    "".join(map(chr, range(128))),
    "".join("0" if chr(c) in "0123456789.eE+-" else " " for c in range(128)),
)


def strict_loads(text: str, max_depth: int, max_number_length: int) -> Any:
    """``json.loads(text)`` at C speed (``ujson``), or :class:`NotFast`.

    Raises :class:`NotFast` when the text is not strictly valid JSON, nests deeper than
    ``max_depth`` containers, or holds a digit run longer than ``max_number_length``.
    """
    if _validate is not None:
        if not _validate(text, max_depth, max_number_length):
            raise NotFast("not strict JSON")
    else:
        _check_strict(text, max_depth, max_number_length)
    try:
        return ujson.loads(text)
    except Exception as exc:  # JSONDecodeError, ValueError (digit limit), ...
        raise NotFast(str(exc)) from None


def _check_strict(text: str, max_depth: int, max_number_length: int) -> None:
    """The pure-Python strictness check: :class:`NotFast` unless nothing lax is in ``text``."""
    outside = _STRING.sub("", text) if '"' in text else text
    if '"' in outside:
        raise NotFast("unterminated string")
    if (
        _BAD_MINUS.search(outside)
        or _BAD_DOT.search(outside)
        or _LEADING_ZERO.search(outside)
        or _NEGATIVE_LEADING_ZERO.search(outside)
        or "NaN" in outside
        or "Infinity" in outside
    ):
        raise NotFast("lax")
    if not outside.isascii():
        raise NotFast("non-ASCII character outside strings")
    if len(outside) > max_number_length and (
        "0" * (max_number_length + 1) in outside.translate(_NUMBER_CHARS_TO_ZERO)
    ):
        raise NotFast("number too long")
    _check_depth(outside.encode("ascii").translate(None, _NOT_BRACKET_BYTES), max_depth)
    if _ANY_CONTROL.search(text):
        # JSON whitespace is fine between tokens; inside a string it must be escaped.
        if _CONTROL_NOT_WS.search(text):
            raise NotFast("control character")
        for c in "\t\n\r":
            if text.count(c) != outside.count(c):
                raise NotFast("control character in string")


# The C validator (one pass, see ``_speedups.c``), or None for the regex checks above.
_validate = speedups.validate if speedups is not None else None


def _check_depth(skeleton: bytes, max_depth: int) -> None:
    """Refuse brackets nested deeper than ``max_depth`` (or unbalanced).

    Each pass removes the innermost ``[]``/``{}`` pairs at C speed, so the number of passes
    is the depth.
    """
    depth = 0
    while skeleton:
        reduced = _INNER_PAIR.sub(b"", skeleton)
        if len(reduced) == len(skeleton):
            raise NotFast("unbalanced")
        depth += 1
        if depth > max_depth:
            raise NotFast("too deep")
        skeleton = reduced
