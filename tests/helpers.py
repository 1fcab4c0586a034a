"""Shared test helpers: splitting, replaying events, comparing values exactly."""

from __future__ import annotations

import copy
import math
from typing import Any

from jsonvisor.parsers import (
    DocumentCompleted,
    Event,
    StringGrew,
    ValueCompleted,
    ValueStarted,
)


def split_at(data: Any, cuts: list[int]) -> list[Any]:
    """Split ``data`` at the given (unsorted, possibly repeated) positions."""
    points = sorted({c for c in cuts if 0 < c < len(data)})
    out = []
    prev = 0
    for p in [*points, len(data)]:
        out.append(data[prev:p])
        prev = p
    return out


def same(a: Any, b: Any) -> bool:
    """Equality that also tells 1 from 1.0 and True from 1, and treats NaN as equal."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=False))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    return a == b


class Replay:
    """Rebuild the partial document from events alone."""

    def __init__(self) -> None:
        self.root: Any = None

    def _set(self, path: tuple[Any, ...], value: Any) -> None:
        if not path:
            self.root = value
            return
        parent = self.root
        for part in path[:-1]:
            parent = parent[part]
        last = path[-1]
        if isinstance(parent, list) and last == len(parent):
            parent.append(value)
        else:
            parent[last] = value

    def _get(self, path: tuple[Any, ...]) -> Any:
        node = self.root
        for part in path:
            node = node[part]
        return node

    def apply(self, events: list[Event]) -> None:
        for ev in events:
            if isinstance(ev, ValueStarted):
                self._set(ev.path, {"object": {}, "array": [], "string": ""}[ev.kind])
            elif isinstance(ev, StringGrew):
                self._set(ev.path, self._get(ev.path) + ev.text)
            elif isinstance(ev, ValueCompleted):
                self._set(ev.path, copy.deepcopy(ev.value))
            else:
                assert isinstance(ev, DocumentCompleted)


def is_extension(old: Any, new: Any) -> bool:
    """True when ``new`` only grows strings and adds members relative to ``old``."""
    if old is None:
        return True
    if isinstance(old, str) and isinstance(new, str):
        return new.startswith(old)
    if isinstance(old, dict) and isinstance(new, dict):
        keys = list(new)
        return keys[: len(old)] == list(old) and all(is_extension(old[k], new[k]) for k in old)
    if isinstance(old, list) and isinstance(new, list):
        return len(new) >= len(old) and all(
            is_extension(o, n) for o, n in zip(old, new, strict=False)
        )
    return same(old, new)
