"""``parse --follow PATH``: print one value (or each match of a wildcard) as it grows.

The path is the subset of JSONPath the parser's repairs print (:func:`format_path`):
``$``, ``.key``, ``["any key"]``, ``[3]``, and the wildcards ``[*]`` and ``.*`` (any
member or item).  Matches are found from the parser's events alone (see the contract at
the top of :mod:`jsonvisor.parsers.streaming`): ``StringGrew`` at a match streams its
text; ``ValueCompleted`` at a match, or at an ancestor that arrived whole, completes it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Hashable, Iterable, Iterator
from typing import Any

from ..parsers import DocumentCompleted, Event, Path, StringGrew, ValueCompleted
from .records import Writer

__all__ = ["WILD", "Follower", "parse_path"]


class _Wild:
    """Matches any key or index."""

    def __repr__(self) -> str:
        return "*"


WILD = _Wild()
Pattern = tuple[Any, ...]  # str keys, int indices, WILD

_TOKEN = re.compile(
    r"""\.(?P<name>[^.\[\]\s*]+)|\.\*|\[\*\]|\[(?P<index>\d+)\]
    |\[(?P<dq>"(?:[^"\\]|\\.)*")\]|\['(?P<sq>(?:[^'\\]|\\.)*)'\]""",
    re.VERBOSE,
)
_EXAMPLES = "write it like $.a.b, $.items[*] or $.items[0].title"


def parse_path(text: str) -> Pattern:
    """``"$.items[*].title"`` -> ``("items", WILD, "title")``; ValueError if malformed."""
    s = text.strip()
    if not s.startswith("$"):
        s = "$" + (s if s[:1] in (".", "[") else "." + s)
    parts: list[Any] = []
    pos = 1
    while pos < len(s):
        m = _TOKEN.match(s, pos)
        if m is None:
            raise ValueError(f"bad path {text!r} at {s[pos:]!r}: {_EXAMPLES}")
        if m.group("name") is not None:
            parts.append(m.group("name"))
        elif m.group("index") is not None:
            parts.append(int(m.group("index")))
        elif m.group("dq") is not None:
            parts.append(json.loads(m.group("dq")))
        elif m.group("sq") is not None:
            parts.append(re.sub(r"\\(.)", r"\1", m.group("sq")))
        else:
            parts.append(WILD)
        pos = m.end()
    return tuple(parts)


def _matches(pattern: Pattern, path: Path) -> bool:
    """Whether ``path`` is a prefix of something ``pattern`` matches (or a match)."""
    if len(path) > len(pattern):
        return False
    for want, got in zip(pattern, path, strict=False):
        if want is not WILD and (want != got or isinstance(want, int) != isinstance(got, int)):
            return False
    return True


def _expand(value: Any, rest: Pattern, path: Path) -> Iterator[tuple[Path, Any]]:
    """Every ``(path, value)`` under ``value`` that the remaining pattern ``rest`` names."""
    if not rest:
        yield path, value
        return
    head, tail = rest[0], rest[1:]
    if isinstance(value, dict):
        keys: Iterable[Any] = value if head is WILD else [head] if isinstance(head, str) else []
        for k in keys:
            if k in value:
                yield from _expand(value[k], tail, (*path, k))
    elif isinstance(value, list):
        if head is WILD:
            idx: Iterable[int] = range(len(value))
        else:
            idx = [head] if isinstance(head, int) and head < len(value) else []
        for i in idx:
            yield from _expand(value[i], tail, (*path, i))


class _Printer:
    """Interleaves the followed values on stdout: one open string streams at a time;
    others are buffered and printed in turn, each value on its own line."""

    def __init__(self, writer: Writer) -> None:
        self.writer = writer
        self.active: Hashable | None = None
        self.waiting: dict[Hashable, list[str]] = {}  # open strings not on screen yet
        self.lines: list[str] = []  # finished lines waiting for the active one to end

    def grow(self, key: Hashable, text: str) -> None:
        if self.active is None and key not in self.waiting:
            self.active = key
        if key == self.active:
            self.writer.text(text)
        else:
            self.waiting.setdefault(key, []).append(text)

    def end(self, key: Hashable, rest: str) -> None:
        """The string ``key`` ends with ``rest`` (the text not given to :meth:`grow`)."""
        if key == self.active:
            self.writer.text(rest + "\n")
            self.active = None
            self._next()
        else:
            self.line("".join(self.waiting.pop(key, [])) + rest)

    def line(self, text: str) -> None:
        if self.active is None:
            self.writer.text(text + "\n")
        else:
            self.lines.append(text)

    def _next(self) -> None:
        for text in self.lines:
            self.writer.text(text + "\n")
        self.lines.clear()
        if self.waiting:
            key = next(iter(self.waiting))
            self.active = key
            self.writer.text("".join(self.waiting.pop(key)))


class Follower:
    """Feeds parser events of many messages; prints what ``pattern`` matches."""

    def __init__(self, pattern: Pattern, writer: Writer) -> None:
        self.pattern = pattern
        self.writer = writer
        self.printer = _Printer(writer)
        self.found = 0  # values matched so far
        self._docs: dict[str, int] = {}  # message -> documents completed
        self._done: dict[str, set[Path]] = {}  # message -> matches completed in this document
        self._given: dict[tuple[str, int, Path], int] = {}  # open strings -> characters shown

    def feed(self, msg: str, events: Iterable[Event]) -> None:
        """Handle the events one ``feed``/``finish`` of ``msg``'s parser returned."""
        pattern = self.pattern
        n = len(pattern)
        for ev in events:
            cls = ev.__class__
            if cls is StringGrew:
                if len(ev.path) == n and _matches(pattern, ev.path):
                    self._grow(msg, ev.path, ev.text)
            elif cls is ValueCompleted:
                if _matches(pattern, ev.path):
                    self._completed(msg, ev.path, ev.value)
            elif cls is DocumentCompleted:
                self._completed(msg, (), ev.value)
                self._docs[msg] = self._docs.get(msg, 0) + 1
                self._done.pop(msg, None)

    def document(self, msg: str, value: Any) -> None:
        """A whole document whose events were lost (the feed that completed it failed)."""
        self.feed(msg, [DocumentCompleted(self._docs.get(msg, 0), value)])

    def end_message(self, msg: str) -> None:
        """``msg`` ended: end any of its strings left open (cut by an error)."""
        for key in [k for k in self._given if k[0] == msg]:
            del self._given[key]
            self.printer.end(key, "")
        self._docs.pop(msg, None)
        self._done.pop(msg, None)

    def _key(self, msg: str, path: Path) -> tuple[str, int, Path]:
        return (msg, self._docs.get(msg, 0), path)

    def _grow(self, msg: str, path: Path, text: str) -> None:
        if path in self._done.get(msg, ()):
            return
        key = self._key(msg, path)
        if key not in self._given:
            self._given[key] = 0
            self.found += 1
        self._given[key] += len(text)
        self.printer.grow(key, text)

    def _completed(self, msg: str, path: Path, value: Any) -> None:
        done = self._done.setdefault(msg, set())
        for match, v in _expand(value, self.pattern[len(path) :], path):
            if match in done:
                continue
            done.add(match)
            key = self._key(msg, match)
            shown = self._given.pop(key, None)
            if shown is None:
                self.found += 1
            if isinstance(v, str):
                if shown is None:
                    self.printer.line(v)
                else:
                    self.printer.end(key, v[shown:])
            else:
                self.printer.line(self.writer.dumps(v))

    def close(self) -> None:
        """End of input: end every string still open."""
        for key in list(self._given):
            del self._given[key]
            self.printer.end(key, "")
