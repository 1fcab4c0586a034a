"""JSON and server-sent-event encoding of what the service sends.

Event names are the library's (``value_started``, ``string_grew``, ``value_completed``,
``document_completed``, ``restarted``, ``completed``, ``failed``, ``expired``,
``cancelled``), as ``jsonvisor parse --emit events`` writes them, plus the service's own
``snapshot``, ``watched``, ``watched_text``, ``dropped`` and (on ``/events``) ``message``
and ``messages``.
"""

from __future__ import annotations

import json
from typing import Any

from ..parsers import DocumentCompleted, StringGrew, ValueCompleted, ValueStarted
from ..supervisor import Cancelled, Completed, Expired, Failed, Restarted
from ..watch import WatchedText, WatchedValue

try:  # orjson where it is installed (a dependency on CPython), else the stdlib
    import orjson

    _ORJSON: Any = orjson
except ImportError:  # pragma: no cover
    _ORJSON = None

__all__ = [
    "dumps",
    "error_json",
    "event_bytes",
    "parser_event",
    "sse",
    "terminal_json",
    "watched_event",
]


def _stdlib(value: Any) -> bytes:
    # NaN and infinities (LLM mode accepts them) are not JSON: they go out as null
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8", "replace")
    except ValueError:
        return json.dumps(_no_nan(value), ensure_ascii=False).encode("utf-8", "replace")


def _no_nan(value: Any) -> Any:
    if isinstance(value, float) and (value != value or abs(value) == float("inf")):
        return None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_no_nan(v) for v in value]
    return value


def dumps(value: Any) -> bytes:
    """``value`` as compact UTF-8 JSON (integers past 64 bits and lone surrogates too)."""
    if _ORJSON is not None:
        try:
            return _ORJSON.dumps(value)  # type: ignore[no-any-return]
        except (TypeError, ValueError):
            pass
    return _stdlib(value)


def sse(event: str, data: Any) -> bytes:
    """One server-sent event (the JSON text has no newline, so it is one ``data`` line)."""
    return b"event: " + event.encode() + b"\ndata: " + dumps(data) + b"\n\n"


def error_json(error: BaseException) -> dict[str, Any]:
    """An exception as JSON: its type, message and, for a parse error, where."""
    out: dict[str, Any] = {"type": type(error).__name__, "message": str(error)}
    for name in ("offset", "line", "column", "truncated", "limit", "expected", "found"):
        value = getattr(error, name, None)
        if value is not None:
            out[name] = value
    return out


def terminal_json(ev: Any, *, with_value: bool = True) -> tuple[str, dict[str, Any]]:
    """``(event name, data)`` for a terminal event."""
    cls = ev.__class__
    if cls is Completed:
        data: dict[str, Any] = {
            "complete": ev.complete,
            "confidence": ev.confidence,
            "repairs": [str(r) for r in ev.repairs],
        }
        if with_value:
            data["value"] = ev.value
        else:
            data["same"] = True
        if ev.warnings:
            data["warnings"] = [getattr(w, "message", str(w)) for w in ev.warnings]
        return "completed", data
    if cls is Failed:
        return "failed", {"error": error_json(ev.error)}
    if cls is Expired:
        return "expired", {"reason": ev.reason}
    if cls is Cancelled:
        return "cancelled", {"reason": ev.reason}
    raise TypeError(f"not a terminal event: {ev!r}")


def parser_event(ev: Any, same: bool = False) -> tuple[str, dict[str, Any]]:
    """``(event name, data)`` for a parser event; ``same``: leave out a value the client
    has already built from earlier events (compact mode)."""
    cls = ev.__class__
    if cls is StringGrew:
        return "string_grew", {"path": list(ev.path), "text": ev.text}
    if cls is ValueStarted:
        return "value_started", {"path": list(ev.path), "kind": ev.kind}
    if cls is ValueCompleted:
        if same:
            return "value_completed", {"path": list(ev.path), "same": True}
        return "value_completed", {"path": list(ev.path), "value": ev.value}
    if cls is DocumentCompleted:
        if same:
            return "document_completed", {"index": ev.index, "same": True}
        return "document_completed", {"index": ev.index, "value": ev.value}
    if cls is Restarted:
        return "restarted", {"attempt": ev.attempt, "error": error_json(ev.error)}
    raise TypeError(f"not a parser event: {ev!r}")


def event_bytes(ev: Any, same: bool = False) -> bytes:
    """A parser event as one server-sent event."""
    name, data = parser_event(ev, same)
    return sse(name, data)


def watched_event(found: Any) -> bytes:
    """A :class:`~jsonvisor.watch.WatchedValue` or ``WatchedText`` as a server-sent event."""
    if isinstance(found, WatchedText):
        return sse(
            "watched_text", {"pattern": found.pattern, "path": list(found.path), "text": found.text}
        )
    assert isinstance(found, WatchedValue)
    data = {
        "pattern": found.pattern,
        "path": list(found.path),
        "value": found.value,
        "complete": found.complete,
    }
    if found.errors:
        data["errors"] = [getattr(e, "message", str(e)) for e in found.errors]
    return sse("watched", data)
