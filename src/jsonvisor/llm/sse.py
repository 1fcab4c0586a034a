"""An incremental, sans-IO decoder for server-sent events (the WHATWG ``text/event-stream``).

Feed it bytes exactly as they come off a socket, split anywhere (inside a UTF-8 character,
between the CR and the LF of a CRLF), and it returns the events completed so far::

    decoder = SSEDecoder()
    for chunk in chunks:
        for event in decoder.feed(chunk):
            print(event.event, event.data)
    decoder.close()

It follows the WHATWG "Interpreting an event stream" rules: UTF-8 with replacement, one
leading BOM skipped, lines ended by CRLF, LF or CR, ``:`` comment lines ignored, one space
after the colon dropped, ``data`` lines joined with ``"\\n"``, ``id`` kept across events
(and ignored when it contains NUL), ``retry`` taken only when all ASCII digits, unknown
fields ignored, and a block with no ``data`` line not dispatched.  As the standard says, an
event not followed by a blank line when the stream ends is incomplete and discarded:
:meth:`SSEDecoder.close` never dispatches it (:attr:`SSEDecoder.pending` tells whether
something was left over).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

__all__ = ["SSEDecodeError", "SSEDecoder", "ServerSentEvent"]

_EOL = re.compile(r"\r\n|\r|\n")
_BOM = "\ufeff"


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One dispatched event.

    ``event`` is the type (``"message"`` when no ``event:`` field was given), ``data`` the
    ``data:`` lines joined with ``"\\n"``, ``id`` the last event id seen on the stream so
    far (``None`` before any), ``retry`` the reconnection time in milliseconds if this
    event's block set one.
    """

    data: str
    event: str = "message"
    id: str | None = None
    retry: int | None = None


class SSEDecodeError(ValueError):
    """A line grew beyond the decoder's ``max_line_length``."""


class SSEDecoder:
    """Incremental ``text/event-stream`` decoder: ``feed(bytes) -> list[ServerSentEvent]``.

    ``max_line_length`` (characters, default 16 Mi) bounds the memory one unterminated
    line may take; past it :meth:`feed` raises :class:`SSEDecodeError`.
    """

    def __init__(self, *, max_line_length: int = 16 * 1024 * 1024) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._max_line = max_line_length
        self._started = False  # the BOM check is done
        self._skip_lf = False  # the previous text ended with CR: drop a leading LF
        self._line: list[str] = []  # the unterminated line, in pieces
        self._line_len = 0
        self._data: list[str] = []
        self._event = ""
        self._retry: int | None = None
        self._closed = False
        #: The last event id buffer: kept across events, as the standard says.
        self.last_event_id: str | None = None
        #: The latest valid ``retry`` value (milliseconds) seen on the stream.
        self.retry: int | None = None

    @property
    def pending(self) -> bool:
        """True if an unterminated line or an undispatched event block is buffered."""
        return bool(self._line or self._data or self._event or self._retry is not None)

    def feed(self, data: bytes | bytearray | memoryview | str) -> list[ServerSentEvent]:
        """Consume the next bytes (or already-decoded text) and return completed events."""
        if self._closed:
            raise RuntimeError("feed() after close()")
        text = data if isinstance(data, str) else self._utf8.decode(data)
        return self._text(text)

    def close(self) -> list[ServerSentEvent]:
        """End of stream.  Returns ``[]``: an event without its blank line is discarded."""
        if not self._closed:
            self._text(self._utf8.decode(b"", final=True))
            self._closed = True
        self._line.clear()
        self._data.clear()
        return []

    def _text(self, text: str) -> list[ServerSentEvent]:
        if not text:
            return []
        if not self._started:
            self._started = True
            if text.startswith(_BOM):
                text = text[1:]
        if self._skip_lf and text:
            self._skip_lf = False
            if text[0] == "\n":
                text = text[1:]
        events: list[ServerSentEvent] = []
        pos, end = 0, len(text)
        while pos < end:
            m = _EOL.search(text, pos)
            if m is None:
                self._line.append(text[pos:])
                self._line_len += end - pos
                if self._line_len > self._max_line:
                    raise SSEDecodeError(f"line longer than {self._max_line} characters")
                break
            line = text[pos : m.start()]
            if self._line:
                self._line.append(line)
                line = "".join(self._line)
                self._line.clear()
                self._line_len = 0
            self._process(line, events)
            pos = m.end()
            if pos == end and m.group() == "\r":
                self._skip_lf = True
        return events

    def _process(self, line: str, events: list[ServerSentEvent]) -> None:
        if not line:
            self._dispatch(events)
            return
        if line[0] == ":":
            return
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self.last_event_id = value
        elif name == "retry":
            if value.isascii() and value.isdigit():
                self._retry = self.retry = int(value)

    def _dispatch(self, events: list[ServerSentEvent]) -> None:
        data, event, retry = self._data, self._event, self._retry
        self._data, self._event, self._retry = [], "", None
        if data:
            events.append(
                ServerSentEvent("\n".join(data), event or "message", self.last_event_id, retry)
            )
