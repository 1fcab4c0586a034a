"""Field watchers: the values at declared paths, each delivered exactly once as it completes.

Sans-IO, like the parser: a :class:`Watcher` reads the events of one parser (one message)
and returns what it found.

>>> from jsonvisor.parsers import StreamingJsonParser
>>> p, w = StreamingJsonParser(), Watcher(["$.summary", "$.steps[*].title"])
>>> for chunk in ['{"summary": "Two st', 'eps", "steps": [{"title": "a"}, {"ti', 'tle": "b"}]}']:
...     for found in w.feed(p.feed(chunk)):
...         print(found.pattern, found.path, found.value)
$.summary ('summary',) Two steps
$.steps[*].title ('steps', 0, 'title') a
$.steps[*].title ('steps', 1, 'title') b
>>> w.finish(p.finish())
[]

**Exactly once, whatever the chunking.**  The parser reports the root and its members one
by one, but a deeper value may be reported only inside the completion of an ancestor that
arrived whole (see the event contract in :mod:`jsonvisor.parsers.streaming`).  So when any
value completes, the watcher looks inside it for matches it has not delivered yet; each
``(pattern, path)`` is delivered once per document.  An array's items come one by one, as
each closes (or together, when they arrived together).  With ``multiple_values=True`` each
document is watched afresh (:attr:`WatchedValue.document` counts them); in LLM mode a fenced
value that replaces one found in prose is a new document too.

**Strings as they grow.**  With ``text=True``, a watched string also comes as
:class:`WatchedText` pieces before its :class:`WatchedValue`; the pieces of one string,
joined, are exactly its final value (a string that arrived whole comes as one piece).

**Typed values.**  Given a schema (a pydantic model, a dataclass, a TypedDict or a JSON
Schema; :meth:`Watcher.for_parser` takes the parser's), each value is also converted to the
type the schema declares at its path: :attr:`WatchedValue.model` is then a model or
dataclass instance (an Enum member, a tuple...; plain JSON where the schema declares plain
JSON), or ``None`` with :attr:`WatchedValue.errors` when it does not validate.

**The end.**  Pass the parser's :class:`~jsonvisor.parsers.ParseResult` to
:meth:`Watcher.finish`: values that the end of input completes are delivered then, and
those that a repair closed off or cut (an open string, a dropped key...) come with
``complete=False``.
"""

from __future__ import annotations

import collections.abc
import sys
import types
import typing
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Union

from .parsers import (
    DocumentCompleted,
    Event,
    ParseResult,
    Path,
    StringGrew,
    ValueCompleted,
)
from .paths import Pattern, expand, may_lead_to, parse_path

__all__ = ["Watched", "WatchedText", "WatchedValue", "Watcher"]


@dataclass(frozen=True, slots=True)
class WatchedValue:
    """A watched value, complete.

    ``pattern`` is the declared path it matched (as written, e.g. ``"$.items[*]"``),
    ``path`` where it is (``("items", 2)``), ``value`` the JSON value.  ``model`` is the
    value as the schema's type (``None`` without a schema, or when it does not validate:
    ``errors`` then holds the :class:`~jsonvisor.parsers.schema.SchemaWarning` s).
    ``complete`` is false for a value the end of a cut stream closed off (see
    :meth:`Watcher.finish`).  ``document`` counts the top-level values before this one.
    """

    pattern: str
    path: Path
    value: Any
    model: Any = None
    complete: bool = True
    errors: tuple[Any, ...] = ()
    document: int = 0


@dataclass(frozen=True, slots=True)
class WatchedText:
    """New text of a watched string still being written (only with ``text=True``)."""

    pattern: str
    path: Path
    text: str
    document: int = 0


Watched = Union[WatchedValue, WatchedText]  # noqa: UP007
"""What a :class:`Watcher` delivers."""

_SKIPPED_REPAIRS = frozenset({"stripped_fence", "no_value"})


class Watcher:
    """Watch the values at ``paths`` in the events of one parser.

    Args:
        paths: one pattern or several (see :mod:`jsonvisor.paths`): ``"$.summary"``,
            ``"$.items[*]"``, ``"$.steps[*].title"``.  A value that two patterns match is
            delivered once for each.
        schema: a schema to type the values with (anything ``StreamingJsonParser(schema=)``
            takes); usually the parser's, as :meth:`for_parser` does.
        text: also deliver :class:`WatchedText` as watched strings grow.

    :meth:`feed` takes the events of each ``parser.feed()``; :meth:`finish` the parser's
    ``ParseResult``.  Both return the new :class:`WatchedValue` / :class:`WatchedText`, in
    document order.  One watcher follows one parser; :meth:`fresh` makes another with the
    same settings (for the next message).  Raises :class:`ValueError` for a malformed path.
    """

    __slots__ = (
        "_docs",
        "_done",
        "_ended",
        "_longest",
        "_names",
        "_patterns",
        "_shown",
        "_text",
        "_typer",
    )

    def __init__(
        self, paths: str | Iterable[str], *, schema: Any = None, text: bool = False
    ) -> None:
        names = [paths] if isinstance(paths, str) else list(paths)
        if not names:
            raise ValueError("Watcher needs at least one path, like '$.items[*]'")
        for name in names:
            if not isinstance(name, str):
                raise TypeError(f"a watched path is a str like '$.items[*]', not {name!r}")
        self._patterns: tuple[Pattern, ...] = tuple(parse_path(n) for n in names)
        self._names = tuple(n.strip() for n in names)
        self._longest = max(len(p) for p in self._patterns)
        self._text = bool(text)
        self._typer = None if schema is None else _Typer(schema)
        self._reset()

    def _reset(self) -> None:
        self._docs = 0  # documents completed
        self._done: set[tuple[int, Path]] = set()  # (pattern index, path) delivered
        self._shown: dict[tuple[int, Path], int] = {}  # open watched strings -> chars given
        self._ended = False

    @classmethod
    def for_parser(
        cls, parser: Any, paths: str | Iterable[str], *, text: bool = False
    ) -> Watcher:
        """A watcher for ``parser``'s events, typed by the parser's schema if it has one."""
        options = getattr(parser, "options", None)
        return cls(paths, schema=getattr(options, "schema", None), text=text)

    def fresh(self) -> Watcher:
        """A new watcher with the same paths, schema and ``text`` setting, and no state."""
        new = Watcher.__new__(Watcher)
        new._patterns, new._names, new._longest = self._patterns, self._names, self._longest
        new._text, new._typer = self._text, self._typer
        new._reset()
        return new

    @property
    def paths(self) -> tuple[str, ...]:
        """The watched paths, as given."""
        return self._names

    @property
    def patterns(self) -> tuple[Pattern, ...]:
        """The watched paths, parsed (see :func:`jsonvisor.paths.parse_path`)."""
        return self._patterns

    @property
    def delivered(self) -> int:
        """How many values have been delivered in the current document."""
        return len(self._done)

    def feed(self, events: Iterable[Event]) -> list[Watched]:
        """Handle the events of one ``parser.feed()``; return what completed (and, with
        ``text=True``, what grew)."""
        if self._ended:
            raise RuntimeError("Watcher.feed() after finish(); use fresh() for a new parser")
        out: list[Watched] = []
        self._handle(events, out, None)
        return out

    def finish(self, result: ParseResult) -> list[Watched]:
        """Handle the end of input: ``result`` is what ``parser.finish()`` returned.

        Values completed by the end of input are delivered now; one that a repair touched
        (the stream was cut inside it) has ``complete=False``.  Calling it again returns
        ``[]``.
        """
        if self._ended:
            return []
        self._ended = True
        cut = tuple(r.path for r in result.repairs if r.kind not in _SKIPPED_REPAIRS)
        out: list[Watched] = []
        self._handle(result.events, out, cut)
        return out

    # -- internals ---------------------------------------------------------------------

    def _handle(
        self, events: Iterable[Event], out: list[Watched], cut: tuple[Path, ...] | None
    ) -> None:
        for ev in events:
            cls = ev.__class__
            if cls is ValueCompleted:
                if len(ev.path) <= self._longest:
                    self._completed(ev.path, ev.value, out, cut)
            elif cls is StringGrew:
                if self._text and len(ev.path) <= self._longest:
                    self._grew(ev.path, ev.text, out)
            elif cls is DocumentCompleted:
                self._completed((), ev.value, out, cut)  # (the root's ValueCompleted came)
                self._docs += 1
                self._done.clear()
                self._shown.clear()

    def _grew(self, path: Path, text: str, out: list[Watched]) -> None:
        n = len(path)
        for i, pattern in enumerate(self._patterns):
            if len(pattern) != n or not may_lead_to(pattern, path):
                continue
            key = (i, path)
            if key in self._done:
                continue
            self._shown[key] = self._shown.get(key, 0) + len(text)
            out.append(WatchedText(self._names[i], path, text, self._docs))

    def _completed(
        self, path: Path, value: Any, out: list[Watched], cut: tuple[Path, ...] | None
    ) -> None:
        done = self._done
        for i, pattern in enumerate(self._patterns):
            if not may_lead_to(pattern, path):
                continue
            for match, v in expand(value, pattern[len(path) :], path):
                key = (i, match)
                if key in done:
                    continue
                done.add(key)
                name = self._names[i]
                if self._text and v.__class__ is str:
                    rest = v[self._shown.pop(key, 0) :]
                    if rest:
                        out.append(WatchedText(name, match, rest, self._docs))
                complete = cut is None or not any(r[: len(match)] == match for r in cut)
                model: Any = None
                errors: tuple[Any, ...] = ()
                if self._typer is not None:
                    model, errors = self._typer(match, v)
                out.append(WatchedValue(name, match, v, model, complete, errors, self._docs))

    def __repr__(self) -> str:
        return f"Watcher({list(self._names)!r}, text={self._text})"


# -- typing values with the schema ---------------------------------------------------------

_MISSING: Any = object()
_SEQUENCES = (
    list,
    set,
    frozenset,
    collections.abc.Sequence,
    collections.abc.MutableSequence,
    collections.abc.Set,
    collections.abc.MutableSet,
    collections.abc.Iterable,
    collections.abc.Collection,
)
_MAPPINGS = (dict, collections.abc.Mapping, collections.abc.MutableMapping)


def _pydantic_model(tp: object) -> bool:
    mod = sys.modules.get("pydantic")
    base = getattr(mod, "BaseModel", None) if mod is not None else None
    return base is not None and isinstance(tp, type) and issubclass(tp, base) and tp is not base


def _unwrap(tp: Any) -> Any:
    """``tp`` without ``Annotated`` and ``Optional`` (``_MISSING`` for a wider union)."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin is Union or origin is types.UnionType:
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return _MISSING
            tp = args[0]
        else:
            return tp


def _annotation_at(model: Any, path: Path) -> Any:
    """The type hint a pydantic ``model`` declares at ``path`` (``_MISSING`` if none)."""
    tp = model
    for part in path:
        tp = _unwrap(tp)
        if tp is _MISSING:
            return _MISSING
        if _pydantic_model(tp):
            if not isinstance(part, str):
                return _MISSING
            fields = tp.model_fields
            info = fields.get(part)
            if info is None:
                info = next((f for f in fields.values() if part in (f.alias, f.validation_alias)),
                            None)  # fmt: skip
            if info is None:
                return _MISSING
            tp = info.annotation
            if info.metadata:
                tp = typing.Annotated[(tp, *info.metadata)]
            continue
        origin, args = typing.get_origin(tp), typing.get_args(tp)
        if isinstance(part, int):
            if origin is tuple:
                if len(args) == 2 and args[1] is Ellipsis:
                    tp = args[0]
                elif part < len(args):
                    tp = args[part]
                else:
                    return _MISSING
            elif origin in _SEQUENCES and args:
                tp = args[0]
            else:
                return _MISSING
        elif origin in _MAPPINGS and len(args) == 2:
            tp = args[1]
        else:
            return _MISSING
    return tp


class _Typer:
    """Converts a completed value to the type its schema declares at its path:
    ``typer(path, value) -> (model or None, errors)``."""

    def __init__(self, schema: Any) -> None:
        from .parsers.schema import compile_schema

        self.schema = compile_schema(schema)
        source = self.schema.source
        self.model = source if _pydantic_model(source) else None
        self._adapters: dict[Any, Any] = {}

    def __call__(self, path: Path, value: Any) -> tuple[Any, tuple[Any, ...]]:
        schema = self.schema
        node = schema.node(path)
        if node is None:  # the schema says nothing about this path
            return None, ()
        stripped = schema._strip(node, value)  # skeleton placeholders out, defaults apply
        if self.model is not None:
            tp = _annotation_at(self.model, path)
            if tp is not _MISSING:
                return self._validate(tp, path, stripped)
        warnings: list[Any] = []
        built = schema._build(node, stripped, path, warnings, True)
        return (None, tuple(warnings)) if warnings else (built, ())

    def _validate(self, tp: Any, path: Path, value: Any) -> tuple[Any, tuple[Any, ...]]:
        import pydantic

        from .parsers.schema import SchemaWarning

        try:
            adapter = self._adapters.get(tp)
        except TypeError:  # an unhashable hint
            adapter = None
        if adapter is None:
            adapter = pydantic.TypeAdapter(tp)
            try:
                if len(self._adapters) < 256:
                    self._adapters[tp] = adapter
            except TypeError:
                pass
        try:
            return adapter.validate_python(value), ()
        except pydantic.ValidationError as exc:
            return None, tuple(
                SchemaWarning(
                    (*path, *err.get("loc", ())),
                    "validation",
                    f"{err.get('msg')} [{err.get('type')}]",
                )
                for err in exc.errors()
            )

