"""Events the parser emits: small immutable classes, in the style of h11.

A path is a tuple of object keys (``str``) and array indices (``int``) from the top-level
value down; ``()`` is the top-level value itself.  Applying the events of every ``feed``
in order to an empty document rebuilds exactly what :meth:`snapshot` shows (with
``partial_strings=True``), so a UI can follow a stream in O(change).
"""

from __future__ import annotations

from typing import Any, NamedTuple, Union

__all__ = [
    "DocumentCompleted",
    "Event",
    "Path",
    "StringGrew",
    "ValueCompleted",
    "ValueStarted",
]

Path = tuple[str | int, ...]


class ValueStarted(NamedTuple):
    """An object, array or string (a value that can be seen growing) began at ``path``.

    ``kind`` is ``"object"``, ``"array"`` or ``"string"``.  The top-level value and each
    of its members get exactly one, before their :class:`ValueCompleted`, whatever the
    chunking (even when the value arrived whole).  Deeper down, an object or array is
    announced when the token path opens it and a string when a feed ends inside it; a
    deeper value that arrives whole may be reported by :class:`ValueCompleted` alone.
    Numbers, ``true``, ``false`` and ``null`` are never announced: they appear whole.
    """

    path: Path
    kind: str


class StringGrew(NamedTuple):
    """The open string at ``path`` grew by ``text`` (only the new, decoded text)."""

    path: Path
    text: str


class ValueCompleted(NamedTuple):
    """The value at ``path`` is complete; ``value`` is final and will not change.

    Children of a value that arrived whole in one step are not reported separately.
    """

    path: Path
    value: Any


class DocumentCompleted(NamedTuple):
    """A top-level value is complete.  ``index`` counts documents from 0."""

    index: int
    value: Any


Event = Union[ValueStarted, StringGrew, ValueCompleted, DocumentCompleted]  # noqa: UP007
