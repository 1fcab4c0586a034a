"""The incremental parser: chunks in, events and a live partial value out.

Theory of operation
===================

Sans-IO: no Trio, no threads, no I/O.  This module is the contract, and ``_Parser`` its
pure-Python reference implementation.  ``_speedups.c`` is a second, complete backend of
it that must give identical events, snapshots, results and errors (tested by
``tests/test_speedups.py``, the fuzzer in ``tests/test_fuzz_invariants.py``, and every
parser test run over both backends, see ``tests/conftest.py``).  The two share only their
face (:mod:`._face`: the keywords and options, the fields a parser starts with, the
read-only public API and pickling); the C type runs feed(), snapshot() and finish() for
every mode itself and is not a subclass of ``_Parser``, so no Python implementation runs
behind it.

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
(``_fail`` in :mod:`._failing`: the character there, its byte offset, line and column), or
for the point just after the input (``_fail_here``, ``_limit_exceeded``); the parser keeps
it and raises it again for any further input and from :meth:`finish`.  :meth:`finish`
(:mod:`._repair`) takes the end of the input as a delimiter (a held top-level number
completes), then closes off what is open, listing each step as a :class:`~.result.Repair`
(``_repair``; bytes cut inside a character are dropped too), and rates the result
(``complete``, ``confidence``).

Events (see :mod:`.events`).  The root and each member of the root get, whatever the
chunking, exactly one ``ValueCompleted``, preceded by exactly one ``ValueStarted`` when
the value is an object, array or string (scalars appear whole).  Deeper values are
reported either one by one (token path) or inside the completion of an ancestor loaded
whole (bulk path, below): which one depends on where the chunks fall.  Deeper down,
``ValueStarted`` comes when the token path opens a container and for a string still open
at the end of a feed.  ``StringGrew`` carries only new text.  Applying every event in order rebuilds
exactly what :meth:`snapshot` shows.  Snapshots are monotone (strings grow, members are
added), except that a value found in prose is replaced by a later fenced one, and a key
repeated in one object takes its last value (as in ``json.loads``; the token path then
completes that member once per occurrence, a run loaded whole once, with the last).

Bulk path (:mod:`._bulk`).  Where at least ``bulk_threshold`` characters are left, the run of whole
members at the current position is found by a boundary scan (:mod:`.fastpath`, in C
when built), checked strictly and loaded in one call (``orjson``, or ``ujson`` where
``orjson`` is not exact; see :func:`.fastpath.strict_loads`).  A value that does not
end in the text yields its *spine*, every container open at the end; later attempts stop
before it, and a walk stops past ``max_depth``.  So every text costs O(its length),
whatever its nesting or where it is cut.

Extraction (LLM mode) is described in :mod:`._extracting`.

The parts.  ``_Parser``, the pure-Python reference backend, is the face plus a part per
concern, each a mixin in its own module; the state is divided the same way (every field
is set in ``_ParserFace._init_state``; the C backend keeps them as typed C fields under
the same names, one stage file per concern, listed in ``_speedups.c``)::

    streaming.py    feeding (_feed_py, _feed_str, _decode, _feed_text, _feed_head,
                    _feed_body, _feed_tail), _snapshot_py, the public API, pickling.
                    Owns the input's positions and decoding: _consumed, _line, _col,
                    _pending, _hot, _grew_from; the schema's side: _tracker, _tracked.
    _scanner.py     the token machine and the value tree (_run, _value, _string,
                    _set_key, _put, _close, _document_done, ...) and the grammar's
                    states and regexes.  Owns the tree (_stack, _prefixes, _key,
                    _state, _root, _prov), the open string (_in_string, _str_is_key,
                    _str_path, _pieces, _announced, _hi, _quote), comments
                    (_in_comment, _comment_star), the held token (_held, _held_kind)
                    and the completed documents (_done, _documents, _last_document).
    _bulk.py        the bulk path (_bulk_document, _bulk_members, ...).  Owns
                    _bulk_block, _spine, _spine_text, _sep, _sep_owner.
    _extracting.py  extraction: seeking, values on trial (_extracting, _begin_trial,
                    _flush_trial, _reject_trial, _reset_document, _quiet_now).  Owns
                    _x, _seeking, _candidate, _stopped, _quiet.
    _repair.py      finish() in Python (_finish_py) and the repairs (_repair, ...).
                    Owns _result.
    _failing.py     errors at a point of the text, and the max_bytes checks (_fail,
                    _fail_here, _record, _limit_exceeded, _doc_too_large, ...).  Owns
                    _error, _err_index; with the scanner and the feed, one document's
                    byte count: _used, _doc_open, _doc_start, _doc_ended.

The parser's configuration is the frozen, shared :class:`~.options.ParserOptions`
(:mod:`.options`), whose ``settings`` become fields of every parser (``multiple_values``,
``max_bytes``, ``tolerances``, ``_literals``, ``_kt``, ``_schema``, ...); the schema's side
of a parse (checks, warnings, field states) is :class:`~.tracking.SchemaTracker`
(:mod:`.tracking`); the fence finder, :mod:`.extract`; the bulk scanners, :mod:`.fastpath`.
(The C sources name the Python methods each of their functions mirrors.)
"""

from __future__ import annotations

import codecs
from collections import deque
from typing import Any

from ._bulk import _Bulk
from ._extracting import _Extracting
from ._face import _ParserFace
from ._failing import _chars_within, _Failing, _utf8_len
from ._repair import _MISSING, _Repairing
from ._scanner import _END, _HELD_LITERAL, _HELD_NONE, _HELD_NUMBER, _STR_SPECIAL, _Scanner
from .accelerator import SPEEDUPS
from .accelerator import speedups as _speedups
from .errors import JsonStreamError
from .events import Event, StringGrew, ValueStarted

__all__ = ["SPEEDUPS", "PurePythonParser", "StreamingJsonParser"]


class _Parser(_ParserFace, _Scanner, _Bulk, _Extracting, _Repairing, _Failing):
    """The pure-Python backend: the reference implementation of the contract above."""

    def _copy_state(self, proto: _Parser) -> None:
        """Start as a copy of ``proto``, a parser that has not been fed, with mutable
        parts of its own (the C backend's is ``core_copy_state``)."""
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

    # ------------------------------------------------------------------ feeding

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


    def _feed_head(self, chunk: str, nbytes: int) -> tuple[str, int]:
        """Count ``chunk`` (``nbytes`` of UTF-8, within the limit) as used; return the
        text to parse (held token first) and ``nbytes``."""
        if not self.multiple_values:
            self._used += nbytes
        held = self._held
        if held and not self._stopped:  # (once stopped, a held token stays as it is)
            text = held + chunk
            self._held = ""
            self._held_kind = _HELD_NONE
        else:
            text = chunk
        self._bulk_block = 0
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
        # (a token the closing fence cut, held once stopped, is not at the end of ``text``)
        held = "" if self._stopped else self._held
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

    # ------------------------------------------------------------------ schemas

    def _track_feed(self, events: list[Event]) -> None:
        """Field states: track the feed's events not tracked yet (a fenced candidate
        puts the tracking of the value in prose aside in the middle of a feed)."""
        done_list, done = self._tracked
        start = done if done_list is events else 0
        self._tracker.track(events[start:] if start else events)  # type: ignore[union-attr]
        self._tracked = (events, len(events))



class PurePythonParser(_Parser):
    """:class:`StreamingJsonParser` without the C accelerator (same behaviour, slower).

    ``StreamingJsonParser`` is this class when the accelerator is not built or
    ``JSONVISOR_PURE=1`` is set.
    """

    feed = _Parser._feed_py
    snapshot = _Parser._snapshot_py
    finish = _Parser._finish_py


if _speedups is not None:

    class StreamingJsonParser(_speedups.Core, _ParserFace):  # type: ignore[misc]
        # The C backend: its own feed(), snapshot() and finish() over the fields the face
        # sets; none of the Python engine's methods (it is not a _Parser).
        __doc__ = _ParserFace.__doc__
        _Extraction = _speedups.Extraction

else:

    class StreamingJsonParser(PurePythonParser):  # type: ignore[no-redef]
        __doc__ = _ParserFace.__doc__
