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

Two implementations behave the same: :class:`PureSSEDecoder` (the reference, in Python) and
the C accelerator (``_sse.c``, built when a C compiler is there).  :class:`SSEDecoder` uses
the C one unless it is missing or ``JSONVISOR_PURE=1`` is set.  ``str`` input is taken as
its UTF-8 encoding (a lone surrogate in it becomes U+FFFD, as any invalid input does).
"""

from __future__ import annotations

import codecs
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ACCELERATOR",
    "PureSSEDecoder",
    "SSEDecodeError",
    "SSEDecoder",
    "ServerSentEvent",
    "compile_projection",
    "fill_template",
]

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


class PureSSEDecoder:
    """The reference decoder, in Python: ``feed(bytes) -> list[ServerSentEvent]``.

    ``max_line_length`` (bytes of UTF-8, default 16 Mi) bounds the memory one unterminated
    line may take; past it :meth:`feed` raises :class:`SSEDecodeError`.
    """

    accelerated = False

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
        """True if an unterminated line (or part of one) or an undispatched block is buffered."""
        return bool(
            self._line
            or self._data
            or self._event
            or self._retry is not None
            or self._utf8.getstate()[0]
        )

    def feed(self, data: bytes | bytearray | memoryview | str) -> list[ServerSentEvent]:
        """Consume the next bytes (``str``: its UTF-8) and return the completed events."""
        if self._closed:
            raise RuntimeError("feed() after close()")
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogatepass")
        return self._text(self._utf8.decode(data))

    def feed_pairs(
        self, data: bytes | bytearray | memoryview, projection: Any = None
    ) -> list[tuple[str, Any]]:
        """``(event type, data str)`` for each completed event (``projection`` is unused)."""
        return [(e.event, e.data) for e in self.feed(data)]

    def close(self) -> list[ServerSentEvent]:
        """End of stream.  Returns ``[]``: an event without its blank line is discarded."""
        if not self._closed:
            self._text(self._utf8.decode(b"", final=True))
            self._closed = True
        self._line.clear()
        self._line_len = 0
        self._data.clear()
        self._event = ""
        self._retry = None
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
                tail = text[pos:]
                self._line.append(tail)
                self._line_len += (
                    len(tail) if tail.isascii() else len(tail.encode("utf-8", "replace"))
                )
                if self._line_len > self._max_line:
                    raise SSEDecodeError(f"line longer than {self._max_line} bytes")
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
                try:
                    self._retry = self.retry = int(value)
                except ValueError:  # past int's digit limit: not a valid retry
                    pass

    def _dispatch(self, events: list[ServerSentEvent]) -> None:
        data, event, retry = self._data, self._event, self._retry
        self._data, self._event, self._retry = [], "", None
        if data:
            events.append(
                ServerSentEvent("\n".join(data), event or "message", self.last_event_id, retry)
            )


def _load() -> Any:
    """The C accelerator module, set up; None when not built or ``JSONVISOR_PURE=1``."""
    if os.environ.get("JSONVISOR_PURE", "") not in ("", "0"):
        return None
    try:
        from . import _sse  # type: ignore[attr-defined]
    except ImportError:
        return None
    _sse.setup(ServerSentEvent, SSEDecodeError)
    return _sse


#: The C accelerator module (``jsonvisor.llm._sse``), or None.  Decoders made while it is
#: None are pure Python (tests set it to None to run the reference).
ACCELERATOR: Any = _load()


class SSEDecoder:
    """Incremental ``text/event-stream`` decoder: ``feed(bytes) -> list[ServerSentEvent]``.

    Runs on the C accelerator when it is built (:attr:`accelerated`), else on
    :class:`PureSSEDecoder`; the events are the same.  ``max_line_length`` (bytes, default
    16 Mi) bounds the memory one unterminated line may take; past it :meth:`feed` raises
    :class:`SSEDecodeError`.
    """

    __slots__ = ("_core",)

    def __init__(self, *, max_line_length: int = 16 * 1024 * 1024) -> None:
        accel = ACCELERATOR
        self._core: Any = (
            accel.Decoder(max_line_length=max_line_length)
            if accel is not None
            else PureSSEDecoder(max_line_length=max_line_length)
        )

    @property
    def accelerated(self) -> bool:
        """True when this decoder runs on the C accelerator."""
        return not isinstance(self._core, PureSSEDecoder)

    @property
    def pending(self) -> bool:
        """True if an unterminated line (or part of one) or an undispatched block is buffered."""
        return bool(self._core.pending)

    @property
    def last_event_id(self) -> str | None:
        """The last event id seen (kept across events, as the standard says)."""
        return self._core.last_event_id

    @property
    def retry(self) -> int | None:
        """The latest valid ``retry`` value (milliseconds) seen on the stream."""
        return self._core.retry

    def feed(self, data: bytes | bytearray | memoryview | str) -> list[ServerSentEvent]:
        """Consume the next bytes (``str``: its UTF-8) and return the completed events."""
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogatepass")
        return self._core.feed(data)  # type: ignore[no-any-return]

    def feed_pairs(
        self, data: bytes | bytearray | memoryview | str, projection: Any
    ) -> list[tuple[str, Any]]:
        """The adapters' fast path: ``(event type, data)`` per completed event.

        ``projection`` (from :func:`compile_projection`, or None) lets the C decoder give an
        event's data already decoded: a ``dict`` holding only the projection's keys, when
        the data is a JSON object it can read exactly.  Otherwise (and always in pure
        Python) the data is the ``str``, for the caller's JSON decoder.
        """
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogatepass")
        return self._core.feed_pairs(data, projection)  # type: ignore[no-any-return]

    def close(self) -> list[ServerSentEvent]:
        """End of stream.  Returns ``[]``: an event without its blank line is discarded."""
        return self._core.close()  # type: ignore[no-any-return]


def compile_projection(spec: dict[str, Any], templates: Sequence[dict[str, Any]] = ()) -> Any:
    """``spec`` compiled for :meth:`SSEDecoder.feed_pairs` (None without the accelerator).

    ``spec`` maps each key the caller reads to ``None`` (a scalar; a container there makes
    the event fall back to the ``str``), to a dict (an object, read the same way) or to
    ``[spec]`` (an array whose items are read by ``spec``).

    ``templates`` describe frequent events, over the keys of ``spec``: a key maps to
    ``...`` (capture the scalar), ``(...,)`` (capture it, ``None`` when absent), a string
    (the value must be that string), ``None`` (null or absent), a dict (an object matching
    that template) or ``[template]`` (an array of exactly one such object); a key of
    ``spec`` not in the template must be absent.  An event matching one comes as the tuple
    ``(template index, captures...)``, the captures in the order the template is written;
    :func:`fill_template` turns it back into the projected dict (absent keys as ``None``).
    """
    accel = ACCELERATOR
    return None if accel is None else accel.Projection(spec, list(templates))


def fill_template(template: dict[str, Any], captures: Sequence[Any]) -> dict[str, Any]:
    """The dict a template match stands for: ``template`` with ``captures`` put in."""
    values = iter(captures)

    def fill(node: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, want in node.items():
            if want is ... or (want.__class__ is tuple and want == (...,)):
                out[key] = next(values)
            elif isinstance(want, dict):
                out[key] = fill(want)
            elif isinstance(want, list):
                out[key] = [fill(want[0])]
            else:
                out[key] = want
        return out

    return fill(template)
