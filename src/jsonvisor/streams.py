"""One stream, one loop: model output in, an :class:`Update` after each chunk.

>>> import jsonvisor
>>> for update in jsonvisor.stream_sync(['{"city": "Par', 'is", "days": 3}']):
...     print(update.value, update.done)
{'city': 'Par'} False
{'city': 'Paris', 'days': 3} False
{'city': 'Paris', 'days': 3} True

:func:`stream` does the same over an async iterable (``async for update in
jsonvisor.stream(chunks)``); it makes no event-loop call of its own (it only awaits the
source), so it runs unchanged under asyncio, Trio or AnyIO.  :func:`stream_sync` is its twin
for plain iterables, and :class:`Streamer` the sans-IO core both are built on.

**What the source holds.**  ``str``/``bytes`` chunks of one JSON document (split anywhere),
or a provider's stream: raw server-sent-event bytes, parsed SSE events, or the chunk
objects of the OpenAI, Anthropic or Gemini SDKs (see :mod:`jsonvisor.llm`).
``format="auto"`` (the default) tells them apart like ``jsonvisor parse`` does:

- SDK objects and dicts by their fields (``choices`` for OpenAI Chat, a ``type`` of
  ``response.*`` for OpenAI Responses, ``message_start``/``content_block_*``... for
  Anthropic, ``candidates`` for Gemini);
- text and bytes by their first characters: input that cannot be server-sent events (it
  starts with ``{``, ``[`` or anything but an SSE field) is the JSON document itself, fed to
  the parser from the first chunk; SSE is read until its first event names the provider
  (:func:`jsonvisor.llm.detect_format`; a stream of no known provider raises
  :class:`ValueError` after 4 KiB).

``format="json"`` skips the guess; ``"openai-chat"``, ``"openai-responses"``,
``"anthropic"`` or ``"gemini"`` (or an :class:`~jsonvisor.llm.Adapter` instance) picks the
adapter.

**Provider streams hold several messages**: a choice's text, each tool call's arguments (each
Anthropic content block).  Each message gets its own parser (and watcher), and each update is
about one message: ``msg_id`` (stable, unique), ``kind`` (``"text"`` or ``"tool_call"``),
``name`` (the tool's) and ``meta`` (the provider's ids, e.g. ``tool_call_id``).  A source
chunk yields one update for each message it started, grew or ended, in the order it touched
them (a chunk that touched none, e.g. a ``ping``, yields none).  Tool-call arguments are
always parsed; a text message is parsed when ``text_messages="json"``, passed through as
text when ``"raw"`` (``update.raw`` is true and ``update.value`` is the text so far), left
out when ``"skip"``, and with ``"auto"`` (the default) parsed when the parser looks for JSON
in prose (``lenient=True`` or ``extract=True``) or when its first non-blank character is
``{`` or ``[``, else passed through as text.  Each message's last update has ``done=True``
and, when parsed, its ``result``.  A stream-level problem (a provider's error event, or the
connection cut before the provider's final event) comes as an update of its own with
``msg_id=None`` and ``error`` set.  A plain JSON source is one message with ``msg_id=None``.

**The end.**  The last update of a message carries the parser's final
:class:`~jsonvisor.parsers.ParseResult`.  A cut stream ends with ``complete=False`` and its
repairs, never an exception, unless ``allow_partial=False``: then a message that ends
without a complete value raises :class:`~jsonvisor.parsers.JsonStreamError`
(``truncated=True``).  Invalid JSON raises :class:`~jsonvisor.parsers.JsonStreamError`
either way (``lenient=True`` tolerates what LLMs write).

**Closing.**  The stream owns its source: when the iteration ends, fails, is cancelled or is
left (``break``), the source is closed (``aclose()``, else ``close()``, awaited when it
returns an awaitable; for :func:`stream_sync`, ``close()``).  An exception from the source
itself (a dropped connection) propagates once the source is closed.  Leaving early closes it at once
inside ``async with jsonvisor.stream(...) as updates:`` (or on ``await updates.aclose()``);
a stream merely dropped is closed when it is garbage-collected, through the event loop's
async-generator hooks (asyncio and Trio both have them).
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal

from .llm import Adapter, Delta, MessageEnd, MessageStart, StreamError, adapter_for, as_dict
from .llm import detect_format as _detect_format
from .parsers import Event, ParseResult, ParserOptions, StreamingJsonParser
from .watch import Watched, Watcher

__all__ = ["Stream", "Streamer", "SyncStream", "Update", "stream", "stream_sync"]

TextMessages = Literal["auto", "json", "raw", "skip"]

_RAW = (bytes, bytearray, memoryview, str)
_SNIFF = 4096  # how much SSE may be read before its provider must be known
_MAX_OBJECTS = 16  # how many chunk objects may go by before their provider must be known
_PLAIN = frozenset({"json", "plain", "text"})
_ANTHROPIC_TYPES = frozenset(
    {
        "message_start",
        "message_delta",
        "message_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "ping",
    }
)
_GEMINI_KEYS = (
    "candidates",
    "usageMetadata",
    "usage_metadata",
    "promptFeedback",
    "prompt_feedback",
    "modelVersion",
    "model_version",
)


@dataclass(frozen=True, slots=True)
class Update:
    """What one chunk of the source changed, for one message.

    Attributes:
        value: the partial value (the parser's live snapshot: later updates grow it, so
            ``copy.deepcopy`` it to keep it; do not modify it), or for a text message
            passed through as text (``raw``) the text so far.
        events: the parser events of this update (see :mod:`jsonvisor.parsers`); the last
            update's include ``result.events``.
        watched: what the watchers found (:class:`~jsonvisor.WatchedValue`,
            :class:`~jsonvisor.WatchedText`), when paths are watched.
        fields: with a schema, every declared path's state (``"pending"``, ``"partial"``,
            ``"complete"``; ``parser.field_states()``), else ``None``.
        result: the final :class:`~jsonvisor.parsers.ParseResult`, on a parsed message's
            last update.
        done: this is the message's last update.
        msg_id, kind, name, meta: which message (provider streams; ``None``, ``None``,
            ``None``, ``{}`` for a plain JSON source): see :class:`~jsonvisor.llm.MessageStart`.
        text: the message's new text in this update (provider streams; ``""`` for a plain
            source, whose chunks go to the parser as they are).
        raw: the message is passed through as text, not parsed.
        error: the adapter's :class:`~jsonvisor.llm.StreamError` that ended the message
            (cut off, or a provider error), or for ``msg_id=None`` a stream-level one.
    """

    value: Any
    events: tuple[Event, ...] = ()
    watched: tuple[Watched, ...] = ()
    fields: Mapping[str, str] | None = None
    result: ParseResult | None = None
    done: bool = False
    msg_id: str | None = None
    kind: str | None = None
    name: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    text: str = ""
    raw: bool = False
    error: StreamError | None = None

    @property
    def complete(self) -> bool:
        """Whether the message ended with a complete value (``result.complete``)."""
        return self.result is not None and self.result.complete


class _Message:
    """One message's parser, watcher and what changed since its last update."""

    __slots__ = (
        "done",
        "error",
        "events",
        "kind",
        "meta",
        "mode",
        "msg_id",
        "name",
        "new_text",
        "parser",
        "pending",
        "result",
        "so_far",
        "watched",
        "watcher",
    )

    def __init__(
        self,
        msg_id: str | None,
        kind: str | None,
        name: str | None,
        meta: Mapping[str, Any],
        mode: str,
    ) -> None:
        self.msg_id, self.kind, self.name, self.meta, self.mode = msg_id, kind, name, meta, mode
        self.parser: Any = None
        self.watcher: Watcher | None = None
        self.pending = ""  # (mode "pending") blank text before the first character
        self.so_far = ""  # (mode "raw") the text so far
        self.events: list[Event] = []
        self.watched: list[Watched] = []
        self.new_text: list[str] = []
        self.result: ParseResult | None = None
        self.error: StreamError | None = None
        self.done = False


class Streamer:
    """The sans-IO core of :func:`stream` and :func:`stream_sync`: ``feed(chunk)`` and
    ``close()`` return the :class:`Update` s that chunk (or the end) made.

    Takes the keywords of :func:`stream`.  ``format`` is the format in use once known
    (``None`` while the first chunks are still being looked at); ``results`` maps each
    finished message's ``msg_id`` (``None`` for a plain source) to its
    :class:`~jsonvisor.parsers.ParseResult`; ``errors`` lists every
    :class:`~jsonvisor.llm.StreamError` the adapter reported.
    """

    def __init__(
        self,
        *,
        format: str | Adapter | None = "auto",
        parser: type[Any] | None = None,
        watch: str | Iterable[str] | None = None,
        watch_text: bool = False,
        text_messages: TextMessages = "auto",
        allow_partial: bool = True,
        states: bool = True,
        **parser_options: Any,
    ) -> None:
        options = parser_options.pop("options", None)
        if options is None:
            options = ParserOptions.of(**parser_options)  # checked here, once
        elif parser_options:
            raise TypeError("pass either options= or parser keywords, not both")
        elif not isinstance(options, ParserOptions):
            raise TypeError(f"options must be a ParserOptions, not {type(options).__name__}")
        if text_messages not in ("auto", "json", "raw", "skip"):
            raise ValueError(
                f"text_messages must be 'auto', 'json', 'raw' or 'skip', not {text_messages!r}"
            )
        self._options = options
        self._parser_cls = StreamingJsonParser if parser is None else parser
        self._watcher = (
            None
            if watch is None
            else Watcher(watch, schema=options.schema, text=watch_text)
        )
        self._text_messages = text_messages
        self._allow_partial = allow_partial
        self._states = states and options.schema is not None
        self._adapter: Adapter | None = None
        self._plain: _Message | None = None
        self._head: list[Any] = []  # chunks read while the format is unknown
        self._closed = False
        self._messages: dict[str, _Message] = {}
        self.results: dict[str | None, ParseResult] = {}
        self.errors: list[StreamError] = []
        self.format: str | None = None
        if isinstance(format, Adapter):
            self._use(format.format or type(format).__name__, format)
        elif format is not None and format != "auto":
            if not isinstance(format, str):
                raise TypeError(f"format must be a str or an Adapter, not {type(format).__name__}")
            if format.lower() in _PLAIN:
                self._use("json", None)
            else:
                self._use(format, adapter_for(format))  # ValueError for an unknown name

    @property
    def result(self) -> ParseResult | None:
        """The result of the message that finished last (a plain source's only one)."""
        return next(reversed(self.results.values()), None)

    # -- feeding -----------------------------------------------------------------------

    def feed(self, chunk: Any) -> list[Update]:
        """Consume one chunk of the source; return the updates it made."""
        if self._closed:
            raise RuntimeError("feed() after close()")
        if self.format is None:
            self._head.append(chunk)
            fmt = self._sniff(final=False)
            if fmt is None:
                return []
            return self._start(fmt)
        return self._feed(chunk)

    def close(self) -> list[Update]:
        """End of the source: finish every open message; return the last updates.
        Calling it again returns ``[]``."""
        if self._closed:
            return []
        out: list[Update] = []
        if self.format is None:
            out = self._start(self._sniff(final=True) or "json")
        self._closed = True
        if self._plain is not None:
            m = self._plain
            self._end(m, None)
            out.append(self._update(m))
        elif self._adapter is not None:
            out.extend(self._items(self._adapter.close()))
        return out

    def _feed(self, chunk: Any) -> list[Update]:
        m = self._plain
        if m is not None:
            events = m.parser.feed(chunk)
            m.events.extend(events)
            if m.watcher is not None:
                m.watched.extend(m.watcher.feed(events))
            return [self._update(m)]
        return self._items(self._adapter.feed(chunk))  # type: ignore[union-attr]

    # -- choosing the format -----------------------------------------------------------

    def _use(self, fmt: str, adapter: Adapter | None) -> None:
        self.format = fmt
        self._adapter = adapter
        if adapter is None:
            self._plain = self._new_message(None, None, None, {}, "json")

    def _start(self, fmt: str) -> list[Update]:
        """The format is known: set it up and feed the chunks read so far."""
        self._use(fmt, None if fmt == "json" else adapter_for(fmt))
        head, self._head = self._head, []
        out: list[Update] = []
        if self._plain is not None:
            # one update for the text read so far (it may be several chunks)
            raw = [c for c in head if isinstance(c, _RAW)]
            if len(raw) != len(head):
                raise TypeError("a JSON source must give str or bytes chunks")
            if raw:
                joined: Any = "".join(raw) if all(isinstance(c, str) for c in raw) else b"".join(
                    c.encode() if isinstance(c, str) else bytes(c) for c in raw
                )
                out.extend(self._feed(joined))
            return out
        for chunk in head:
            out.extend(self._feed(chunk))
        return out

    def _sniff(self, *, final: bool) -> str | None:
        """The format of the chunks in ``_head``, or None to read more first."""
        head = self._head
        first = head[0] if head else None
        if first is None:
            return "json" if final else None
        if not isinstance(first, _RAW):
            if _is_sse_event(first):
                text = "".join(f"event: {c.event}\ndata: {c.data}\n\n" for c in head)
                return self._sniff_text(text, final, "server-sent events")
            for chunk in head:
                fmt = _detect_object(chunk)
                if fmt is not None:
                    return fmt
            if final or len(head) >= _MAX_OBJECTS:
                raise ValueError(
                    f"cannot tell which provider's chunks these are ({type(first).__name__}); "
                    "pass format='openai-chat', 'openai-responses', 'anthropic' or 'gemini'"
                )
            return None
        text = "".join(
            c if isinstance(c, str) else bytes(c).decode("utf-8", "replace")
            for c in head
            if isinstance(c, _RAW)
        )
        return self._sniff_text(text, final, "this stream")

    def _sniff_text(self, text: str, final: bool, what: str) -> str | None:
        t = text.lstrip("\ufeff \t\r\n")
        if not t:
            return "json" if final else None
        if not _maybe_sse(t):
            return "json"
        fmt = _detect_format(t[:_SNIFF])
        if fmt is not None:
            return fmt
        if final or len(t) >= _SNIFF:
            raise ValueError(
                f"{what} looks like server-sent events of no known provider; pass "
                "format='openai-chat', 'openai-responses', 'anthropic', 'gemini' or 'json'"
            )
        return None

    # -- messages ----------------------------------------------------------------------

    def _new_message(
        self,
        msg_id: str | None,
        kind: str | None,
        name: str | None,
        meta: Mapping[str, Any],
        mode: str,
    ) -> _Message:
        m = _Message(msg_id, kind, name, meta, mode)
        if mode in ("json", "pending"):
            m.parser = self._parser_cls(options=self._options)
            if self._watcher is not None:
                m.watcher = self._watcher.fresh()
        return m

    def _mode_of(self, kind: str) -> str:
        if kind != "text":
            return "json"
        tm = self._text_messages
        if tm == "auto":
            return "json" if self._options.tolerances.extract else "pending"
        return tm

    def _items(self, items: list[Any]) -> list[Update]:
        touched: dict[str, _Message] = {}
        stream_errors: list[StreamError] = []
        messages = self._messages
        for item in items:
            cls = item.__class__
            if cls is Delta:
                m = messages.get(item.msg_id)
                if m is not None:
                    self._text(m, item.text)
                    touched[item.msg_id] = m
            elif cls is MessageStart:
                m = self._new_message(
                    item.msg_id, item.kind, item.name, item.meta, self._mode_of(item.kind)
                )
                messages[item.msg_id] = m
                touched[item.msg_id] = m
            elif cls is MessageEnd or cls is StreamError:
                if cls is StreamError:
                    self.errors.append(item)
                    if item.msg_id is None:
                        stream_errors.append(item)
                        continue
                m = messages.pop(item.msg_id, None)
                if m is not None:
                    self._end(m, item if cls is StreamError else None)
                    touched[item.msg_id] = m
        out = [self._update(m) for m in touched.values() if m.mode != "skip"]
        out.extend(Update(None, error=e) for e in stream_errors)
        return out

    def _text(self, m: _Message, text: str) -> None:
        m.new_text.append(text)
        if m.mode == "pending":  # (auto) the first non-blank character decides
            text = m.pending + text
            if not text.strip():
                m.pending = text
                return
            m.pending = ""
            if text.lstrip()[0] in "{[":
                m.mode = "json"
            else:
                m.mode, m.parser, m.watcher = "raw", None, None
        if m.mode == "json":
            events = m.parser.feed(text)
            m.events.extend(events)
            if m.watcher is not None:
                m.watched.extend(m.watcher.feed(events))
        elif m.mode == "raw":
            m.so_far += text

    def _end(self, m: _Message, error: StreamError | None) -> None:
        m.done = True
        m.error = error
        if m.mode == "pending":  # nothing but blanks came
            m.mode, m.parser, m.watcher = "raw", None, None
            m.so_far = m.pending
        if m.mode != "json":
            return
        result = m.parser.finish(allow_partial=self._allow_partial)
        m.result = result
        self.results[m.msg_id] = result
        m.events.extend(result.events)
        if m.watcher is not None:
            m.watched.extend(m.watcher.finish(result))

    def _update(self, m: _Message) -> Update:
        parsed = m.mode == "json"
        if parsed:
            value = m.result.value if m.result is not None else m.parser.snapshot()
        else:
            value = m.so_far
        update = Update(
            value,
            tuple(m.events),
            tuple(m.watched),
            m.parser.field_states() if parsed and self._states else None,
            m.result,
            m.done,
            m.msg_id,
            m.kind,
            m.name,
            m.meta,
            "".join(m.new_text),
            not parsed,
            m.error,
        )
        m.events.clear()
        m.watched.clear()
        m.new_text.clear()
        return update


def _is_sse_event(chunk: Any) -> bool:
    """A parsed server-sent event (``ServerSentEvent``, httpx-sse's ...), not an SDK chunk."""
    return (
        isinstance(getattr(chunk, "data", None), str)
        and isinstance(getattr(chunk, "event", None), str)
        and not callable(getattr(chunk, "model_dump", None))
    )


def _maybe_sse(text: str) -> bool:
    """Whether ``text`` (not blank, left-stripped) may be the start of server-sent events."""
    if text[0] == ":":
        return True
    for name in ("data", "event", "id", "retry"):
        if text.startswith(name):
            rest = text[len(name) :]
            if not rest or rest[0] in ":\r\n":
                return True
        elif name.startswith(text):
            return True  # too short to tell
    return False


def _detect_object(chunk: Any) -> str | None:
    """The format of one SDK chunk or dict, from its fields (None: this one does not say)."""
    try:
        d = as_dict(chunk)
    except TypeError:
        raise TypeError(
            f"cannot read a stream chunk of type {type(chunk).__name__}: give str or bytes, "
            "a provider SDK's chunks, or dicts"
        ) from None
    t = d.get("type")
    if isinstance(t, str):
        if t.startswith("response."):
            return "openai-responses"
        if t in _ANTHROPIC_TYPES:
            return "anthropic"
    if d.get("object") == "chat.completion.chunk" or "choices" in d:
        return "openai-chat"
    if any(k in d for k in _GEMINI_KEYS):
        return "gemini"
    return None


async def _aclose_source(*objs: Any) -> None:
    """Close each distinct object: ``aclose()``, else ``close()`` (awaited if need be)."""
    seen: list[Any] = []
    for obj in objs:
        if any(obj is s for s in seen):
            continue
        seen.append(obj)
        aclose = getattr(obj, "aclose", None)
        if callable(aclose):
            await aclose()
            continue
        close = getattr(obj, "close", None)
        if callable(close):
            out = close()
            if inspect.isawaitable(out):
                await out


def _close_source(*objs: Any) -> None:
    seen: list[Any] = []
    for obj in objs:
        if any(obj is s for s in seen):
            continue
        seen.append(obj)
        close = getattr(obj, "close", None)
        if callable(close):
            close()


class Stream(AsyncIterator[Update]):
    """What :func:`stream` returns: an async iterator of :class:`Update` and an async
    context manager that closes the source on exit.

    ``format``, ``results``, ``result`` and ``errors`` are the :class:`Streamer`'s.
    """

    def __init__(self, source: AsyncIterable[Any], streamer: Streamer) -> None:
        if not hasattr(source, "__aiter__"):
            what = type(source).__name__
            hint = (
                "; use jsonvisor.stream_sync() for a plain iterable"
                if isinstance(source, Iterable)
                else ""
            )
            raise TypeError(f"stream() takes an async iterable, not {what}{hint}")
        self._source = source
        self.streamer = streamer
        self._agen = self._run()
        self._started = False

    async def _run(self) -> AsyncIterator[Update]:
        source = self._source
        it = source.__aiter__()
        streamer = self.streamer
        try:
            while True:
                try:
                    chunk = await it.__anext__()
                except StopAsyncIteration:
                    break
                for update in streamer.feed(chunk):
                    yield update
            for update in streamer.close():
                yield update
        finally:
            await _aclose_source(it, source)

    def __aiter__(self) -> Stream:
        return self

    async def __anext__(self) -> Update:
        self._started = True
        return await self._agen.__anext__()

    async def aclose(self) -> None:
        """Stop: close the source (at once; also when no update was read yet)."""
        if self._started:
            await self._agen.aclose()
        else:
            self._started = True
            await self._agen.aclose()  # (never started: its finally would not run)
            await _aclose_source(self._source)

    async def __aenter__(self) -> Stream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    @property
    def format(self) -> str | None:
        """The format in use (see :class:`Streamer`)."""
        return self.streamer.format

    @property
    def results(self) -> dict[str | None, ParseResult]:
        """Each finished message's result, by ``msg_id``."""
        return self.streamer.results

    @property
    def result(self) -> ParseResult | None:
        """The result of the message that finished last (a plain source's only one)."""
        return self.streamer.result

    @property
    def errors(self) -> list[StreamError]:
        """Every :class:`~jsonvisor.llm.StreamError` the adapter reported."""
        return self.streamer.errors


class SyncStream(Iterator[Update]):
    """What :func:`stream_sync` returns: an iterator of :class:`Update` and a context
    manager that closes the source on exit (so does ``close()``, and garbage collection)."""

    def __init__(self, source: Iterable[Any], streamer: Streamer) -> None:
        if isinstance(source, _RAW):
            source = [source]  # a whole document
        elif not isinstance(source, Iterable):
            raise TypeError(f"stream_sync() takes an iterable, not {type(source).__name__}")
        self._source = source
        self.streamer = streamer
        self._gen = self._run()
        self._started = False

    def _run(self) -> Iterator[Update]:
        source = self._source
        it = iter(source)
        streamer = self.streamer
        try:
            for chunk in it:
                yield from streamer.feed(chunk)
            yield from streamer.close()
        finally:
            _close_source(it, source)

    def __iter__(self) -> SyncStream:
        return self

    def __next__(self) -> Update:
        self._started = True
        return next(self._gen)

    def close(self) -> None:
        """Stop: close the source."""
        if not self._started:
            self._started = True
            self._gen.close()
            _close_source(self._source)
        else:
            self._gen.close()

    def __enter__(self) -> SyncStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    format = Stream.format
    results = Stream.results
    result = Stream.result
    errors = Stream.errors


def stream(
    source: AsyncIterable[Any],
    *,
    format: str | Adapter | None = "auto",
    parser: type[Any] | None = None,
    watch: str | Iterable[str] | None = None,
    watch_text: bool = False,
    text_messages: TextMessages = "auto",
    allow_partial: bool = True,
    states: bool = True,
    **parser_options: Any,
) -> Stream:
    """Read ``source`` (an async iterable of chunks) and yield an :class:`Update` after
    each chunk, the last one with the final ``ParseResult`` (see the module docstring).

    Args:
        source: ``str``/``bytes`` chunks of a JSON document, raw SSE bytes, parsed SSE
            events, or a provider SDK's stream of chunk objects.
        format: ``"auto"``, ``"json"``, a provider format name, or an adapter.
        parser: the parser class (default ``StreamingJsonParser``; ``PurePythonParser``
            runs without the C accelerator), one per message, built with
            ``parser_options``.
        watch: paths to watch (``"$.items[*]"``...): each update's ``watched`` holds what
            completed (see :class:`~jsonvisor.Watcher`), typed by ``schema`` if given.
        watch_text: watched strings also come as :class:`~jsonvisor.WatchedText` as they
            grow.
        text_messages: ``"auto"``, ``"json"``, ``"raw"`` or ``"skip"``: what to do with a
            provider's text messages.
        allow_partial: ``False`` raises :class:`~jsonvisor.parsers.JsonStreamError` for a
            message that ends without a complete value.
        states: with a schema, put ``field_states()`` in every update (a walk of the
            value each time; ``False`` leaves ``fields`` ``None``).
        parser_options: the keywords of :class:`~jsonvisor.parsers.StreamingJsonParser`
            (``lenient=True``, ``schema=``, ...), or ``options=`` a ``ParserOptions``.

    Raises :class:`TypeError` or :class:`ValueError` at once for bad arguments.
    """
    return Stream(
        source,
        Streamer(
            format=format,
            parser=parser,
            watch=watch,
            watch_text=watch_text,
            text_messages=text_messages,
            allow_partial=allow_partial,
            states=states,
            **parser_options,
        ),
    )


def stream_sync(
    source: Iterable[Any] | str | bytes,
    *,
    format: str | Adapter | None = "auto",
    parser: type[Any] | None = None,
    watch: str | Iterable[str] | None = None,
    watch_text: bool = False,
    text_messages: TextMessages = "auto",
    allow_partial: bool = True,
    states: bool = True,
    **parser_options: Any,
) -> SyncStream:
    """:func:`stream` for a plain iterable of chunks (a ``str`` or ``bytes`` is one chunk):
    same keywords, same updates."""
    return SyncStream(
        source,
        Streamer(
            format=format,
            parser=parser,
            watch=watch,
            watch_text=watch_text,
            text_messages=text_messages,
            allow_partial=allow_partial,
            states=states,
            **parser_options,
        ),
    )
