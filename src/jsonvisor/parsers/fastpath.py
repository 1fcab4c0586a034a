"""C-speed helpers: find where complete values end, and load slices strictly.

Everything here works on ``str`` slices with :mod:`re`, ``str`` methods and a C JSON
loader, never a Python loop per character.  The loaders are fast but not exact on their
own: ``ujson`` is lax (it accepts ``[01]``, ``[1.]``, ``[-]``, raw control characters in
strings, ``NaN``), and ``orjson`` (1.5-3x faster than ``ujson`` on model output) turns an
integer past 64 bits into a float and refuses a lone surrogate or a float that overflows.
So :func:`strict_loads` validates a slice first (one C pass when the accelerator is
built), loads it with ``orjson`` when the validator found nothing it gets wrong, and
with ``ujson`` otherwise or when ``orjson`` refuses it.  Either way the result equals
``json.loads`` of the slice, or :class:`NotFast` is raised and the caller falls back to
the exact token-by-token parser (which then reports the precise error).
"""

from __future__ import annotations

import re
from typing import Any

import ujson

from .accelerator import orjson_loads as _orjson_loads
from .accelerator import speedups

__all__ = ["NotFast", "container_spine", "scan_members", "scan_value_end", "strict_loads"]


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


def scan_value_end(text: str, pos: int, limit: int, cap: int) -> int:
    """End (exclusive) of the value starting at ``text[pos]`` within ``text[:limit]``.

    -1 when it does not end there, -2 when it is a container nesting more than ``cap``
    levels (itself included).  Only boundaries are found here; validity is the loader's
    job.  A number or literal is complete only when a character follows it.
    """
    c = text[pos]
    if c in _OPEN:
        if cap < 1:
            return -2
        m = _SHALLOW_CONTAINER.match(text, pos, limit)
        if m is not None and cap >= 4:
            return m.end()
        depth = 1
        p = pos + 1
        match = _NEXT_BRACKET.match
        while True:
            m = match(text, p, limit)
            if m is None:
                return -1
            p = m.end()
            if m.group(1) in _OPEN:
                depth += 1
                if depth > cap:
                    return -2
            else:
                depth -= 1
                if depth == 0:
                    return p
    if c == '"':
        m = _STRING.match(text, pos, limit)
        return -1 if m is None else m.end()
    m = _SCALAR.match(text, pos, limit)
    if m is None:
        return -1
    e = m.end()
    return e if e < limit else -1


def container_spine(text: str, pos: int, cap: int) -> tuple[list[int], int]:
    """The containers still open at the end of ``text`` among the container at ``pos``
    and those nested in it: their positions, outermost first.  Also the position of the
    first opening bracket more than ``cap`` levels deep (-1: none); the walk stops there.
    """
    spine = [pos]
    if cap < 1:
        return spine, pos
    p = pos + 1
    match = _NEXT_BRACKET.match
    while True:
        m = match(text, p)
        if m is None:
            return spine, -1
        p = m.end()
        if m.group(1) in _OPEN:
            if len(spine) >= cap:
                return spine, p - 1
            spine.append(p - 1)
        else:
            spine.pop()
            if not spine:  # it closed after all (the caller's limit was short)
                return spine, -1


def scan_members(
    text: str, pos: int, in_object: bool, limit: int, cap: int
) -> tuple[int, bool, int]:
    """Find the longest run of complete members of an open container, from ``pos``.

    ``pos`` is where a member may start (after ``[``, ``{`` or a comma); nothing at or
    after ``limit`` is looked at; a member container may nest ``cap`` levels.  Returns
    ``(end, closed, open_at)``: ``text[pos:end]`` holds whole members and ``text[end]`` is
    the comma after the last of them, or the closing bracket when ``closed``; ``end`` is
    -1 when not even one member is complete.  ``open_at`` is the position of a member
    container that does not end before ``limit`` (or nests too deep), else -1.
    """
    n = limit
    close = "}" if in_object else "]"
    last = -1
    p = pos
    while True:
        if not in_object:
            p = _SCALAR_RUN.match(text, p, n).end()
            if p > pos:
                last = p - 1
        p = _WS.match(text, p, n).end()
        if p >= n:
            break
        if in_object:
            if text[p] != '"':
                break
            m = _STRING.match(text, p, n)
            if m is None:
                break
            p = _WS.match(text, m.end(), n).end()
            if p >= n or text[p] != ":":
                break
            p = _WS.match(text, p + 1, n).end()
            if p >= n:
                break
        e = scan_value_end(text, p, n, cap)
        if e < 0:
            return last, False, p if text[p] in _OPEN else -1
        p = _WS.match(text, e, n).end()
        if p >= n:
            break
        c = text[p]
        if c == ",":
            last = p
            p += 1
            continue
        if c == close:
            return p, True, -1
        break
    return last, False, -1


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
    """``json.loads(text)`` at C speed (``orjson`` or ``ujson``), or :class:`NotFast`.

    Raises :class:`NotFast` when the text is not strictly valid JSON, nests deeper than
    ``max_depth`` containers, or holds a digit run longer than ``max_number_length``.
    """
    if _validate is not None:
        verdict = _validate(text, max_depth, max_number_length)
        if not verdict:
            raise NotFast("not strict JSON")
        if verdict == 1 and _orjson_loads is not None:  # 2: an integer past 18 digits
            try:
                return _orjson_loads(text)
            except Exception:  # an overflow to inf, a lone surrogate: ujson is exact there
                pass
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

# The scanners above in C (``_scan.h``): the same results at C speed.
py_scan_value_end, py_container_spine, py_scan_members = (
    scan_value_end,
    container_spine,
    scan_members,
)
if speedups is not None:
    scan_value_end = speedups.scan_value_end
    container_spine = speedups.container_spine
    scan_members = speedups.scan_members


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
