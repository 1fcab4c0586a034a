"""The parser's face: construction, state and the public API both backends share.

:class:`_ParserFace` holds what is the same for the pure-Python parser
(``streaming._Parser``) and the C one (``_speedups.Core``): the keywords and their
options, a new parser as a copy of a prototype per options, the fields every parser starts
with (``_init_state``, the state the theory of operation in :mod:`.streaming` describes,
divided by concern as it lists), and the public methods that only read that state
(:meth:`get`, :meth:`position`, :meth:`field_states`, ...), plus pickling.  ``feed``,
``snapshot`` and ``finish`` are each backend's own: the C type implements the whole
contract itself and is not a subclass of the Python engine.
"""

from __future__ import annotations

from collections import deque
from types import GetSetDescriptorType, MemberDescriptorType
from typing import Any

from ._scanner import _HELD_LITERAL, _HELD_NONE, _HELD_NUMBER, _VALUE
from .accelerator import speedups as _speedups
from .errors import JsonStreamError
from .events import Event, Path
from .extract import Candidate, Extraction
from .options import BY_KEYWORDS as _BY_KEYWORDS
from .options import KeyTransform, ParserOptions, options_for
from .result import ParseResult, format_path
from .tracking import SchemaTracker

__all__ = ["_ParserFace"]


class _ParserFace:
    """Incremental JSON parser: feed chunks split anywhere, read events and partial values.

    Args:
        multiple_values: accept a stream of top-level values (NDJSON, concatenated or
            whitespace-separated JSON); each is queued for :meth:`get`.  By default the
            input must hold exactly one value.
        partial_strings: show a string in :meth:`snapshot` while it is still being
            written (False: only once it is closed, like jiter's ``partial_mode="on"``).
        hold_numbers: hold a number or literal at the very end of the input back from
            :meth:`snapshot` until a delimiter proves it complete (no ``0`` then ``0.5``
            flicker).  False shows the best value so far.
        max_bytes: the most UTF-8 bytes one document may take (single-value mode: the
            whole input).  A circuit breaker against runaway generations.
        max_depth: the most nested arrays and objects.
        max_number_length: the most characters one number may have.
        max_key_length: the most characters one unquoted key (LLM mode) may have; such a
            key is held whole until it ends, so it is bounded like a number.
        bulk_threshold: input of at least this many characters left in a chunk is
            searched for runs of whole values to load in one C call.
        lenient: LLM mode: turn on every tolerance below (each keyword left as None
            follows it) and complete cut literals on :meth:`finish` when unambiguous.
        extract, comments, trailing_commas, single_quotes, unquoted_keys: each tolerance
            on its own; see :class:`~jsonvisor.parsers.options.Tolerances`.
        nan_infinity, python_literals, hex_numbers, control_characters, unknown_escapes:
            the same.
        key_transform: ``"camel"``, ``"snake"`` or a callable applied to every key as it
            completes.
        schema: a JSON Schema dict, a dataclass, a TypedDict, a pydantic model, or one of
            these compiled once by :func:`~jsonvisor.parsers.compile_schema` (compiling
            is cached either way): the snapshot has the full declared shape from the first
            byte, completed values are type-checked (see :meth:`field_states`).
        coerce: with a schema, change safely coercible values (``"42"`` for an integer)
            instead of only reporting them.
        unknown_keys: with a schema, ``"keep"`` keys the schema does not declare, or
            ``"drop"`` them from the final value (both report them as warnings).
        validate: with a schema, validate the final value (a pydantic model or dataclass
            instance is returned as ``ParseResult.model``).
        options: a :class:`~jsonvisor.parsers.options.ParserOptions` (``ParserOptions.of``
            with these keywords) instead of the keywords; parsers built with the same
            keywords share one anyway.

    Every problem with the input raises :class:`JsonStreamError`; after one, the parser
    raises the same error for any further input.
    """

    #: The class of the extraction state (the C backend has its own, run in place).
    _Extraction: Any = Extraction

    def __init__(
        self,
        *,
        multiple_values: bool = False,
        partial_strings: bool = True,
        hold_numbers: bool = True,
        max_bytes: int = 5 * 1024 * 1024,
        max_depth: int = 256,
        max_number_length: int = 1000,
        max_key_length: int = 1000,
        bulk_threshold: int = 256,
        lenient: bool = False,
        extract: bool | None = None,
        comments: bool | None = None,
        trailing_commas: bool | None = None,
        single_quotes: bool | None = None,
        unquoted_keys: bool | None = None,
        nan_infinity: bool | None = None,
        python_literals: bool | None = None,
        hex_numbers: bool | None = None,
        control_characters: bool | None = None,
        unknown_escapes: bool | None = None,
        key_transform: KeyTransform = None,
        schema: Any = None,
        coerce: bool = False,
        unknown_keys: str = "keep",
        validate: bool = False,
        options: ParserOptions | None = None,
    ) -> None:
        if options is None:
            key = (
                multiple_values, partial_strings, hold_numbers, max_bytes, max_depth,
                max_number_length, max_key_length, bulk_threshold, lenient, extract, comments,
                trailing_commas, single_quotes, unquoted_keys, nan_infinity, python_literals,
                hex_numbers, control_characters, unknown_escapes, key_transform, schema,
                coerce, unknown_keys, validate,
                # (typed: 1.0 or True for a limit must still be refused)
                max_bytes.__class__, max_depth.__class__, max_number_length.__class__,
                max_key_length.__class__, bulk_threshold.__class__,
            )  # fmt: skip
            try:  # (inline: the common case, plain keywords seen before)
                options = _BY_KEYWORDS.get(key) if schema is None else None
            except TypeError:  # an unhashable value: options_for() says what is wrong
                options = None
            if options is None:
                options = options_for(key)
        elif not isinstance(options, ParserOptions):
            raise TypeError(f"options must be a ParserOptions, not {type(options).__name__}")
        # A parser starts as a copy of one built the long way (_init_state) for these
        # options, plus its own mutable parts: creating one costs about a microsecond.
        proto = options._prototypes.get(self.__class__)
        if proto is None:
            proto = self.__class__.__new__(self.__class__)
            proto._init_state(options)
            options._prototypes[self.__class__] = proto
        self._copy_state(proto)

    def _init_state(self, options: ParserOptions) -> None:
        """Set every field of a new parser (for the prototype of ``options``)."""
        #: The parser's configuration (shared, immutable).
        self.options = options
        for name, value in options.settings:
            setattr(self, name, value)
        # The schema's side of the parse (checks, warnings, field states), if any.
        self._tracker: SchemaTracker | None = None
        self._tracked: tuple[list[Event] | None, int] = (None, 0)  # see _track_feed
        if options.schema is not None:
            self._tracker = SchemaTracker(
                options.schema,
                coerce=options.coerce,
                drop_unknown=options.unknown_keys == "drop",
                validate=options.validate,
                many=options.multiple_values,
            )

        self._stack: list[Any] = []  # open containers, outermost first
        self._prefixes: list[Path] = []  # the path of each open container
        self._key: str | None = None  # the key whose value comes next, innermost object
        self._state = _VALUE
        self._root: Any = None  # the current top-level value (live, partial)
        self._prov = False  # snapshot() put a provisional value at the current slot

        self._in_string = False
        self._str_is_key = False
        self._str_path: Path = ()
        self._pieces: list[str] = []
        self._grew_from = 0
        self._announced = False
        self._hi = -1  # a high surrogate waiting for its low half
        self._quote = '"'  # the open string's quote character
        self._in_comment = 0  # 1: in a // comment, 2: in a /* */ comment
        self._comment_star = False  # a /* */ comment's text so far ends with '*'

        self._held = ""  # unfinished token carried over to the next chunk
        self._held_kind = _HELD_NONE

        self._done: deque[Any] = deque()
        self._documents = 0
        self._last_document: Any = None
        self._error: JsonStreamError | None = None
        self._result: ParseResult | None = None
        self._pending = b""  # the start of a UTF-8 sequence cut by the end of a bytes chunk

        # Positions: everything before the current chunk except the held token.
        self._consumed = 0  # bytes
        # Bytes counted against max_bytes: all input in single-value mode, else the
        # open document's bytes in earlier chunks.
        self._used = 0
        self._hot = False  # in a string with nothing pending: feed() may take its hot path
        self._line = 1
        self._col = 0  # characters since the last newline
        self._bulk_block = 0  # in the current text, no bulk attempt before this index
        self._spine: list[int] = []  # containers open at the end of _spine_text
        self._spine_text: str | None = None
        self._sep = ""  # how the last bulk run of an array ended, e.g. "}, {" ...
        self._sep_owner: Any = None  # ... and which array
        # multiple_values: is a document open, and where it starts in the current text.
        self._doc_open = False
        self._doc_start = 0
        self._doc_ended = -1
        # LLM mode: looking for where JSON starts; every value found is only a candidate
        # (its events held back) until it proves to be JSON; after the value, ignore input.
        self._x: Extraction = self._Extraction() if self._extract else None  # type: ignore[assignment]
        self._seeking = self._extract
        self._candidate: Candidate | None = None  # the value on trial, if any
        # which characters a chunk must hold to matter while seeking (see _quiet_now)
        self._quiet = self._x.finder.quiet() if self._x is not None else 0
        self._stopped = False
        self._err_index = 0

    # ------------------------------------------------------------------ public API

    def has_complete_object(self) -> bool:
        """True when a completed top-level value is waiting for :meth:`get`."""
        return bool(self._done)

    def get(self) -> Any:
        """Remove and return the oldest completed top-level value.

        Raises ``IndexError`` when none is waiting (see :meth:`has_complete_object`).
        """
        if not self._done:
            raise IndexError("no completed top-level value is waiting")
        return self._done.popleft()

    @property
    def documents(self) -> int:
        """How many top-level values have completed."""
        return self._documents

    @property
    def position(self) -> tuple[int, int, int]:
        """``(byte offset, line, column)`` of the end of the input consumed so far."""
        return self._consumed, self._line, self._col + 1

    def field_states(self) -> dict[str, str]:
        """With a schema: every declared path (as ``$.a.b[0]``) -> ``"pending"`` (nothing
        yet), ``"partial"`` (started) or ``"complete"``."""
        if self._tracker is None:
            raise ValueError("field_states() needs a schema (StreamingJsonParser(schema=...))")
        return self._tracker.field_states(self.snapshot())

    def document_state(self) -> str:
        """``"pending"`` (no value started), ``"partial"`` or ``"complete"``."""
        if self._documents:
            return "complete"
        if self._stack or self._in_string or self._held_kind in (_HELD_NUMBER, _HELD_LITERAL):
            return "partial"
        return "pending"

    def stream_state(self) -> dict[str, Any]:
        """``{"value": ..., "state": ..., "fields": {...}}`` to send to a client: the
        snapshot, the document state and (with a schema) every field's state."""
        out: dict[str, Any] = {"value": self.snapshot(), "state": self.document_state()}
        if self._tracker is not None:
            out["fields"] = self.field_states()
        return out

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        for name in _CORE_FIELDS:  # the fields the C backend keeps outside __dict__
            state[name] = getattr(self, name)
        for name in ("_quick", "_kt_cache"):  # (memo tables: taken from the options again)
            del state[name]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            setattr(self, name, value)
        settings = dict(self.options.settings)
        self._kt, self._quick, self._kt_cache = (
            settings["_kt"], settings["_quick"], settings["_kt_cache"]
        )

    def __repr__(self) -> str:
        return (
            f"<StreamingJsonParser documents={self._documents} depth={len(self._stack)} "
            f"at={format_path(self._prefixes[-1]) if self._prefixes else '$'}>"
        )


# The attributes the C backend stores in its own fields rather than in ``__dict__``.
_CORE_FIELDS: tuple[str, ...] = (
    tuple(
        k
        for k, v in vars(_speedups.Core).items()
        if isinstance(v, (MemberDescriptorType, GetSetDescriptorType))
    )
    if _speedups is not None
    else ()
)
