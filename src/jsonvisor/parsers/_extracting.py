"""Extraction (LLM mode) at the parser's level: seeking JSON in prose, and values on trial.

The fence finder (:class:`~.extract.Extractor`, in ``_x.finder``) says where a value may
start; every value found there is a *candidate* (a trial, :class:`~.extract.Candidate`):
its events are held back in the candidate until it proves to be JSON, which it does at the
first of

- a double-quoted string (key or value) beginning in it, or
- a value completing in it (a member, a nested value, or the candidate itself).

Both are points in the text, so whether a candidate is proven at any position does not
depend on the chunking.  A candidate that fails before it is proven is dropped and seeking
resumes at the character that failed it (never rescanning earlier input); an exceeded
limit is never "not JSON" and always raises.  A candidate in a JSON fence that a value
found in prose already precedes replaces that value only once proven; until then
:meth:`snapshot` shows the value in prose.

:class:`_Extracting` holds the loop that alternates seeking and the token path
(``_extracting``), the life of a trial (``_begin_trial``, ``_flush_trial``,
``_reject_trial``, ``_reset_document``; the C backend's own are in ``_c_trial.h``) and
``_quiet_now``.

Fields it owns: ``_x`` (the :class:`~.extract.Extraction`: finder, fence state, whether the
value was found in prose; the C backend's own type when built), ``_seeking``,
``_candidate``, ``_stopped`` (the value is over: ignore the rest) and ``_quiet`` (what a
chunk must hold to matter while seeking: the C backend passes over chunks without them).
``_reset_document`` resets the tree of :mod:`._scanner`; a rejected trial restores the
documents it put aside.

Tests: ``tests/test_parser_extracting.py``, ``tests/test_llm_mode.py`` (and
``tests/test_extract.py`` for the finder and the candidate on their own).
"""

from __future__ import annotations

from ._scanner import _END, _HELD_LITERAL, _HELD_NONE, _HELD_NUMBER, _VALUE, _VALUE_OR_CLOSE
from .errors import JsonStreamError
from .events import Event
from .extract import Candidate

_TOKEN_CHARS = frozenset("+-.0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
"""What a number or a literal is made of (a token the closing fence may cut short)."""


class _Extracting:
    """Seeking and trials (a part of ``_Parser``; see the module)."""

    def _quiet_now(self) -> int:
        """While looking for JSON in prose: which characters a chunk must hold to matter
        (see Extractor.quiet; 0: any)."""
        x = self._x
        if x is None or not self._seeking or self._candidate is not None or self._held:
            return 0
        return 0 if self._pending else x.finder.quiet()

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
                    self._hold_cut_token(text, i)
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

    def _hold_cut_token(self, text: str, i: int) -> None:
        """A number or literal the closing fence at ``text[i]`` cut short is held, as the
        end of the input would leave it: ``finish()`` keeps or drops it, whether it came
        in one chunk or ``snapshot()`` already showed its first part.  (Once stopped, a
        held token is not joined to later input, nor left out of the positions.)"""
        if self._state != _VALUE and self._state != _VALUE_OR_CLOSE:
            return
        start = i
        while start > 0 and text[start - 1] in _TOKEN_CHARS:
            start -= 1
        if start < i:
            token = text[start:i]
            letter = token[0].isalpha() or (token[0] == "-" and token[1:2].isalpha())
            self._hold(token, _HELD_LITERAL if letter else _HELD_NUMBER)

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
