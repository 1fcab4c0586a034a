"""The incremental parser: chunks in, events and a live partial value out.

Theory of operation
===================

Sans-IO: no Trio, no threads, no I/O.  This module is the contract; ``_speedups.c`` is a
second implementation of it that must give identical results (tested by
``tests/test_speedups.py``, the fuzzer in ``tests/test_fuzz_invariants.py``, and every
parser test run over both backends, see ``tests/conftest.py``).  The C one runs feed(),
snapshot() and finish() and raises every error itself.  In extraction mode it seeks with
its own fence finder (its ``_x`` is a C ``Extraction``, used here through the same methods
as :class:`~.extract.Extraction`) and runs the tokens of a value on trial; it leaves to the
methods here the start of a trial and the top level (``_begin_trial``, ``_feed_body``),
an error in a value on trial or at a closing fence (``_extracting`` decides), the end of a
feed with a value on trial (``_feed_tail``), and ``finish()`` only when a fenced value on
trial would replace one found in prose (``_finish_py``); and the bulk path's decision to
load a run of values (``_bulk_step``).

State.  A stack of open containers (with each one's path), the key whose value comes
next, and ``_state``, what the innermost context expects::

    VALUE           a value (at the top, after ':' or after ',' in an array)
    VALUE_OR_CLOSE  after '['                   KEY_OR_CLOSE  after '{'
    KEY             after ',' in an object      COLON         after a key
    COMMA_OR_CLOSE  after a member              END           after the top-level value

plus at most one open string (its decoded pieces, a pending high surrogate) and at most
one *held* token: the unfinished tail of a chunk that cannot be judged yet (a number or
literal that may go on, an escape, an unquoted key, a '/' that may open a comment).  A
held token is bounded (``max_number_length``, ``max_key_length``, the longest literal)
and is the only input ever looked at twice.  Bytes are decoded incrementally; a UTF-8
sequence cut by a chunk's end waits in ``_pending``.

The invariant.  For every option set, the outcome (final value, ``complete``, repairs,
confidence, or the error with its reason, expected, found, offset, line and column) is the
same for every chunking, ``str`` or ``bytes``.  Every decision is therefore made at a point
of the text, never at a chunk boundary: a token that reaches the end of a chunk is held,
an exceeded ``max_bytes`` is reported at the first byte too many after the text before it
is parsed, invalid UTF-8 likewise.

Errors and the end.  An error is a :class:`JsonStreamError` built for a point of the text
(``_fail``: the character there, its byte offset, line and column), or for the point just
after the input (``_fail_here``, ``_limit_exceeded``); the parser keeps it and raises it
again for any further input and from :meth:`finish`.  :meth:`finish` takes the end of the
input as a delimiter (a held top-level number completes), then closes off what is open,
listing each step as a :class:`~.result.Repair` (``_repair``; bytes cut inside a character
are dropped too), and rates the result (``complete``, ``confidence``).

Events (see :mod:`.events`).  The root and each member of the root get, whatever the
chunking, exactly one ``ValueCompleted``, preceded by exactly one ``ValueStarted`` when
the value is an object, array or string (scalars appear whole).  Deeper values are
reported either one by one (token path) or inside the completion of an ancestor loaded
whole (bulk path, below): which one depends on where the chunks fall.  Deeper down,
``ValueStarted`` comes when the token path opens a container and for a string still open
at the end of a feed.  ``StringGrew`` carries only new text.  Applying every event in order rebuilds
exactly what :meth:`snapshot` shows.  Snapshots are monotone (strings grow, members are
added), except that a value found in prose is replaced by a later fenced one.

Bulk path.  Where at least ``bulk_threshold`` characters are left, the run of whole
members at the current position is found by a boundary scan (:mod:`.fastpath`, in C
when built), checked strictly and loaded in one call (``orjson``, or ``ujson`` where
``orjson`` is not exact; see :func:`.fastpath.strict_loads`).  A value that does not
end in the text yields its *spine*, every container open at the end; later attempts stop
before it, and a walk stops past ``max_depth``.  So every text costs O(its length),
whatever its nesting or where it is cut.

Extraction (LLM mode) is described above :meth:`_Parser._extracting`.
"""

from __future__ import annotations

import codecs
import math
import re
from bisect import bisect_left
from collections import deque
from types import GetSetDescriptorType, MemberDescriptorType
from typing import Any

from .accelerator import SPEEDUPS
from .accelerator import speedups as _speedups
from .errors import JsonStreamError
from .events import (
    DocumentCompleted,
    Event,
    Path,
    StringGrew,
    ValueCompleted,
    ValueStarted,
)
from .extract import Candidate, Extraction
from .fastpath import NotFast, container_spine, scan_members, scan_value_end, strict_loads
from .options import BY_KEYWORDS as _BY_KEYWORDS
from .options import KeyTransform, ParserOptions, options_for
from .result import ParseResult, Repair, format_path
from .tracking import SchemaTracker

__all__ = ["SPEEDUPS", "PurePythonParser", "StreamingJsonParser"]

# What the innermost context expects next.
_VALUE = 0  # a value: at the top, after ':' or after ',' in an array
_VALUE_OR_CLOSE = 1  # after '['
_KEY_OR_CLOSE = 2  # after '{'
_KEY = 3  # after ',' in an object
_COLON = 4
_COMMA_OR_CLOSE = 5  # after a member
_END = 6  # after the top-level value (single-value mode)

# What an unfinished token carried over to the next chunk is.
_HELD_NONE = 0
_HELD_ESCAPE = 1
_HELD_NUMBER = 2
_HELD_LITERAL = 3
_HELD_IDENT = 4  # an unquoted key (LLM mode)
_HELD_SLASH = 5  # a '/' that may start a comment (LLM mode)

_WS = re.compile(r"[ \t\n\r]*")
_STR_SPECIAL = re.compile(r'["\\\x00-\x1f]')
_STR_RUN = re.compile(r'[^"\\\x00-\x1f]*')
_SIMPLE_STRING = re.compile(r'"([^"\\\x00-\x1f]*)"')
_STR_RUN_SQ = re.compile(r"[^'\\\x00-\x1f]*")
_SIMPLE_STRING_SQ = re.compile(r"'([^'\\\x00-\x1f]*)'")
_IDENT = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_HEX_NUMBER = re.compile(r"-?0[xX][0-9a-fA-F]*")
_NUM_CHARS = re.compile(r"[0-9eE.+\-]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_NUMBER_PREFIX = re.compile(
    r"-?(?:(?:0|[1-9][0-9]*)(?:\.(?:[0-9]+(?:[eE][+-]?[0-9]*)?)?|[eE][+-]?[0-9]*)?)?"
)
_HEX = re.compile(r"[0-9a-fA-F]*")
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_ESCAPES_SQ = {**_ESCAPES, "'": "'"}
_EXPECTED = {
    _VALUE: "a value",
    _VALUE_OR_CLOSE: "a value or ']'",
    _KEY_OR_CLOSE: "a string key or '}'",
    _KEY: "a string key",
    _COLON: "':'",
    _END: "end of input (multiple_values=False allows one top-level value)",
}


def _utf8_len(s: str) -> int:
    return len(s) if s.isascii() else len(s.encode("utf-8", "surrogatepass"))


def _chars_within(text: str, nbytes: int) -> int:
    """How many characters of ``text`` fit in ``nbytes`` bytes of UTF-8."""
    if text.isascii():
        return min(nbytes, len(text))
    data = text.encode("utf-8", "surrogatepass")
    if nbytes >= len(data):
        return len(text)
    while nbytes > 0 and data[nbytes] & 0xC0 == 0x80:  # inside a character: before it
        nbytes -= 1
    return len(data[:nbytes].decode("utf-8", "surrogatepass"))


def _ends_with_close(text: str) -> bool:
    """Does the last non-whitespace character close an array or object?"""
    i = len(text) - 1
    while i >= 0 and text[i] in " \t\n\r":
        i -= 1
    return i >= 0 and text[i] in "]}"


def _describe(text: str, i: int) -> str:
    if i >= len(text):
        return "end of input"
    c = text[i]
    if c.isprintable() and c != " ":
        return repr(c)
    return f"U+{ord(c):04X}"


def _number(tok: str, m: re.Match[str]) -> int | float:
    if m.group(1) is None and m.group(2) is None:
        return int(tok)
    return float(tok)


class _Parser:
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

    #: The class of the extraction state (the C half has its own, read in place).
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

    def _copy_state(self, proto: _Parser) -> None:
        """Start as a copy of ``proto``, a parser that has not been fed, with mutable
        parts of its own (the C half copies its own fields, see ``core_copy_state``)."""
        self.__dict__.update(proto.__dict__)
        self._fresh_parts()

    def _fresh_parts(self) -> None:
        """The mutable parts a new parser may not share with its prototype."""
        self._stack = []
        self._prefixes = []
        self._pieces = []
        self._done = deque()
        self._spine = []
        self._x = self._Extraction() if self._extract else None  # type: ignore[assignment]
        if self._tracker is not None:
            self._tracker = self._tracker.fresh()

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
        self._whole_tried = False  # the C half tried the text as one whole top-level value
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
        self._quiet = self._quiet_now()  # (for the C half: see _quiet_now)
        self._stopped = False
        self._err_index = 0

    # ------------------------------------------------------------------ public API

    def _feed_py(self, chunk: str | bytes | bytearray | memoryview) -> list[Event]:
        """Consume the next piece of input; return the events it caused.

        ``chunk`` may be ``str`` or UTF-8 ``bytes`` split anywhere, even inside a
        character, an escape, a number or a literal.  Raises :class:`JsonStreamError`
        for malformed input or an exceeded limit.
        """
        if (
            self._hot
            and chunk.__class__ is str
            and chunk
            and _STR_SPECIAL.search(chunk) is None
            and self._used + (nb := len(chunk) if chunk.isascii() else _utf8_len(chunk))
            <= self.max_bytes
        ):
            # Hot path: inside a string, nothing pending, no quote, backslash or control.
            self._used += nb
            self._consumed += nb
            self._col += len(chunk)
            self._pieces.append(chunk)
            if self._str_is_key:
                return []
            if self._announced:
                events: list[Event] = [StringGrew(self._str_path, chunk)]
            else:
                self._announced = True
                events = [ValueStarted(self._str_path, "string"), StringGrew(self._str_path, chunk)]
            if self._tracker is not None:
                self._tracker.track(events)
            return events
        if self._error is not None:
            raise self._error
        if self._result is not None:
            raise self._fail_here("input after finish()", sticky=False)
        if chunk.__class__ is not str:
            if isinstance(chunk, str):  # a str subclass: its text
                return self.feed(str(chunk))
            if not isinstance(chunk, (bytes, bytearray, memoryview)):
                raise TypeError(f"feed() takes str or bytes, not {type(chunk).__name__}")
            return self._feed_str(self._decode(bytes(chunk)))
        if self._pending:
            raise self._fail_here("str chunk while a UTF-8 sequence from bytes is incomplete")
        return self._feed_str(chunk)

    def _feed_str(self, chunk: str) -> list[Event]:
        """Feed text (from a str chunk, or decoded from bytes by either half)."""
        if self._error is not None:
            raise self._error
        if not chunk:
            return []
        events = self._feed_text(chunk)
        self._hot = (
            self._in_string
            and self._held_kind == _HELD_NONE
            and self._hi < 0
            and self._quote == '"'
            and self._candidate is None
            and not self._pending
        )
        self._quiet = self._quiet_now()
        return events

    def _quiet_now(self) -> int:
        """While looking for JSON in prose: which characters a chunk must hold to matter
        (see Extractor.quiet); the C half passes over chunks without them (0: none)."""
        x = self._x
        if x is None or not self._seeking or self._candidate is not None or self._held:
            return 0
        return 0 if self._pending else x.finder.quiet()

    def _snapshot_py(self) -> Any:
        """The partial value so far (None before a value starts).

        This is the live value the parser builds in place: later input only grows its
        strings and adds members, and it never changes a shown value otherwise.  Copy it
        (``copy.deepcopy``) to keep a frozen view, and do not modify it.  With
        ``multiple_values=True`` it is the document in progress.
        """
        partial: Any
        if self._in_string and self._show_strings and not self._str_is_key:
            # The common case while a model writes text: show the open string in place.
            pieces = self._pieces
            if len(pieces) != 1:
                self._join_pieces()
            stack = self._stack
            if not stack:
                return pieces[0]
            top = stack[-1]
            if top.__class__ is dict:
                top[self._key] = pieces[0]
            elif self._prov:
                top[-1] = pieces[0]
            else:
                top.append(pieces[0])
                self._prov = True
            return self._root
        candidate = self._candidate
        if candidate is not None:
            return candidate.saved[0] if candidate.saved is not None else self._empty_snapshot()
        if self._seeking and not self._stack and (self.multiple_values or not self._documents):
            return self._empty_snapshot()
        if self._in_string and not self._str_is_key:
            if not self.partial_strings:
                return self._root if self._stack else self._empty_snapshot()
            pieces = self._pieces
            if len(pieces) > 1:
                self._join_pieces()
            partial = pieces[0] if pieces else ""
        elif self._held_kind in (_HELD_NUMBER, _HELD_LITERAL) and not self.hold_numbers:
            shown = self._held_value(self._held)
            if shown is _MISSING:
                return self._root if self._stack else self._empty_snapshot()
            partial = shown
        elif self._stack or self._state == _END:
            return self._root
        else:
            return self._empty_snapshot()
        if not self._stack:
            return partial
        top = self._stack[-1]
        if top.__class__ is dict:
            top[self._key] = partial
        elif self._prov:
            top[-1] = partial
        else:
            top.append(partial)
        self._prov = True
        return self._root

    def _join_pieces(self) -> None:
        """Join the open string's pieces into one, growing the text shown last in place.

        The parser lets go of that text first (in its list and its slot in the container),
        so when nobody else holds it ``+=`` appends to it instead of copying it, as CPython
        does for ``s += t``: snapshots after every chunk of a long string cost O(length)
        in all, not O(length) each.  A string someone else holds is copied as usual."""
        pieces = self._pieces
        if not pieces:
            pieces.append("")
            return
        acc = pieces[0]
        rest = "".join(pieces[1:])
        pieces.clear()
        if self._stack:
            top = self._stack[-1]
            if top.__class__ is dict:
                if top.get(self._key) is acc:
                    top[self._key] = None
            elif self._prov and top[-1] is acc:
                top[-1] = None
        acc += rest
        pieces.append(acc)

    def _empty_snapshot(self) -> Any:
        """What to show before a value starts: None, or with a schema its skeleton."""
        return None if self._tracker is None else self._tracker.skeleton()

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

    def _finish_py(self, *, allow_partial: bool = True) -> ParseResult:
        """Mark the end of the input and return the final :class:`ParseResult`.

        A complete value gives ``complete=True`` and ``confidence="high"``.  Truncated
        input is closed off and every repair listed, unless ``allow_partial=False``,
        which raises :class:`JsonStreamError` (with ``truncated=True``) instead.
        Calling it again returns the same result.
        """
        if self._error is not None:
            raise self._error
        if self._result is not None:
            return self._result
        self._hot = False
        if (
            self._state == _END
            and self._tracker is None
            and self._x is None
            and not self._pending
            and not self.multiple_values
        ):  # one whole value and nothing after it: nothing to repair or report
            self._result = ParseResult._complete(self._root)
            return self._result
        if self._pending and not allow_partial:
            raise self._fail_here("input ends inside a UTF-8 sequence", truncated=True)
        events: list[Event] = []
        if self._candidate is not None:
            if self._candidate.saved is not None:  # an unproven fenced value never replaces
                self._reject_trial()  # one in prose
            else:  # a candidate never proved itself, but it is all there is
                self._flush_trial(events)
        if self._held_kind == _HELD_NUMBER and not self._stack:
            number = self._complete_number(self._held)
            if number is not _MISSING:  # the end of input is a delimiter
                self._held, self._held_kind = "", _HELD_NONE
                self._put(number, events)
        if not allow_partial and self._incomplete():
            raise self._fail_here(
                "unexpected end of input", expected=self._expected_now(), truncated=True
            )
        cut = self._cut_path() if self._pending else None
        repairs: list[Repair] = []
        self._repair(repairs, events)
        if self.multiple_values:
            value = self._root if self._stack else self._last_document
        else:
            value = self._root if self._documents else None
        if self._documents == 0 and not repairs:
            repairs.append(Repair("no_value", (), "no JSON value in the input"))
        if cut is not None:  # the input (bytes) ends inside a character: it is dropped
            repairs.append(Repair("dropped_bytes", cut, "dropped an incomplete UTF-8 sequence"))
        counted = [r for r in repairs if r.kind != "stripped_fence"]
        if self._x is not None and self._x.finder.in_fence and not self._x.fence_closed:
            repairs.append(Repair("stripped_fence", (), "stripped an unterminated ``` fence"))
        if not counted:
            confidence = "high"
        elif all(r.kind.startswith("closed_") or r.kind == "dropped_comma" for r in counted):
            confidence = "medium"
        else:
            confidence = "low"
        model = None
        warnings: tuple[Any, ...] = ()
        if self._tracker is not None:
            value, model = self._tracker.finish(value)
            self._tracker.track(events)
            warnings = tuple(self._tracker.warnings)
        self._result = ParseResult(
            value,
            not counted,
            tuple(repairs),
            confidence,
            tuple(events),
            warnings,
            model,
        )
        return self._result

    # ------------------------------------------------------------------ feeding

    def _decode(self, data: bytes) -> str:
        """Decode UTF-8 incrementally (a sequence cut by the chunk's end waits in
        ``_pending``).  Before an invalid byte, the valid text is parsed first, so the
        error is the same however the bytes were cut."""
        if self._pending:
            data = self._pending + data
        try:
            text, used = codecs.utf_8_decode(data, "strict", False)
        except UnicodeDecodeError as exc:
            self._pending = b""
            good = data[: exc.start].decode("utf-8")
            if good:
                self._feed_text(good)
            bad = data[exc.start : exc.end]
            raise self._record(
                JsonStreamError(
                    "invalid UTF-8",
                    expected="UTF-8 encoded text",
                    found=f"byte{'s' if len(bad) > 1 else ''} {bad.hex(' ')}",
                    offset=self._consumed + _utf8_len(self._held),
                    line=self._line,
                    column=self._col + len(self._held) + 1,
                )
            ) from None
        self._pending = data[used:]
        return text

    def _feed_text(self, chunk: str) -> list[Event]:
        nbytes = len(chunk) if chunk.isascii() else _utf8_len(chunk)
        if not self.multiple_values and self._used + nbytes > self.max_bytes:
            # Parse what fits, then refuse the rest: the same error for every chunking.
            fits = _chars_within(chunk, self.max_bytes - self._used)
            if fits:
                self._feed_text(chunk[:fits])
            raise self._limit_exceeded()
        text, nbytes = self._feed_head(chunk, nbytes)
        events: list[Event] = []
        self._feed_body(text, 0, events)
        self._feed_tail(text, events, nbytes if text is chunk else -1)
        return events

    # The C half runs _feed_head and _feed_tail itself in the common case, and calls
    # _feed_body (then _feed_tail) for what is left of a text when it stops early.

    def _feed_head(self, chunk: str, nbytes: int) -> tuple[str, int]:
        """Count ``chunk`` (``nbytes`` of UTF-8, within the limit) as used; return the
        text to parse (held token first) and ``nbytes``."""
        if not self.multiple_values:
            self._used += nbytes
        held = self._held
        if held:
            text = held + chunk
            self._held = ""
            self._held_kind = _HELD_NONE
        else:
            text = chunk
        self._bulk_block = 0
        self._whole_tried = False
        self._doc_start = 0
        self._grew_from = len(self._pieces)
        return text, nbytes

    def _feed_body(self, text: str, pos: int, events: list[Event]) -> None:
        """Parse ``text`` from ``pos``."""
        if self._stopped:
            return
        if self._extract:
            self._extracting(text, events, pos)
        else:
            self._run(text, pos, events)

    def _feed_tail(self, text: str, events: list[Event], text_bytes: int = -1) -> None:
        """Events for the open string, then positions and counts after a text
        (``text_bytes``: its UTF-8 length when the caller already knows it, else -1)."""
        if self._in_string and not self._str_is_key:
            sink = events if self._candidate is None else self._candidate.events
            if not self._announced:
                self._announced = True
                sink.append(ValueStarted(self._str_path, "string"))
            pieces = self._pieces  # a new string may have started: then _grew_from is 0
            if len(pieces) > self._grew_from:
                sink.append(StringGrew(self._str_path, "".join(pieces[self._grew_from :])))
        if self._candidate is not None and self._candidate.proven():
            self._flush_trial(events)
        held = self._held
        if self.multiple_values and self._doc_open:
            seen = _utf8_len(text[self._doc_start :])  # (the held token too)
            if self._used + seen > self.max_bytes:
                raise self._doc_too_large(text)
            self._used += seen - _utf8_len(held)
        if held:
            done = text[: len(text) - len(held)]
            nbytes = _utf8_len(done)
        else:
            done = text
            nbytes = text_bytes if text_bytes >= 0 else _utf8_len(text)
        nl = done.count("\n")
        if nl:
            self._line += nl
            self._col = len(done) - done.rfind("\n") - 1
        else:
            self._col += len(done)
        self._consumed += nbytes
        if self._tracker is not None:
            self._track_feed(events)

    # ------------------------------------------------------------------ extraction
    #
    # In extraction mode every value found is a *candidate* (a trial): its events are held
    # back in the Candidate until it proves to be JSON, which it does at the first of
    # - a double-quoted string (key or value) beginning in it, or
    # - a value completing in it (a member, a nested value, or the candidate itself).
    # Both are points in the text, so whether a candidate is proven at any position does
    # not depend on the chunking.  A candidate that fails before it is proven is dropped
    # and seeking resumes at the character that failed it (never rescanning earlier
    # input); an exceeded limit is never "not JSON" and always raises.  A candidate in a
    # JSON fence that a value found in prose already precedes replaces that value only
    # once proven; until then snapshot() shows the value in prose.

    def _extracting(self, text: str, events: list[Event], pos: int = 0) -> None:
        """Feed ``text`` from ``pos`` in extraction mode."""
        n = len(text)
        while True:
            if self._seeking:
                if pos >= n:
                    return
                start, fenced = self._x.finder.find(text, pos)
                if start < 0:
                    return
                self._begin_trial(fenced, events)
                pos = start
            try:
                candidate = self._candidate
                pos = self._run(text, pos, events if candidate is None else candidate.events)
            except JsonStreamError as err:
                i = self._err_index
                if (
                    self._x.finder.fenced
                    and self._stack
                    and not self._in_string
                    and i < n
                    and text[i] == "`"
                ):
                    # The closing fence came before the value closed: end of input.
                    self._error = None
                    self._stopped = True
                    self._x.fence_closed = True
                    if self._candidate is not None:
                        self._flush_trial(events)
                    return
                candidate = self._candidate
                if err.limit is None and candidate is not None and not candidate.proven():
                    self._reject_trial()
                    pos = i
                    continue
                raise
            if self._candidate is not None and self._candidate.proven():
                self._flush_trial(events)
            if pos >= n or self._stopped:
                return

    def _begin_trial(self, fenced: bool, events: list[Event]) -> None:
        self._seeking = False
        saved = None
        if fenced and self._documents and not self.multiple_values:
            if self._tracker is not None:
                self._track_feed(events)  # (the value in prose, before it is put aside)
            # A fenced value may replace the value found in prose; keep that until then.
            saved = (
                self._root,
                self._documents,
                self._last_document,
                list(self._done),
                None if self._tracker is None else self._tracker.save(),
            )
            self._reset_document()
            self._done.clear()
            self._documents = 0
            self._last_document = None
            self._x.prose_doc = False
        self._candidate = Candidate(fenced, saved)

    def _flush_trial(self, events: list[Event]) -> None:
        """The candidate is JSON: release its events."""
        events.extend(self._candidate.events)  # type: ignore[union-attr]
        self._candidate = None

    def _reject_trial(self) -> None:
        """The candidate is not JSON: forget it, restore a value in prose it would have
        replaced, and look again (past the rest of its block when it was fenced)."""
        candidate = self._candidate
        assert candidate is not None
        self._reset_document()
        if candidate.saved is not None:
            self._root, self._documents, self._last_document, done, tracked = candidate.saved
            if self._tracker is not None:
                self._tracker.restore(tracked)
            self._done.clear()
            self._done.extend(done)
            self._state = _END
            self._x.prose_doc = True
            self._x.finder.fences_only = True
        self._seeking = True
        if candidate.fenced:
            self._x.finder.skip_block()

    def _reset_document(self) -> None:
        """Forget a candidate value that turned out not to be JSON."""
        self._stack.clear()
        self._prefixes.clear()
        self._key = None
        self._state = _VALUE
        self._root = None
        self._prov = False
        self._in_string = False
        self._pieces = []
        self._hi = -1
        self._quote = '"'
        self._in_comment = 0
        self._held = ""
        self._held_kind = _HELD_NONE
        self._error = None
        self._candidate = None
        self._sep_owner = None
        self._bulk_block = 0
        self._doc_open = False

    def _run(self, text: str, pos: int, events: list[Event]) -> int:
        """Parse ``text`` from ``pos``; return where it stopped (``len(text)`` unless a
        document ended and extraction looks for the next one)."""
        n = len(text)
        stack = self._stack
        comments = self._comments
        if self._in_comment:
            pos = self._skip_comment(text, pos)
        while pos < n:
            if self._in_string:
                pos = self._string(text, pos, events)
                if self._doc_ended >= 0 and self._check_doc_size(text, pos):
                    return pos  # a top-level string ended a document
                continue
            c = text[pos]
            if c in " \t\n\r":
                pos = _WS.match(text, pos).end()
                if pos >= n:
                    break
                c = text[pos]
            st = self._state
            if c == "/" and comments and not (st == _END and self.tolerances.extract):
                pos = self._comment(text, pos)
                continue
            if st == _COMMA_OR_CLOSE:
                top = stack[-1]
                if c == ",":
                    pos += 1
                    self._state = _KEY if top.__class__ is dict else _VALUE
                elif c == ("}" if top.__class__ is dict else "]"):
                    pos += 1
                    self._close(events)
                    if self._doc_ended >= 0 and self._check_doc_size(text, pos):
                        return pos
                else:
                    close = "'}'" if top.__class__ is dict else "']'"
                    raise self._fail(text, pos, "unexpected character", f"',' or {close}")
            elif st == _VALUE or st == _VALUE_OR_CLOSE:
                if c == "]" and st == _VALUE_OR_CLOSE:
                    pos += 1
                    self._close(events)
                    if self._doc_ended >= 0 and self._check_doc_size(text, pos):
                        return pos
                    continue
                if not stack and self.multiple_values and not self._doc_open:
                    self._doc_open = True
                    self._doc_start = pos
                    self._used = 0
                if n - pos >= self.bulk_threshold and pos >= self._bulk_block:
                    if not stack:
                        new = self._bulk_document(text, pos, events)
                    elif stack[-1].__class__ is list:
                        new = self._bulk_members(text, pos, False, events)
                    else:
                        new = pos
                    if new > pos:
                        pos = new
                        if self._doc_ended >= 0 and self._check_doc_size(text, pos):
                            return pos
                        continue
                pos = self._value(text, pos, c, events)
                if self._doc_ended >= 0 and self._check_doc_size(text, pos):
                    return pos
            elif st == _KEY_OR_CLOSE or st == _KEY:
                if c == '"':
                    if n - pos >= self.bulk_threshold and pos >= self._bulk_block:
                        new = self._bulk_members(text, pos, True, events)
                        if new > pos:
                            pos = new
                            if self._doc_ended >= 0 and self._check_doc_size(text, pos):
                                return pos
                            continue
                    m = _SIMPLE_STRING.match(text, pos)
                    if self._candidate is not None:
                        self._candidate.quoted = True
                    if m is not None:
                        if self._plain_keys:
                            self._key = m.group(1)
                            self._state = _COLON
                        else:
                            self._set_key(m.group(1))
                        pos = m.end()
                    else:
                        self._start_string(True, (), '"')
                        pos += 1
                elif c == "}" and st == _KEY_OR_CLOSE:
                    pos += 1
                    self._close(events)
                    if self._doc_ended >= 0 and self._check_doc_size(text, pos):
                        return pos
                else:
                    new = self._lenient_key(text, pos, c, events) if self._lax else -1
                    if new < 0:
                        reason = "trailing comma" if c == "}" else "unexpected character"
                        raise self._fail(text, pos, reason, _EXPECTED[st])
                    pos = new
                    if self._doc_ended >= 0 and self._check_doc_size(text, pos):
                        return pos
            elif st == _COLON:
                if c != ":":
                    raise self._fail(text, pos, "unexpected character", "':' after key")
                pos += 1
                self._state = _VALUE
            else:  # _END
                if self._extract:  # trailing prose ("Hope this helps!")
                    if self._x.prose_doc:  # a fenced block after it would still win
                        self._seeking = True
                        self._x.finder.fences_only = True
                        return pos
                    self._stopped = True
                    self._x.fence_closed = c == "`"
                    return n
                raise self._fail(text, pos, "extra data after the top-level value", _EXPECTED[st])
        return n

    def _value(self, text: str, pos: int, c: str, events: list[Event]) -> int:
        """Parse the value starting at ``text[pos]`` (token path); return the new index."""
        if c == '"':
            m = _SIMPLE_STRING.match(text, pos)
            if m is not None:
                self._put_string(m.group(1), events, False)
                return m.end()
            self._start_string(False, self._child_path(), '"')
            return pos + 1
        if c == "{" or c == "[":
            if len(self._stack) >= self.max_depth:
                raise self._fail(
                    text, pos, f"nesting deeper than max_depth={self.max_depth}", limit="max_depth"
                )
            path = self._child_path()
            container: Any
            if self._schema is None:
                container = {} if c == "{" else []
            else:
                container = self._schema.container(path, "object" if c == "{" else "array")
            if self._stack:
                self._insert(container)
            else:
                self._root = container
            self._stack.append(container)
            self._prefixes.append(path)
            self._state = _KEY_OR_CLOSE if c == "{" else _VALUE_OR_CLOSE
            events.append(ValueStarted(path, "object" if c == "{" else "array"))
            return pos + 1
        n = len(text)
        if c == "-" or "0" <= c <= "9":
            if self._lax:
                new = self._lenient_number(text, pos, c, events)
                if new >= 0:
                    return new
            e = _NUM_CHARS.match(text, pos).end()
            if e - pos > self.max_number_length:
                raise self._number_too_long(text, pos)
            tok = text[pos:e]
            if e >= n:  # the number may go on in the next chunk
                good = _NUMBER_PREFIX.match(tok).end()
                if good < len(tok):
                    raise self._bad_number(text, pos, tok)
                self._hold(tok, _HELD_NUMBER)
                return n
            m = _NUMBER.fullmatch(tok)
            if m is None:
                raise self._bad_number(text, pos, tok)
            self._put(_number(tok, m), events)
            return e
        cands = self._literals.get(c)
        if cands is not None:
            return self._literal(text, pos, cands, events)
        if self._lax:
            new = self._lenient_value(text, pos, c, events)
            if new >= 0:
                return new
        raise self._fail(text, pos, "unexpected character", self._expected_now())

    def _literal(
        self, text: str, pos: int, cands: tuple[tuple[str, Any], ...], events: list[Event]
    ) -> int:
        n = len(text)
        for word, value in cands:
            if text.startswith(word, pos):
                self._put(value, events)
                return pos + len(word)
        seg = text[pos : pos + max(len(w) for w, _ in cands)]
        if pos + len(seg) == n and any(w.startswith(seg) for w, _ in cands):
            self._hold(seg, _HELD_LITERAL)
            return n
        word = cands[0][0]
        i = next((k for k in range(min(len(seg), len(word))) if seg[k] != word[k]), len(seg))
        expected = " or ".join(repr(w) for w, _ in cands)
        raise self._fail(text, pos + i, f"invalid literal (expected {expected})", "")

    # ------------------------------------------------------------------ LLM mode

    def _lenient_number(self, text: str, pos: int, c: str, events: list[Event]) -> int:
        """Hex numbers and -Infinity; -1 when neither applies."""
        tol = self.tolerances
        if tol.hex_numbers and text.startswith(("0x", "0X", "-0x", "-0X"), pos):
            e = _HEX_NUMBER.match(text, pos).end()
            if e - pos > self.max_number_length:
                raise self._number_too_long(text, pos)
            if e >= len(text):
                self._hold(text[pos:e], _HELD_NUMBER)
                return e
            tok = text[pos:e]
            if tok[-1] in "xX":
                raise self._fail(text, e, "incomplete hex number", "a hex digit")
            self._put(int(tok, 16), events)
            return e
        if tol.nan_infinity and c == "-" and text.startswith("-I", pos):
            return self._literal(text, pos, (("-Infinity", -math.inf),), events)
        return -1

    def _lenient_value(self, text: str, pos: int, c: str, events: list[Event]) -> int:
        """Single-quoted strings and a trailing comma before ']'; -1 when neither."""
        tol = self.tolerances
        if c == "'" and tol.single_quotes:
            m = _SIMPLE_STRING_SQ.match(text, pos)
            if m is not None:
                self._put_string(m.group(1), events, False)
                return m.end()
            self._start_string(False, self._child_path(), "'")
            return pos + 1
        if (
            c == "]"
            and tol.trailing_commas
            and self._state == _VALUE
            and self._stack
            and self._stack[-1].__class__ is list
        ):
            self._close(events)
            return pos + 1
        return -1

    def _lenient_key(self, text: str, pos: int, c: str, events: list[Event]) -> int:
        """Unquoted and single-quoted keys, a trailing comma before '}'; -1 when none."""
        tol = self.tolerances
        if c == "}" and tol.trailing_commas and self._state == _KEY:
            self._close(events)
            return pos + 1
        if c == "'" and tol.single_quotes:
            m = _SIMPLE_STRING_SQ.match(text, pos)
            if m is not None:
                self._set_key(m.group(1))
                return m.end()
            self._start_string(True, (), "'")
            return pos + 1
        if tol.unquoted_keys and (c.isascii() and (c.isalpha() or c in "_$")):
            e = _IDENT.match(text, pos).end()
            if e - pos > self.max_key_length:
                raise self._fail(
                    text,
                    pos,
                    f"unquoted key longer than max_key_length={self.max_key_length}",
                    limit="max_key_length",
                )
            if e >= len(text):
                self._hold(text[pos:e], _HELD_IDENT)
                return e
            self._set_key(text[pos:e])
            return e
        return -1

    def _comment(self, text: str, pos: int) -> int:
        """A '/' outside strings with comments on: skip the comment from ``pos``."""
        n = len(text)
        if pos + 1 >= n:
            self._hold("/", _HELD_SLASH)
            return n
        k = text[pos + 1]
        if k == "/":
            self._in_comment = 1
        elif k == "*":
            self._in_comment = 2
            self._comment_star = False
        else:
            raise self._fail(text, pos + 1, "unexpected character after '/'", "'/' or '*'")
        return self._skip_comment(text, pos + 2)

    def _skip_comment(self, text: str, pos: int) -> int:
        n = len(text)
        if self._in_comment == 1:
            e = text.find("\n", pos)
            if e < 0:
                return n
            self._in_comment = 0
            return e + 1
        if self._comment_star and text.startswith("/", pos):
            self._in_comment = 0
            return pos + 1
        e = text.find("*/", pos)
        if e < 0:
            self._comment_star = text.endswith("*") and n > pos
            return n
        self._in_comment = 0
        return e + 2

    def _set_key(self, key: str) -> None:
        if self._kt is not None:
            key = self._kt(key)
        if self._tracker is not None:
            self._tracker.key(self._prefixes[-1], key)
        self._key = key
        self._state = _COLON

    def _number_too_long(self, text: str, pos: int) -> JsonStreamError:
        return self._fail(
            text,
            pos,
            f"number longer than max_number_length={self.max_number_length}",
            limit="max_number_length",
        )

    def _bad_number(self, text: str, pos: int, tok: str) -> JsonStreamError:
        good = _NUMBER_PREFIX.match(tok).end()
        at = pos + good
        if good == len(tok):  # a valid start cut short: '-', '1.', '1e+'
            return self._fail(text, at, "incomplete number", "a digit")
        if tok[good].isdigit():
            return self._fail(
                text, at, "leading zero in number", "'.', 'e' or the end of the number"
            )
        if tok[good - 1] in "-.eE+":
            return self._fail(text, at, "invalid number", "a digit")
        return self._fail(text, at, "invalid number", "the end of the number")

    def _hold(self, tok: str, kind: int) -> None:
        self._held = tok
        self._held_kind = kind

    # ------------------------------------------------------------------ strings

    def _start_string(self, is_key: bool, path: Path, quote: str) -> None:
        if quote == '"' and self._candidate is not None:
            self._candidate.quoted = True  # (it is JSON)
        self._quote = quote
        self._in_string = True
        self._str_is_key = is_key
        self._str_path = path
        self._pieces = []
        self._grew_from = 0
        self._announced = False

    def _string(self, text: str, pos: int, events: list[Event]) -> int:
        """Scan inside a string from ``pos``; return the index after it or ``len(text)``."""
        pieces = self._pieces
        n = len(text)
        quote = self._quote
        run = _STR_RUN.match if quote == '"' else _STR_RUN_SQ.match
        while True:
            e = run(text, pos).end()
            if e > pos:
                if self._hi >= 0:
                    pieces.append(chr(self._hi))
                    self._hi = -1
                pieces.append(text[pos:e])
            if e >= n:
                return n
            c = text[e]
            if c == quote:
                if self._hi >= 0:
                    pieces.append(chr(self._hi))
                    self._hi = -1
                value = "".join(pieces)
                self._in_string = False
                self._pieces = []
                if self._str_is_key:
                    if self._plain_keys:
                        self._key = value
                        self._state = _COLON
                    else:
                        self._set_key(value)
                else:
                    self._put_string(value, events, self._announced)
                return e + 1
            if c != "\\":
                if not self.tolerances.control_characters:
                    raise self._fail(
                        text, e, "unescaped control character in string", "'\\\\' escape"
                    )
                if self._hi >= 0:
                    pieces.append(chr(self._hi))
                    self._hi = -1
                pieces.append(c)  # LLM mode: a raw newline or tab, kept as it is
                pos = e + 1
                continue
            if e + 1 >= n:
                self._hold(text[e:], _HELD_ESCAPE)
                return n
            k = text[e + 1]
            if k == "u":
                hx = text[e + 2 : e + 6]
                good = _HEX.match(hx).end()
                if good < len(hx):
                    raise self._fail(text, e + 2 + good, "invalid \\u escape", "a hex digit")
                if len(hx) < 4:
                    self._hold(text[e:], _HELD_ESCAPE)
                    return n
                code = int(hx, 16)
                pos = e + 6
                if self._hi >= 0:
                    if 0xDC00 <= code <= 0xDFFF:
                        pieces.append(chr(0x10000 + ((self._hi - 0xD800) << 10) + code - 0xDC00))
                        self._hi = -1
                        continue
                    pieces.append(chr(self._hi))
                    self._hi = -1
                if 0xD800 <= code <= 0xDBFF:
                    self._hi = code
                else:
                    pieces.append(chr(code))
                continue
            ch = (_ESCAPES if quote == '"' else _ESCAPES_SQ).get(k)
            if ch is None and self.tolerances.unknown_escapes:
                ch = k
            if ch is None:
                raise self._fail(
                    text, e + 1, "invalid escape", 'one of \\" \\\\ \\/ \\b \\f \\n \\r \\t \\u'
                )
            if self._hi >= 0:
                pieces.append(chr(self._hi))
                self._hi = -1
            pieces.append(ch)
            pos = e + 2

    # ------------------------------------------------------------------ the tree

    def _child_path(self) -> Path:
        if not self._stack:
            return ()
        top = self._stack[-1]
        if top.__class__ is dict:
            return (*self._prefixes[-1], self._key)
        return (*self._prefixes[-1], len(top) - 1 if self._prov else len(top))

    def _insert(self, value: Any) -> None:
        top = self._stack[-1]
        if top.__class__ is dict:
            top[self._key] = value
        elif self._prov:
            top[-1] = value
        else:
            top.append(value)
        self._prov = False

    def _put_string(self, value: str, events: list[Event], announced: bool) -> None:
        """A string value is complete: the top-level value or a member of it that was not
        announced yet is announced first (the events contract; ``put_at`` in C)."""
        if not announced and len(self._stack) <= 1:
            events.append(ValueStarted(self._child_path(), "string"))
        self._put(value, events)

    def _put(self, value: Any, events: list[Event]) -> None:
        """A scalar (or string) value is complete at the current position."""
        stack = self._stack
        if not stack:
            if self._tracker is not None:
                value = self._tracker.check((), value, False)
            self._document_done(value, events)
            return
        top = stack[-1]
        if top.__class__ is dict:
            key = self._key
            path = (*self._prefixes[-1], key)
            if self._tracker is not None:
                value = self._tracker.check(path, value, False)
            top[key] = value
        elif self._prov:
            path = (*self._prefixes[-1], len(top) - 1)
            if self._tracker is not None:
                value = self._tracker.check(path, value, False)
            top[-1] = value
        else:
            path = (*self._prefixes[-1], len(top))
            if self._tracker is not None:
                value = self._tracker.check(path, value, False)
            top.append(value)
        self._prov = False
        events.append(ValueCompleted(path, value))
        self._state = _COMMA_OR_CLOSE

    def _close(self, events: list[Event]) -> None:
        container = self._stack.pop()
        path = self._prefixes.pop()
        if self._tracker is not None:
            container = self._tracker.check(path, container, False)
        if not self._stack:
            self._document_done(container, events)
            return
        events.append(ValueCompleted(path, container))
        self._state = _COMMA_OR_CLOSE

    def _document_done(self, value: Any, events: list[Event]) -> None:
        self._root = value
        events.append(ValueCompleted((), value))
        events.append(DocumentCompleted(self._documents, value))
        self._documents += 1
        self._done.append(value)
        self._last_document = value
        if self.multiple_values:
            self._state = _VALUE
            self._root = None
            self._doc_open = False
            self._doc_ended = 1
            if self.tolerances.extract:
                self._seeking = True
                self._x.finder.reset()
        else:
            self._state = _END
            if self._x is not None:
                self._x.prose_doc = not self._x.finder.fenced

    def _whole_document(self, value: Any, events: list[Event]) -> None:
        """A top-level value loaded in one step.  Its members are still reported one by
        one, so a consumer of the top level sees the same events for every chunking."""
        keys = list(value) if value.__class__ is dict else None
        value = self._whole(value)
        if keys is not None and value.__class__ is dict:
            events.append(ValueStarted((), "object"))
            if self._tracker is None:
                _completed_members(events, (), value, 0)
            else:  # (a schema's placeholders for absent keys are not values from the input)
                kt = self._kt
                _completed_members(events, (), {k: value[k] for k in map(kt or str, keys)}, 0)
        elif value.__class__ is list:
            events.append(ValueStarted((), "array"))
            _completed_members(events, (), value, 0)
        elif value.__class__ is str:
            events.append(ValueStarted((), "string"))
        self._document_done(value, events)

    def _whole(self, value: Any) -> Any:
        """A top-level value loaded in one step: transform keys, fill and check it."""
        if self._kt is not None:
            value = _transform_keys(value, self._kt)
        if self._tracker is not None:
            value = self._tracker.whole((), value)
        return value

    # ------------------------------------------------------------------ schemas

    def _track_feed(self, events: list[Event]) -> None:
        """Field states: track the feed's events not tracked yet (a fenced candidate
        puts the tracking of the value in prose aside in the middle of a feed)."""
        done_list, done = self._tracked
        start = done if done_list is events else 0
        self._tracker.track(events[start:] if start else events)  # type: ignore[union-attr]
        self._tracked = (events, len(events))

    def _schema_check(self, path: Path, value: Any, deep: bool) -> Any:
        """(Called by the C half when a value completes; see SchemaTracker.check.)"""
        return self._tracker.check(path, value, deep)  # type: ignore[union-attr]

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

    def _check_doc_size(self, text: str, pos: int) -> bool:
        """A document ended at ``pos``: check its size; True when extraction now looks
        for the next value."""
        self._doc_ended = -1
        used = self._used + _utf8_len(text[self._doc_start : pos])
        if used > self.max_bytes:
            raise self._doc_too_large(text)
        self._used = 0
        return self._seeking

    def _doc_too_large(self, text: str) -> JsonStreamError:
        """The open (or just ended) document, begun at ``_doc_start`` of ``text`` after
        ``_used`` bytes in earlier texts, goes past ``max_bytes``: the error is at the
        character holding its first byte too many, whatever the chunking."""
        start = self._doc_start
        i = start + _chars_within(text[start:], self.max_bytes - self._used)
        return self._fail(
            text, i, f"document larger than max_bytes={self.max_bytes}", limit="max_bytes"
        )

    # ------------------------------------------------------------------ bulk loading

    def _bulk_step(self, text: str, pos: int, events: list[Event]) -> int:
        """(Called by the C half where a top-level value, an array item or an object's key
        starts with at least ``bulk_threshold`` characters left.)  What ``_run`` does
        there: load a run of whole values if one is there; return the index after it, or
        ``pos`` when nothing loaded (the C half then takes the token path).  The C half
        checks the size of a document this ended (``_doc_ended``) where it goes on."""
        if not self._stack:
            return self._bulk_document(text, pos, events)
        return self._bulk_members(text, pos, self._stack[-1].__class__ is dict, events)

    def _bulk_document(self, text: str, pos: int, events: list[Event]) -> int:
        """Load a whole top-level value at ``pos`` in one C call if it is all here."""
        c = text[pos]
        if c != "{" and c != "[":
            return pos
        limit = self._bulk_limit(text, pos)
        if limit == pos:
            return pos
        if (
            not self.multiple_values
            and limit == len(text)
            and not self._whole_tried
            and _ends_with_close(text)
        ):
            try:
                value = strict_loads(text[pos:], self.max_depth, self.max_number_length)
            except NotFast:
                pass
            else:
                self._whole_document(value, events)
                return len(text)
        end = scan_value_end(text, pos, limit, self.max_depth)
        if end < 0:
            self._learn_spine(text, pos, self.max_depth)
            return pos
        try:
            value = strict_loads(text[pos:end], self.max_depth, self.max_number_length)
        except NotFast:
            self._bulk_block = end
            return pos
        self._whole_document(value, events)
        return end

    def _bulk_members(self, text: str, pos: int, in_object: bool, events: list[Event]) -> int:
        """Load the run of whole members at ``pos`` of the open container in one C call."""
        limit = self._bulk_limit(text, pos)
        if limit == pos:  # the member here does not end in this text
            return pos
        top = self._stack[-1]
        depth_left = self.max_depth - len(self._stack) + 1
        if self._prov:
            self._drop_provisional()
        if not in_object and self._sep_owner is top:
            # Items of one array tend to be separated alike ("}, {" ...): guess the last
            # boundary from the separator seen last time.  Only a strict parse of the
            # whole slice accepts the guess, which proves it is a boundary at this depth.
            sep = self._sep
            hit = text.rfind(sep, pos, limit)
            for _ in range(2):
                comma = hit + 1
                if comma <= pos:
                    break
                try:
                    loaded = strict_loads(
                        "[" + text[pos:comma] + "]", depth_left, self.max_number_length
                    )
                except NotFast:
                    hit = text.rfind(sep, pos, hit)
                    continue
                self._add_members(top, loaded, False, events)
                self._state = _VALUE
                return comma + 1
        end, closed, open_at = scan_members(text, pos, in_object, limit, depth_left - 1)
        if open_at >= 0:
            self._learn_spine(text, open_at, depth_left - 1)
        if end < 0:
            return pos
        wrapped = ("{" if in_object else "[") + text[pos:end] + ("}" if in_object else "]")
        try:
            loaded = strict_loads(wrapped, depth_left, self.max_number_length)
        except NotFast:
            self._bulk_block = end
            return pos
        self._add_members(top, loaded, in_object, events)
        if closed:
            self._close(events)
        else:
            self._state = _KEY if in_object else _VALUE
            if not in_object and pos < end and end + 5 <= len(text):
                self._sep = text[end - 1 : end + 5]
                self._sep_owner = top
        return end + 1

    # Cost: a value that does not end in the current text is found by walking its brackets
    # to the end of the text.  The walk also yields the *spine*: every container still
    # open at the end (each nested in the one before).  A run of whole members at any
    # later position ends before the next spine container, so no bulk attempt looks
    # past it, and each level of a cut document costs O(its own members), not O(rest).

    def _bulk_limit(self, text: str, pos: int) -> int:
        """Where a run of whole members from ``pos`` must end: the next container known
        to stay open to the end of ``text`` (``pos`` itself: none can start here)."""
        if self._spine_text is not text:  # (a fact about the text: no reset needed)
            return len(text)
        spine = self._spine
        i = bisect_left(spine, pos)
        return spine[i] if i < len(spine) else len(text)

    def _learn_spine(self, text: str, pos: int, cap: int) -> None:
        """The container at ``pos`` does not end in ``text`` (or nests past ``cap``)."""
        if self._spine_text is text and self._spine and self._spine[0] <= pos:
            return  # already known
        spine, deep = container_spine(text, pos, cap)
        self._spine = spine
        self._spine_text = text
        if deep >= 0:  # past max_depth: the token path will refuse it there
            self._bulk_block = max(self._bulk_block, deep)

    def _add_members(self, top: Any, loaded: Any, in_object: bool, events: list[Event]) -> None:
        prefix = self._prefixes[-1]
        if self._kt is not None:
            loaded = _transform_keys(loaded, self._kt)
        if self._tracker is not None:
            loaded = self._tracker.members(prefix, loaded, in_object, len(top))
        base = len(top)
        if in_object:
            top.update(loaded)
        else:
            top.extend(loaded)
        _completed_members(events, prefix, loaded, base)

    # ------------------------------------------------------------------ finishing

    def _cut_path(self) -> Path:
        """Where the input ends: the open string value, or the innermost open container."""
        if self._in_string and not self._str_is_key:
            return self._str_path
        return self._prefixes[-1] if self._prefixes else ()

    def _incomplete(self) -> bool:
        if self.multiple_values:
            return bool(self._stack or self._in_string or self._held)
        return self._state != _END or bool(self._held)

    def _expected_now(self) -> str:
        if self._in_string:
            return "'\"' to close the string"
        held_number = self._held_kind == _HELD_NUMBER and _NUMBER.fullmatch(self._held)
        if self._state == _COMMA_OR_CLOSE or (held_number and self._stack):
            return "',' or '}'" if self._stack[-1].__class__ is dict else "',' or ']'"
        return _EXPECTED[self._state]

    def _held_value(self, held: str) -> Any:
        """The best value so far of a held number or literal (``hold_numbers=False``):
        exactly what :meth:`finish` keeps if the input ends here, or _MISSING."""
        if self._held_kind == _HELD_LITERAL:
            fit = self._literal_fit(held)
            return _MISSING if fit is None else fit[1]
        return self._number_prefix(held)

    def _literal_fit(self, held: str) -> tuple[str, Any] | None:
        """The one literal that starts with ``held``, or None (none, or ambiguous)."""
        fits = [(w, v) for w, v in self._literal_words if w.startswith(held)]
        return fits[0] if len(fits) == 1 else None

    def _number_prefix(self, held: str) -> Any:
        """The longest number at the start of ``held`` (``1.`` -> 1), or _MISSING."""
        number = self._complete_number(held)
        if number is not _MISSING:
            return number
        m = _NUMBER.match(held)
        return _MISSING if m is None else _number(m.group(), m)

    def _repair(self, repairs: list[Repair], events: list[Event]) -> None:
        held, kind = self._held, self._held_kind
        self._held, self._held_kind = "", _HELD_NONE
        dropped = kind == _HELD_LITERAL
        # LLM mode completes a cut literal when only one fits; with hold_numbers=False the
        # value snapshot() showed is kept (numbers too), so finish() never takes it back.
        if kind == _HELD_LITERAL and (self.lenient or not self.hold_numbers):
            fit = self._literal_fit(held)
            if fit is not None:  # unambiguous: complete it
                word, value = fit
                path = self._child_path()
                self._put(value, events)
                repairs.append(Repair("completed_literal", path, f"completed {held!r} to {word!r}"))
                kind = dropped = False
        elif kind == _HELD_IDENT and self._stack:
            repairs.append(
                Repair(
                    "dropped_key",
                    (*self._prefixes[-1], held),
                    f"dropped incomplete key {held!r}",
                )
            )
            dropped = True
        if kind == _HELD_NUMBER:
            if self.hold_numbers:
                number = self._complete_number(held)
            else:
                number = self._number_prefix(held)
            if number is not _MISSING:  # cut off: it may have had more digits
                path = self._child_path()
                self._put(number, events)
                repairs.append(
                    Repair("kept_number", path, f"kept number {held!r} cut off by the end of input")
                )
            else:
                dropped = True
                self._drop_provisional()
                repairs.append(
                    Repair(
                        "dropped_value", self._child_path(), f"dropped incomplete number {held!r}"
                    )
                )
        elif kind == _HELD_LITERAL:
            self._drop_provisional()
            repairs.append(
                Repair("dropped_value", self._child_path(), f"dropped incomplete literal {held!r}")
            )
        if self._in_string:
            if kind == _HELD_ESCAPE or self._hi >= 0:
                repairs.append(
                    Repair("dropped_escape", self._str_path, "dropped an incomplete escape")
                )
                self._hi = -1
            value = "".join(self._pieces)
            self._in_string = False
            self._pieces = []
            if self._str_is_key:
                path = (*self._prefixes[-1], value)
                repairs.append(Repair("dropped_key", path, f"dropped incomplete key {value!r}"))
                self._state = _COMMA_OR_CLOSE
            else:
                repairs.append(Repair("closed_string", self._str_path, "closed an open string"))
                self._put_string(value, events, self._announced)
        if self._stack:
            st = self._state
            if dropped:
                pass
            elif st == _COLON or (st == _VALUE and self._stack[-1].__class__ is dict):
                repairs.append(
                    Repair(
                        "dropped_key",
                        (*self._prefixes[-1], self._key),
                        f"dropped key {self._key!r} with no value",
                    )
                )
            elif st == _KEY or (st == _VALUE and self._stack[-1].__class__ is list):
                repairs.append(
                    Repair("dropped_comma", self._prefixes[-1], "dropped a trailing comma")
                )
            while self._stack:
                container = self._stack[-1]
                kind_name = "object" if container.__class__ is dict else "array"
                repairs.append(
                    Repair(f"closed_{kind_name}", self._prefixes[-1], f"closed an open {kind_name}")
                )
                self._close(events)

    def _complete_number(self, held: str) -> Any:
        m = _NUMBER.fullmatch(held)
        if m is not None:
            return _number(held, m)
        if self.tolerances.hex_numbers and re.fullmatch(r"-?0[xX][0-9a-fA-F]+", held):
            return int(held, 16)
        return _MISSING

    def _drop_provisional(self) -> None:
        if self._prov and self._stack:
            top = self._stack[-1]
            if top.__class__ is dict:
                top.pop(self._key, None)
            else:
                top.pop()
        self._prov = False

    # ------------------------------------------------------------------ errors

    def _record(self, err: JsonStreamError) -> JsonStreamError:
        self._error = err
        self._hot = False
        return err

    def _limit_exceeded(self) -> JsonStreamError:
        """The input goes past ``max_bytes`` just after what was consumed so far."""
        what = "document" if self.multiple_values else "input"
        return self._record(
            JsonStreamError(
                f"{what} larger than max_bytes={self.max_bytes}",
                offset=self._consumed + _utf8_len(self._held),
                line=self._line,
                column=self._col + len(self._held) + 1,
                limit="max_bytes",
            )
        )

    def _fail_here(
        self, reason: str, *, expected: str = "", truncated: bool = False, sticky: bool = True
    ) -> JsonStreamError:
        err = JsonStreamError(
            reason,
            expected=expected,
            found="end of input" if truncated else "",
            offset=self._consumed + _utf8_len(self._held),
            line=self._line,
            column=self._col + len(self._held) + 1,
            excerpt=self._held[-20:],
            truncated=truncated,
        )
        if truncated or not sticky:
            return err  # the caller may still ask for a repaired result
        return self._record(err)

    def _fail(
        self,
        text: str,
        i: int,
        reason: str,
        expected: str = "",
        *,
        limit: str | None = None,
    ) -> JsonStreamError:
        """Build (and remember) the error for ``text[i]``."""
        if (
            limit is None
            and self.multiple_values
            and self._doc_open
            and self._used + _utf8_len(text[self._doc_start : i]) > self.max_bytes
        ):
            return self._doc_too_large(text)  # a document too long before its error
        self._err_index = i
        nl = text.count("\n", 0, i)
        if nl:
            column = i - text.rfind("\n", 0, i)
        else:
            column = self._col + i + 1
        return self._record(
            JsonStreamError(
                reason,
                expected=expected,
                found=_describe(text, i),
                offset=self._consumed + _utf8_len(text[:i]),
                line=self._line + nl,
                column=column,
                excerpt=text[max(0, i - 20) : i + 20],
                limit=limit,
            )
        )

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        for name in _CORE_FIELDS:  # the fields the C half keeps outside __dict__
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


def _completed_members_py(events: list[Event], prefix: Path, members: Any, base: int) -> None:
    """A ``ValueCompleted`` for each member of a dict or list loaded whole (list items
    numbered from ``base``), after a ``ValueStarted`` for each object, array or string
    member of the top-level value (``prefix`` empty)."""
    items = members.items() if members.__class__ is dict else enumerate(members, base)
    if prefix:
        events.extend([ValueCompleted((*prefix, k), v) for k, v in items])
        return
    for k, v in items:
        kind = _GROWING.get(v.__class__)
        if kind is not None:
            events.append(ValueStarted((k,), kind))
        events.append(ValueCompleted((k,), v))


# The kinds of value that can be seen growing, which a ValueStarted announces.
_GROWING = {dict: "object", list: "array", str: "string"}


_completed_members = (
    _speedups.completed_members if _speedups is not None else _completed_members_py
)


def _transform_keys(value: Any, kt: Any) -> Any:
    """Apply a key transform to every object key in a whole value."""
    if value.__class__ is dict:
        return {kt(k): _transform_keys(v, kt) for k, v in value.items()}
    if value.__class__ is list:
        return [_transform_keys(v, kt) for v in value]
    return value


class _Missing:
    pass


_MISSING: Any = _Missing()

# The attributes the C half stores in its own fields rather than in ``__dict__``.
_CORE_FIELDS: tuple[str, ...] = (
    tuple(
        k
        for k, v in vars(_speedups.Core).items()
        if isinstance(v, (MemberDescriptorType, GetSetDescriptorType))
    )
    if _speedups is not None
    else ()
)


class PurePythonParser(_Parser):
    """:class:`StreamingJsonParser` without the C accelerator (same behaviour, slower).

    ``StreamingJsonParser`` is this class when the accelerator is not built or
    ``JSONVISOR_PURE=1`` is set.
    """

    feed = _Parser._feed_py
    snapshot = _Parser._snapshot_py
    finish = _Parser._finish_py


if _speedups is not None:

    class StreamingJsonParser(_speedups.Core, _Parser):  # type: ignore[misc]
        __doc__ = _Parser.__doc__
        _Extraction = _speedups.Extraction

else:

    class StreamingJsonParser(PurePythonParser):  # type: ignore[no-redef]
        __doc__ = _Parser.__doc__
