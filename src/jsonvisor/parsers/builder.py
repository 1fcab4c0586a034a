"""Rebuild a partial value from events alone: what a UI on the far side of a wire does."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .events import DocumentCompleted, Event, Path, StringGrew, ValueCompleted, ValueStarted

__all__ = ["ValueBuilder"]


class ValueBuilder:
    """Apply a stream's events in order; :attr:`value` is then what ``snapshot()`` showed.

    Work is proportional to the events (a string grows by appending), so a client can follow
    a stream in O(change).  With ``multiple_values`` streams, :attr:`documents` collects
    each completed top-level value.
    """

    __slots__ = ("documents", "value")

    def __init__(self) -> None:
        self.value: Any = None
        self.documents: list[Any] = []

    def apply(self, events: Iterable[Event]) -> Any:
        """Apply ``events``; return the value so far."""
        for ev in events:
            cls = ev.__class__
            if cls is StringGrew:
                assert isinstance(ev, StringGrew)
                parent, last = self._parent(ev.path)
                if parent is None:
                    self.value += ev.text
                else:
                    parent[last] += ev.text
            elif cls is ValueCompleted:
                assert isinstance(ev, ValueCompleted)
                self._set(ev.path, ev.value)
            elif cls is ValueStarted:
                assert isinstance(ev, ValueStarted)
                self._set(ev.path, {"object": {}, "array": [], "string": ""}[ev.kind])
            elif cls is DocumentCompleted:
                assert isinstance(ev, DocumentCompleted)
                self.documents.append(ev.value)
        return self.value

    def _parent(self, path: Path) -> tuple[Any, Any]:
        if not path:
            return None, None
        node = self.value
        for part in path[:-1]:
            node = node[part]
        return node, path[-1]

    def _set(self, path: Path, value: Any) -> None:
        parent, last = self._parent(path)
        if parent is None:
            self.value = value
        elif isinstance(parent, list) and last == len(parent):
            parent.append(value)
        else:
            parent[last] = value
