"""The token machine of the pure-Python parser: text in, the value tree and events out.

:class:`_Scanner` holds ``_run``, the loop over one text in the states below, and what it
calls: values (``_value``), literals, numbers, LLM mode's lenient tokens, comments, keys
(``_set_key``) and strings (``_string``); and the value tree it
builds in place (``_child_path``, ``_insert``, ``_put_string``, ``_put``, ``_close``,
``_document_done``).  The module-level states, held-token kinds and regexes are the
grammar the other parts of the parser share (``_speedups.c`` mirrors them).

Fields it owns (all set in ``_Parser._init_state``):

- the tree: ``_stack``, ``_prefixes``, ``_key``, ``_state``, ``_root``, ``_prov`` (a
  provisional value :meth:`snapshot` put at the current slot);
- the open string: ``_in_string``, ``_str_is_key``, ``_str_path``, ``_pieces``,
  ``_announced``, ``_hi``, ``_quote``; comments: ``_in_comment``, ``_comment_star``;
- the held token: ``_held``, ``_held_kind``;
- completed documents: ``_done``, ``_documents``, ``_last_document``.

It reads the options' settings and ``_tracker``, marks the trial ``_candidate`` quoted,
ends or resumes extraction at the end of a document (``_seeking``, ``_stopped``, ``_x``),
asks :mod:`._bulk` first where ``bulk_threshold`` characters are left (``_bulk_block``),
and opens and ends documents for the size checks of :mod:`._failing` (``_doc_open``,
``_doc_start``, ``_doc_ended``, ``_used``).

Tests: ``tests/test_parser_behaviour.py``, ``tests/test_parser_properties.py`` (every
chunking against ``json.loads`` and an independent oracle), ``tests/test_parser_regressions.py``.
"""

from __future__ import annotations

import math
import re
from typing import Any

from .events import DocumentCompleted, Event, Path, ValueCompleted, ValueStarted

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


def _number(tok: str, m: re.Match[str]) -> int | float:
    if m.group(1) is None and m.group(2) is None:
        return int(tok)
    return float(tok)


class _Scanner:
    """The token path and the value tree (a part of ``_Parser``; see the module)."""

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
            return self._string_value(text, pos, _SIMPLE_STRING, events)
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

    def _string_value(
        self, text: str, pos: int, simple: re.Pattern[str], events: list[Event]
    ) -> int:
        """A string value quoted by ``text[pos]``: whole when ``simple`` (a string of plain
        characters closed in this text) matches, else opened; return the new index."""
        m = simple.match(text, pos)
        if m is not None:
            self._put_string(m.group(1), events, False)
            return m.end()
        self._start_string(False, self._child_path(), text[pos])
        return pos + 1

    def _lenient_value(self, text: str, pos: int, c: str, events: list[Event]) -> int:
        """Single-quoted strings and a trailing comma before ']'; -1 when neither."""
        tol = self.tolerances
        if c == "'" and tol.single_quotes:
            return self._string_value(text, pos, _SIMPLE_STRING_SQ, events)
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
