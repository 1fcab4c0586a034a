"""A parser's schema state, apart from its scanning state.

:class:`SchemaTracker` holds everything a schema adds to one parse: the type checks and
coercions of completed values with their warnings, unknown keys, the skeleton shown before
the first byte, and which paths have started and completed (for ``field_states()``).  The
parser calls it at fixed points (a value completes, a key ends, a container opens, a feed
ends, the input ends) and knows nothing else of schemas; without a schema there is no
tracker at all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .events import DocumentCompleted, Event, Path, ValueCompleted, ValueStarted
from .result import format_path

if TYPE_CHECKING:  # (the schema module loads on first use)
    from .schema import CompiledSchema

__all__ = ["SchemaTracker"]


class SchemaTracker:
    """The schema side of one parse (see the module docstring)."""

    __slots__ = (
        "_skeleton",
        "coerce",
        "completed",
        "drop_unknown",
        "many",
        "schema",
        "seen",
        "started",
        "validate",
        "warnings",
    )

    def __init__(
        self,
        schema: CompiledSchema,
        *,
        coerce: bool,
        drop_unknown: bool,
        validate: bool,
        many: bool = False,
    ) -> None:
        self.schema = schema
        self.many = many  # the parser takes multiple values
        self.coerce = coerce
        self.drop_unknown = drop_unknown
        self.validate = validate
        self.started: set[Path] = set()
        self.completed: set[Path] = set()
        # events that started or completed a value, not yet noted (emptied, never rebound:
        # the C backend keeps this list)
        self.seen: list[Event] = []
        self.warnings: list[Any] = []
        self._skeleton: Any = None

    def fresh(self) -> SchemaTracker:
        """A tracker of the same schema and settings with nothing tracked yet (the
        skeleton, which is only ever copied out, is shared)."""
        new = object.__new__(SchemaTracker)
        new.schema, new.coerce, new.drop_unknown, new.validate, new.many = (
            self.schema, self.coerce, self.drop_unknown, self.validate, self.many,
        )  # fmt: skip
        new.started, new.completed, new.seen, new.warnings = set(), set(), [], []
        new._skeleton = self._skeleton
        return new

    # -- values ------------------------------------------------------------------------

    def check(self, path: Path, value: Any, deep: bool) -> Any:
        """A value completed at ``path``: checked, and coerced when asked."""
        value, warns = self.schema.check(path, value, self.coerce, deep=deep)
        if warns:
            self.warnings.extend(warns)
        return value

    def whole(self, path: Path, value: Any) -> Any:
        """A value loaded in one step: missing declared keys filled in, then checked."""
        return self.check(path, self.schema.fill(path, value), True)

    def members(self, prefix: Path, loaded: Any, in_object: bool, base: int) -> Any:
        """A run of members of the container at ``prefix`` loaded in one step."""
        if in_object:
            out = {}
            for k, v in loaded.items():
                self.key(prefix, k)
                out[k] = self.whole((*prefix, k), v)
            return out
        return [self.whole((*prefix, base + i), v) for i, v in enumerate(loaded)]

    def key(self, prefix: Path, key: str) -> None:
        """A key of the object at ``prefix`` ended: warn if the schema does not declare it."""
        if not self.schema.is_known_key(prefix, key):
            from .schema import SchemaWarning

            path = (*prefix, key)
            self.warnings.append(
                SchemaWarning(path, "unknown_key", f"key {key!r} is not declared by the schema")
            )

    def skeleton(self) -> Any:
        """What to show before a value starts (built once)."""
        if self._skeleton is None:
            self._skeleton = self.schema.skeleton()
        return self._skeleton

    def finish(self, value: Any) -> tuple[Any, Any]:
        """The final value (unknown keys dropped if asked) and the validated model."""
        model = None
        if self.drop_unknown and value is not None:
            value = self._without_unknown_keys((), value)
        if self.validate and value is not None:
            model, warns = self.schema.validate(value)
            self.warnings.extend(warns)
        return value, model

    def _without_unknown_keys(self, path: Path, value: Any) -> Any:
        if value.__class__ is dict:
            known = self.schema.is_known_key
            return {
                k: self._without_unknown_keys((*path, k), v)
                for k, v in value.items()
                if known(path, k)
            }
        if value.__class__ is list:
            return [self._without_unknown_keys((*path, i), v) for i, v in enumerate(value)]
        return value

    # -- field states ------------------------------------------------------------------

    def track(self, events: list[Event] | tuple[Event, ...]) -> None:
        """Keep the events that start or complete a value, for :meth:`field_states`.

        Their paths go into the ``started`` and ``completed`` sets when something reads
        them (:meth:`note`), not per feed: most parses never ask, and adding every path
        of a document to a set costs a sixth of parsing it with a schema.  With multiple
        values a document's completion notes them too, so a stream of many documents holds
        one document's events at most.
        """
        seen = self.seen
        for ev in events:
            cls = ev.__class__
            if cls is ValueStarted or cls is ValueCompleted:
                seen.append(ev)
            elif cls is DocumentCompleted and self.many:
                self.note()

    def note(self) -> None:
        """Put the paths of the events kept by :meth:`track` into the sets."""
        started, completed = self.started, self.completed
        for ev in self.seen:
            (started if ev.__class__ is ValueStarted else completed).add(ev[0])
        self.seen.clear()

    def field_states(self, value: Any) -> dict[str, str]:
        """Every declared path of ``value`` -> ``"pending"``, ``"partial"`` or
        ``"complete"`` (a path inside a completed value is complete)."""
        self.note()
        return {format_path(p): self._state_of(p) for p in self.schema.declared_paths(value)}

    def _state_of(self, path: Path) -> str:
        completed = self.completed
        for k in range(len(path), -1, -1):
            if path[:k] in completed:
                return "complete"
        if path in self.started:
            return "partial"
        return "pending"

    # -- a value in prose that a fenced one may replace (extraction) --------------------

    def save(self) -> tuple[Any, ...]:
        """The state to restore if a candidate that would replace the document fails;
        the tracker starts afresh for the candidate."""
        self.note()
        saved = (self.started, self.completed, self.warnings)
        self.started, self.completed, self.warnings = set(), set(), []
        return saved

    def restore(self, saved: tuple[Any, ...]) -> None:
        self.seen.clear()  # (the failed candidate's)
        self.started, self.completed, self.warnings = saved
