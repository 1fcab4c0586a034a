"""Plain text or JSON (no provider envelope): the whole input is one message."""

from __future__ import annotations

import codecs
from typing import Any

from .base import Adapter
from .items import Delta, Item, MessageEnd, MessageStart

__all__ = ["PlainAdapter"]


class PlainAdapter(Adapter):
    """Raw bytes or text as one text message ``msg_id`` (default ``"stdin"``).

    Bytes are decoded incrementally as UTF-8 (one leading BOM dropped); ``close`` ends the
    message with reason ``"eof"``: whether the JSON is complete is the parser's call.
    """

    format = "json"

    def __init__(self, msg_id: str = "stdin", *, fallback_id: str | None = None) -> None:
        super().__init__(fallback_id=fallback_id)
        self.msg_id = msg_id
        self._utf8 = codecs.getincrementaldecoder("utf-8-sig")(errors="strict")
        self._started = False

    def feed(self, chunk: Any) -> list[Item]:
        """Consume bytes (or ``str``) of the document; return the new text as a ``Delta``."""
        if self._closed:
            raise RuntimeError("feed() after close()")
        text = chunk if isinstance(chunk, str) else self._utf8.decode(bytes(chunk))
        return self._text(text)

    def close(self) -> list[Item]:
        """End of input: ``MessageEnd(msg_id, "eof")`` if any text came."""
        if self._closed:
            return []
        out = self._text(self._utf8.decode(b"", final=True))
        self._closed = True
        if self._started:
            out.append(MessageEnd(self.msg_id, "eof"))
        return out

    def _text(self, text: str) -> list[Item]:
        if not text:
            return []
        out: list[Item] = []
        if not self._started:
            self._started = True
            out.append(MessageStart(self.msg_id, "text"))
        out.append(Delta(self.msg_id, text))
        return out
