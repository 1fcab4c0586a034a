"""Errors at a point of the text, and the byte counts they are reported in.

:class:`_Failing` builds every :class:`~.errors.JsonStreamError` of the pure-Python parser:
for a character of the current text (``_fail``: the character, its byte offset, line and
column; ``_bad_number``, ``_number_too_long``), for the point just after the input
(``_fail_here``, ``_limit_exceeded``), and for a document past ``max_bytes`` in
``multiple_values`` mode (``_check_doc_size`` where a document ends, ``_doc_too_large``).
``_record`` makes an error the parser's: it is raised again for any further input and from
:meth:`finish`.

Fields it owns: ``_error`` (the parser's error) and ``_err_index`` (where in the text the
last error is, for :mod:`._extracting` to resume seeking there); with the scanner and the
feed, the count of one document's bytes against ``max_bytes``: ``_used`` (bytes in earlier
texts), ``_doc_open``, ``_doc_start`` (where the open document starts in the current text)
and ``_doc_ended`` (a document just ended: check its size).  It reads the positions the
feed keeps (``_consumed``, ``_line``, ``_col``) and the held token (``_held``).

Tests: ``tests/test_parser_errors.py``, ``tests/test_parser_regressions.py``.
"""

from __future__ import annotations

from ._scanner import _NUMBER_PREFIX
from .errors import JsonStreamError


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


def _describe(text: str, i: int) -> str:
    if i >= len(text):
        return "end of input"
    c = text[i]
    if c.isprintable() and c != " ":
        return repr(c)
    return f"U+{ord(c):04X}"


class _Failing:
    """Errors and size limits (a part of ``_Parser``; see the module)."""

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
