"""What every provider adapter shares: input normalisation and message bookkeeping."""

from __future__ import annotations

import enum
import itertools
import json
from collections.abc import Mapping
from dataclasses import fields
from types import MappingProxyType
from typing import Any, ClassVar

from . import sse
from .decode import decode_json
from .items import Delta, Item, MessageEnd, MessageStart, StreamError
from .sse import ServerSentEvent, SSEDecoder

__all__ = [
    "Adapter",
    "MalformedEvent",
    "as_dict",
    "get_bool",
    "get_int",
    "get_list",
    "get_obj",
    "get_str",
    "need_obj",
    "text_of",
]

_COUNTER = itertools.count(1)
_RAW = (bytes, bytearray, memoryview, str)
#: What an absent or null object reads as (read-only: adapters only ``.get`` from it).
NO_OBJECT: Mapping[str, Any] = MappingProxyType({})


def _delta_maker() -> Any:
    """``Delta(msg_id, text)``, made by the C accelerator's slot filler when it can be.

    The same object as ``Delta(...)`` gives (its two slots set, as the frozen dataclass's
    ``__init__`` does), in a fifth of the time; the class itself if its fields change.
    """
    accel = sse.ACCELERATOR
    if (
        accel is None
        or [f.name for f in fields(Delta)] != ["msg_id", "text"]
        or hasattr(Delta, "__post_init__")
    ):
        return Delta
    try:
        return accel.SlotMaker(Delta, ("msg_id", "text"))
    except TypeError:
        return Delta


#: ``new_delta(msg_id, text)`` is ``Delta(msg_id, text)``, faster.
new_delta: Any = _delta_maker()
_PROJECTIONS: dict[type, Any] = {}


def as_dict(chunk: Any) -> dict[str, Any]:
    """A provider chunk as a plain ``dict``.

    Accepts a mapping, or an SDK object with ``model_dump()`` (pydantic: the OpenAI,
    Anthropic and google-genai SDKs) or ``to_dict()``; no SDK is imported.
    """
    if isinstance(chunk, Mapping):
        return dict(chunk)
    dump = getattr(chunk, "model_dump", None)
    if callable(dump):
        try:
            out = dump(mode="json", exclude_none=True)
        except TypeError:
            out = dump()
    else:
        to_dict = getattr(chunk, "to_dict", None)
        if not callable(to_dict):
            raise TypeError(f"cannot read a stream chunk of type {type(chunk).__name__}")
        out = to_dict()
    if not isinstance(out, Mapping):
        raise TypeError(f"{type(chunk).__name__} did not dump to a mapping")
    return dict(out)


def text_of(value: Any) -> str | None:
    """``value`` as a string (an enum's value), or ``None`` for ``None``/empty."""
    if value is None:
        return None
    if isinstance(value, enum.Enum):
        value = value.value
    return str(value) or None


# -- reading event JSON: every value an adapter reads is checked for its JSON type ----------

Where = tuple[str | int, ...]


class MalformedEvent(ValueError):
    """An event whose JSON does not have the provider's shape: ``path`` (keys and array
    indices from the event's top) holds ``value`` where ``expected`` was wanted.

    Raised inside an adapter while it reads an event; :meth:`Adapter.feed` turns it into
    :class:`StreamError` items (see :meth:`Adapter._malformed`), so callers never see it.
    """

    def __init__(self, path: Where, value: Any, expected: str) -> None:
        self.path = path
        self.value = value
        self.expected = expected
        super().__init__(f"{path_text(path)} is {show(value)}, expected {expected}")


def path_text(path: Where) -> str:
    """``("choices", 0, "delta")`` as ``choices[0].delta`` (``the event`` for ``()``)."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "the event"


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return f"a {type(value).__name__}"


def show(value: Any, limit: int = 40) -> str:
    """A short picture of ``value`` and its JSON type: ``"x" (a string)``."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        text = repr(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return f"{text} ({_json_kind(value)})"


def need_obj(value: Any, where: Where) -> Mapping[str, Any]:
    """``value``, which must be a JSON object (an array item, say)."""
    if value.__class__ is dict or isinstance(value, Mapping):
        return value  # type: ignore[no-any-return]
    raise MalformedEvent(where, value, "an object")


def get_obj(obj: Mapping[str, Any], key: str, *where: str | int) -> Mapping[str, Any]:
    """``obj[key]``, an object; absent or null reads as an empty one."""
    value = obj.get(key)
    if value is None:
        return NO_OBJECT
    if value.__class__ is dict or isinstance(value, Mapping):
        return value  # type: ignore[no-any-return]
    raise MalformedEvent((*where, key), value, "an object")


def get_list(obj: Mapping[str, Any], key: str, *where: str | int) -> list[Any] | tuple[Any, ...]:
    """``obj[key]``, an array; absent or null reads as an empty one."""
    value = obj.get(key)
    if value is None:
        return ()
    if value.__class__ is list or isinstance(value, (list, tuple)):
        return value  # type: ignore[no-any-return]
    raise MalformedEvent((*where, key), value, "an array")


def get_int(obj: Mapping[str, Any], key: str, *where: str | int, default: int = 0) -> int:
    """``obj[key]``, an integer (not a boolean); absent or null reads as ``default``."""
    value = obj.get(key)
    if value.__class__ is int:
        return value  # type: ignore[no-any-return]
    if value is None:
        return default
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    raise MalformedEvent((*where, key), value, "an integer")


def get_str(obj: Mapping[str, Any], key: str, *where: str | int) -> str | None:
    """``obj[key]``, a string (an SDK's string enum too); absent or null reads as None."""
    value = obj.get(key)
    if value is None or value.__class__ is str:
        return value  # type: ignore[no-any-return]
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, str):
        return str.__str__(value)
    raise MalformedEvent((*where, key), value, "a string")


def get_bool(obj: Mapping[str, Any], key: str, *where: str | int) -> bool:
    """``obj[key]``, a boolean; absent or null reads as False."""
    value = obj.get(key)
    if value is None:
        return False
    if value is True or value is False:
        return value
    raise MalformedEvent((*where, key), value, "a boolean")


def dumps_json(value: Any, where: Where) -> str:
    """``value`` (an object passed on as a message's text) as JSON text."""
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        raise MalformedEvent(where, value, "a JSON object") from None


#: What reading a malformed event can raise inside an adapter (MalformedEvent is the
#: adapters' own, precise word; the others are a safety net and should never be seen).
_UNREADABLE = (
    MalformedEvent,
    TypeError,
    ValueError,
    AttributeError,
    LookupError,
    ArithmeticError,
    RecursionError,
)


def _is_sse_event(chunk: Any) -> bool:
    return isinstance(chunk, ServerSentEvent) or (
        isinstance(getattr(chunk, "data", None), str)
        and isinstance(getattr(chunk, "event", None), str)
        and not callable(getattr(chunk, "model_dump", None))
    )


class Adapter:
    """Base of the sans-IO adapters: ``feed(chunk) -> list[Item]``, ``close() -> list[Item]``.

    ``feed`` takes raw server-sent-event bytes (split anywhere; ``str`` is taken as decoded
    text), a parsed SSE event (this package's :class:`ServerSentEvent` or any object with
    string ``event`` and ``data``, e.g. httpx-sse's), or one chunk from the provider's SDK
    (a ``dict`` or an object with ``model_dump()``).  ``close`` ends the stream: open
    messages get ``StreamError(truncated=True)``.

    ``fallback_id`` names the response when the provider gives no id (default: a
    process-unique ``"streamN"``).  ``finished`` turns true at the provider's terminal
    event, ``failed`` at a provider error.

    ``feed`` never raises for what a provider sent: event data that is not JSON gives
    ``StreamError(None, ...)``; an event whose JSON has a value of the wrong type where the
    adapter reads (a subclass reads through :func:`get_obj`, :func:`get_list`,
    :func:`get_int`, :func:`get_str`..., which raise :class:`MalformedEvent`) is reported
    by :meth:`_malformed`.  Only a chunk that is no chunk at all raises (``TypeError``).
    """

    #: The format name used by :func:`~jsonvisor.llm.adapter_for`.
    format: ClassVar[str] = ""
    #: The event that ends a well-formed raw stream (``None``: the format has none).
    terminal: ClassVar[str | None] = None
    #: Whether the SDK's chunk stream also ends with ``terminal`` (so its absence is news).
    sdk_sends_terminal: ClassVar[bool] = True
    #: Every key of the event JSON that ``_on_chunk`` reads (see
    #: :func:`~jsonvisor.llm.sse.compile_projection`): the C decoder then hands
    #: ``_on_chunk`` a dict of just those keys, skipping ``_on_sse``.  ``None``: every event
    #: goes through ``_on_sse``.  ``_on_chunk`` must read it with ``.get`` only.
    projection: ClassVar[dict[str, Any] | None] = None
    #: Templates of the frequent events (see :func:`~jsonvisor.llm.sse.compile_projection`):
    #: an event that matches one goes to :meth:`_on_hot` as a tuple of captures.
    hot: ClassVar[tuple[dict[str, Any], ...]] = ()
    #: Marks (substrings of an event's data) of events holding JSON values the adapter
    #: passes on as text, such as a tool's whole arguments: those events are decoded with
    #: ``decode_json(..., exact=True)``, so integers past 64 bits stay exact.
    exact_if: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *, fallback_id: str | None = None) -> None:
        self._sse = SSEDecoder()
        self._projection = self._compiled_projection() if self._sse.accelerated else None
        self.fallback_id = fallback_id or f"stream{next(_COUNTER)}"
        self._open: dict[str, int] = {}  # open msg_id -> characters sent
        self._ended: set[str] = set()
        self._groups: dict[str, list[str]] = {}  # e.g. a choice -> its msg_ids
        self._raw = False  # fed server-sent events (so ``terminal`` is expected)
        self._events = 0  # SSE events or SDK chunks seen
        self.finished = False  # the terminal event came
        self.failed = False  # the provider reported an error
        self._closed = False

    # -- public API -------------------------------------------------------------------

    def feed(self, chunk: Any) -> list[Item]:
        """Consume SSE bytes/text, one parsed SSE event, or one SDK chunk; return new items."""
        if self._closed:
            raise RuntimeError("feed() after close()")
        out: list[Item] = []
        if isinstance(chunk, _RAW):
            self._raw = True
            pairs = self._sse.feed_pairs(chunk, self._projection)
            first = self._events + 1
            self._events += len(pairs)
            on_chunk, on_sse = self._on_chunk, self._on_sse
            on_hot = self._on_hot
            for event, data in pairs:
                try:
                    cls = data.__class__
                    if cls is tuple:  # a hot event: (template index, captures...)
                        on_hot(data, event, out)
                    elif cls is dict:  # read by the C decoder, through the projection
                        on_chunk(data, event, out)
                    else:
                        on_sse(event, data, out)
                except _UNREADABLE as exc:
                    number = first + next(i for i, p in enumerate(pairs) if p[1] is data)
                    self._malformed(out, exc, number, event, data)
        elif _is_sse_event(chunk):
            self._raw = True
            self._events += 1
            try:
                self._on_sse(chunk.event, chunk.data, out)
            except _UNREADABLE as exc:
                self._malformed(out, exc, self._events, chunk.event, chunk.data)
        else:
            obj = as_dict(chunk)
            self._events += 1
            try:
                self._on_chunk(obj, None, out)
            except _UNREADABLE as exc:
                self._malformed(out, exc, self._events, None, obj)
        return out

    def close(self) -> list[Item]:
        """End of input: every open message gets ``StreamError(truncated=True)``.

        A stream that stopped before its terminal event (``[DONE]``, which SDKs consume,
        is only expected in raw input; ``response.completed``; ``message_stop``), or
        that had no event at all, also gets a stream-level
        ``StreamError(None, ..., truncated=True)``.  Calling it again returns ``[]``.
        """
        if self._closed:
            return []
        self._closed = True
        self._sse.close()
        out: list[Item] = []
        for msg_id in list(self._open):
            self._error(out, msg_id, "stream ended before the message was complete", True)
        if self.finished or self.failed:
            return out
        if not self._events:
            out.append(StreamError(None, "stream ended before any event", True))
        elif self.terminal and (self._raw or self.sdk_sends_terminal):
            out.append(StreamError(None, f"stream ended before {self.terminal}", True))
        return out

    @property
    def open_messages(self) -> list[str]:
        """The ids of messages started and not yet ended, oldest first."""
        return list(self._open)

    # -- for subclasses ---------------------------------------------------------------

    @classmethod
    def _compiled_projection(cls) -> Any:
        """:attr:`projection`, compiled once per class (None without one)."""
        try:
            return _PROJECTIONS[cls]
        except KeyError:
            spec = cls.projection
            compiled = None if spec is None else sse.compile_projection(spec, cls.hot)
            _PROJECTIONS[cls] = compiled
            return compiled

    def _on_hot(self, caps: tuple[Any, ...], event: str, out: list[Item]) -> None:
        """Handle an event that matched the template ``hot[caps[0]]``, ``caps[1:]`` its
        captures.  Subclasses take their fast path here; this rebuilds the projected dict
        (the template filled in) for :meth:`_on_chunk`, which is always right."""
        self._on_chunk(sse.fill_template(self.hot[caps[0]], caps[1:]), event, out)

    def _on_sse(self, event: str, data: str, out: list[Item]) -> None:
        """Handle one SSE event: by default, parse its JSON data as a chunk."""
        exact = False
        for mark in self.exact_if:
            if mark in data:
                exact = True
                break
        try:
            obj = decode_json(data, exact=exact)
        except ValueError:
            out.append(StreamError(None, f"invalid JSON in {event!r} event: {data[:80]!r}"))
            return
        if not isinstance(obj, dict):
            out.append(StreamError(None, f"unexpected {event!r} event data: {data[:80]!r}"))
            return
        self._on_chunk(obj, event, out)

    def _on_chunk(self, obj: dict[str, Any], event: str | None, out: list[Item]) -> None:
        """Handle one provider chunk (``event`` is the SSE event type, if any)."""
        raise NotImplementedError

    def _start(
        self,
        out: list[Item],
        msg_id: str,
        kind: str,
        name: str | None = None,
        group: str | None = None,
        **meta: Any,
    ) -> bool:
        """Open ``msg_id`` unless already seen; returns whether it is open now."""
        if msg_id in self._open:
            return True
        if msg_id in self._ended:
            return False
        self._open[msg_id] = 0
        if group is not None:
            self._groups.setdefault(group, []).append(msg_id)
        meta = {k: v for k, v in meta.items() if v is not None}
        out.append(MessageStart(msg_id, kind, name, meta))
        return True

    def _delta(self, out: list[Item], msg_id: str, text: str | None) -> None:
        """Send ``text`` to an open message (nothing for empty text or an ended message)."""
        if text and msg_id in self._open:
            self._open[msg_id] += len(text)
            out.append(new_delta(msg_id, text))

    def _top_up(self, out: list[Item], msg_id: str, full: str | None) -> None:
        """Send what a ``*.done`` event's full text has beyond what the deltas sent."""
        sent = self._open.get(msg_id)
        if sent is not None and full and len(full) > sent:
            self._delta(out, msg_id, full[sent:])

    def _end(self, out: list[Item], msg_id: str, reason: str) -> None:
        """End an open message with ``MessageEnd(reason)``."""
        if self._open.pop(msg_id, None) is not None:
            self._ended.add(msg_id)
            out.append(MessageEnd(msg_id, reason))

    def _end_group(self, out: list[Item], group: str, reason: str) -> None:
        """End every open message of ``group``."""
        for msg_id in self._groups.pop(group, []):
            self._end(out, msg_id, reason)

    def _end_all(self, out: list[Item], reason: str) -> None:
        """End every open message."""
        for msg_id in list(self._open):
            self._end(out, msg_id, reason)
        self._groups.clear()

    def _error(self, out: list[Item], msg_id: str, message: str, truncated: bool) -> None:
        if self._open.pop(msg_id, None) is not None:
            self._ended.add(msg_id)
            out.append(StreamError(msg_id, message, truncated))

    def _fail(self, out: list[Item], message: str) -> None:
        """A provider error: open messages are cut (truncated), then a stream-level error."""
        self.failed = True
        for msg_id in list(self._open):
            self._error(out, msg_id, message, True)
        self._groups.clear()
        out.append(StreamError(None, message, False))

    def _malformed(
        self, out: list[Item], exc: Exception, number: int, event: str | None, data: Any
    ) -> None:
        """Event ``number`` could not be read (``exc``): reported like a provider error.

        What it carried is lost, so no open message can be trusted to be whole: each is cut
        (``StreamError(msg_id, message, truncated=True)``), then ``StreamError(None,
        message)`` says what was wrong.  Later events are read as usual (messages already
        cut stay ended)."""
        kind = self._event_type(event, data)
        label = f"event {number}" + (f" ({kind})" if kind else "")
        if isinstance(exc, MalformedEvent):
            why = str(exc)
        elif isinstance(exc, RecursionError):
            why = "nested too deeply to read"
        else:
            why = f"unreadable ({type(exc).__name__}: {exc})"
        message = f"malformed {self.format} {label}: {why}"
        for msg_id in list(self._open):
            self._error(out, msg_id, message, True)
        self._groups.clear()
        out.append(StreamError(None, message, False))

    def _event_type(self, event: str | None, data: Any) -> str | None:
        """The event's ``type`` (or its SSE event name) to name it in a message."""
        obj: Any = data
        if data.__class__ is tuple:  # a hot event: its template says its type
            obj = self.hot[data[0]]
        elif isinstance(data, str):
            try:
                obj = decode_json(data)
            except (ValueError, RecursionError):
                obj = None
        kind = obj.get("type") if isinstance(obj, Mapping) else None
        if not isinstance(kind, str) or not kind:
            kind = event if event and event != "message" else None
        if kind is not None and len(kind) > 60:
            kind = kind[:59] + "…"
        return kind
