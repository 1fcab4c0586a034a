"""``parse --follow PATH``: print one value (or each match of a wildcard) as it grows.

The path is the JSONPath subset of :mod:`jsonvisor.paths`: ``$``, ``.key``,
``["any key"]``, ``[3]``, and the wildcards ``[*]`` and ``.*`` (any member or item).
Matches are found from the parser's events alone (see the contract at the top of
:mod:`jsonvisor.parsers.streaming`): ``StringGrew`` at a match streams its text;
``ValueCompleted`` at a match, or at an ancestor that arrived whole, completes it.
(:class:`jsonvisor.Watcher` is the library's form of the same matching.)
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any

from ..parsers import DocumentCompleted, Event, Path, StringGrew, ValueCompleted
from ..paths import WILD, Pattern, expand, may_lead_to, parse_path
from .records import Writer

__all__ = ["WILD", "Follower", "parse_path"]


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
                if len(ev.path) == n and may_lead_to(pattern, ev.path):
                    self._grow(msg, ev.path, ev.text)
            elif cls is ValueCompleted:
                if may_lead_to(pattern, ev.path):
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
        for match, v in expand(value, self.pattern[len(path) :], path):
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
