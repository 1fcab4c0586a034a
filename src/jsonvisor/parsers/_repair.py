"""The end of the input: ``finish()``'s Python implementation and the repairs.

:class:`_Repairing` holds ``_finish_py`` (the whole of :meth:`finish` on the pure-Python
backend; the C one's is ``_c_finish.h``), ``_repair``, which closes off what is open and
lists each step as a :class:`~.result.Repair`, and what they and :meth:`snapshot` ask of a
cut input: where it ends (``_cut_path``), whether it is incomplete and what was expected
there (``_incomplete``, ``_expected_now``), what a held number or literal is worth
(``_held_value``, ``_literal_fit``, ``_number_prefix``, ``_complete_number``; ``_MISSING``
when nothing) and taking back a value :meth:`snapshot` put in provisionally
(``_drop_provisional``, the bulk path's too).

Field it owns: ``_result`` (the :class:`~.result.ParseResult`, returned again by every
later call).  It reads and closes off the state of :mod:`._scanner` (the tree, the open
string, the held token), ends a value on trial (:mod:`._extracting`), and reads
``_pending`` (bytes cut inside a character) and ``_tracker``.

Tests: ``tests/test_parser_repair.py``.
"""

from __future__ import annotations

import re
from typing import Any

from ._scanner import (
    _COLON,
    _COMMA_OR_CLOSE,
    _END,
    _EXPECTED,
    _HELD_ESCAPE,
    _HELD_IDENT,
    _HELD_LITERAL,
    _HELD_NONE,
    _HELD_NUMBER,
    _KEY,
    _NUMBER,
    _VALUE,
    _number,
)
from .events import Event, Path
from .result import ParseResult, Repair


class _Repairing:
    """finish() and the repairs (a part of ``_Parser``; see the module)."""

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


class _Missing:
    pass


_MISSING: Any = _Missing()
