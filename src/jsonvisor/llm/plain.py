"""Plain text or JSON (no provider envelope): the whole input is one message."""

from __future__ import annotations

import codecs
from typing import Any

from .base import Adapter
from .items import Delta, Item, MessageStart, StreamError

__all__ = ["PlainAdapter"]

_BOM = "\ufeff"


class PlainAdapter(Adapter):
    """Raw bytes or text as one text message ``msg_id`` (default ``"stdin"``).

    Bytes are decoded incrementally as UTF-8 (one leading BOM dropped); ``close`` ends the
    message with reason ``"eof"``: whether the JSON is complete is the parser's call.

    Bytes that are not UTF-8 end the input, as a malformed event ends a provider stream:
    the message, if it got text, is cut (``StreamError(msg_id, message, truncated=True)``),
    then ``StreamError(None, message)`` names the offending byte and its offset; anything
    fed after it is ignored.  A chunk that is neither bytes nor ``str`` raises
    ``TypeError`` (a caller's mistake, not input).
    """

    format = "json"

    def __init__(self, msg_id: str = "stdin", *, fallback_id: str | None = None) -> None:
        super().__init__(fallback_id=fallback_id)
        self.msg_id = msg_id
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="strict")
        self._fed = 0  # bytes fed so far
        self._bom_checked = False  # the first decoded bytes were checked for a BOM
        self._started = False  # text came (a MessageStart was emitted)
        self._broken = False  # invalid UTF-8 ended the input

    def feed(self, chunk: Any) -> list[Item]:
        """Consume bytes (or ``str``) of the document; return the new text as a ``Delta``."""
        if self._closed:
            raise RuntimeError("feed() after close()")
        if isinstance(chunk, str):
            return [] if self._broken else self._text(chunk)
        if not isinstance(chunk, (bytes, bytearray, memoryview)):
            raise TypeError(f"PlainAdapter reads bytes or str, not {type(chunk).__name__}")
        return self._decode(bytes(chunk), final=False)

    def close(self) -> list[Item]:
        """End of input: ``MessageEnd(msg_id, "eof")`` if any text came."""
        if self._closed:
            return []
        out = self._decode(b"", final=True)
        self._closed = True
        self._end(out, self.msg_id, "eof")
        return out

    def _decode(self, data: bytes, *, final: bool) -> list[Item]:
        if self._broken:
            return []
        pending = len(self._utf8.getstate()[0])  # bytes of a character cut by the last chunk
        start = self._fed - pending
        self._fed += len(data)
        try:
            text = self._utf8.decode(data, final=final)
        except UnicodeDecodeError as exc:
            # the text before the bad byte is good: it goes out first
            out = self._text(self._strip_bom(exc.object[: exc.start].decode("utf-8")))
            return self._invalid(out, start + exc.start, exc.object[exc.start])
        return self._text(self._strip_bom(text))

    def _strip_bom(self, text: str) -> str:
        if text and not self._bom_checked:
            self._bom_checked = True
            if text.startswith(_BOM):
                return text[1:]
        return text

    def _invalid(self, out: list[Item], offset: int, byte: int) -> list[Item]:
        """Bytes that are not UTF-8 at ``offset``: the input ends here."""
        self._broken = True
        message = (
            f"malformed {self.format} input: invalid UTF-8 at byte {offset} (0x{byte:02x});"
            " the input must be UTF-8 text"
        )
        self._error(out, self.msg_id, message, True)
        out.append(StreamError(None, message, False))
        return out

    def _text(self, text: str) -> list[Item]:
        if not text:
            return []
        out: list[Item] = []
        if not self._started:
            self._started = True
            self._open[self.msg_id] = 0
            out.append(MessageStart(self.msg_id, "text"))
        if self.msg_id in self._open:
            self._open[self.msg_id] += len(text)
            out.append(Delta(self.msg_id, text))
        return out
