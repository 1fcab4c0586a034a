"""Events the parser emits: small immutable classes, in the style of h11.

A path is a tuple of object keys (``str``) and array indices (``int``) from the top-level
value down; ``()`` is the top-level value itself.  Applying the events of every ``feed``
in order to an empty document rebuilds exactly what :meth:`snapshot` shows (with
``partial_strings=True``), so a UI can follow a stream in O(change).

An event has two fields, read by name (``ev.path``, ``ev.value``), by position
(``ev[0]``, ``path, value = ev``) or by pattern (``case ValueCompleted(path, value)``).
Events are equal when they are of the same class with equal fields, hash and pickle
by their fields, and cannot be changed or subclassed.  They are not tuples.

The classes below are the pure-Python reference.  With the C accelerator loaded, this
module exports its classes instead: the same interface, and an event's path is built
only when it is first read (most events of a large value loaded at once never are).
:data:`PURE_CLASSES` keeps the reference classes (the tests hold the two side by side).
"""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING, Any, ClassVar, Union

from ._native import native

__all__ = [
    "DocumentCompleted",
    "Event",
    "Path",
    "StringGrew",
    "ValueCompleted",
    "ValueStarted",
]

Path = tuple[str | int, ...]

_set = object.__setattr__


class _Event:
    """Two named fields, immutable; equality, hash, pickling and unpacking by them."""

    __slots__ = ()
    _fields: ClassVar[tuple[str, str]]
    _code: ClassVar[int]  # (in the hash: 0-3, as the C classes hash)

    def _pair(self) -> tuple[Any, Any]:
        a, b = self._fields
        return getattr(self, a), getattr(self, b)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if _Event not in cls.__bases__:
            raise TypeError(f"{cls.__bases__[0].__name__} cannot be subclassed")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{self.__class__.__name__} is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{self.__class__.__name__} is immutable")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._pair() == other._pair()  # type: ignore[attr-defined]

    def __ne__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._pair() != other._pair()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((self._code, *self._pair()))

    def __repr__(self) -> str:
        (a, b), (x, y) = self._fields, self._pair()
        return f"{self.__class__.__name__}({a}={x!r}, {b}={y!r})"

    def __reduce__(self) -> tuple[type, tuple[Any, Any]]:
        return self.__class__, self._pair()

    def __len__(self) -> int:
        return 2

    def __getitem__(self, i: int) -> Any:
        i = operator.index(i)
        if not -2 <= i < 2:
            raise IndexError("event index out of range")
        return self._pair()[i]

    def __iter__(self) -> Any:
        return iter(self._pair())


class ValueStarted(_Event):
    """An object, array or string (a value that can be seen growing) began at ``path``.

    ``kind`` is ``"object"``, ``"array"`` or ``"string"``.  The top-level value and each
    of its members get exactly one, before their :class:`ValueCompleted`, whatever the
    chunking (even when the value arrived whole).  Deeper down, an object or array is
    announced when the token path opens it and a string when a feed ends inside it; a
    deeper value that arrives whole may be reported by :class:`ValueCompleted` alone.
    Numbers, ``true``, ``false`` and ``null`` are never announced: they appear whole.
    """

    __slots__ = ("kind", "path")
    _code = 0
    _fields = __match_args__ = ("path", "kind")
    path: Path
    kind: str

    def __init__(self, path: Path, kind: str) -> None:
        _set(self, "path", path)
        _set(self, "kind", kind)


class StringGrew(_Event):
    """The open string at ``path`` grew by ``text`` (only the new, decoded text)."""

    __slots__ = ("path", "text")
    _code = 1
    _fields = __match_args__ = ("path", "text")
    path: Path
    text: str

    def __init__(self, path: Path, text: str) -> None:
        _set(self, "path", path)
        _set(self, "text", text)


class ValueCompleted(_Event):
    """The value at ``path`` is complete; ``value`` is final and will not change.

    Children of a value that arrived whole in one step are not reported separately.
    """

    __slots__ = ("path", "value")
    _code = 2
    _fields = __match_args__ = ("path", "value")
    path: Path
    value: Any

    def __init__(self, path: Path, value: Any) -> None:
        _set(self, "path", path)
        _set(self, "value", value)


class DocumentCompleted(_Event):
    """A top-level value is complete.  ``index`` counts documents from 0."""

    __slots__ = ("index", "value")
    _code = 3
    _fields = __match_args__ = ("index", "value")
    index: int
    value: Any

    def __init__(self, index: int, value: Any) -> None:
        _set(self, "index", index)
        _set(self, "value", value)


#: The pure-Python event classes, whichever classes this module exports.
PURE_CLASSES: tuple[type, ...] = (ValueStarted, StringGrew, ValueCompleted, DocumentCompleted)

if native is not None and not TYPE_CHECKING:  # the C classes, of the same interface
    ValueStarted = native.ValueStarted
    StringGrew = native.StringGrew
    ValueCompleted = native.ValueCompleted
    DocumentCompleted = native.DocumentCompleted

Event = Union[ValueStarted, StringGrew, ValueCompleted, DocumentCompleted]  # noqa: UP007
