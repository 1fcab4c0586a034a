"""What the supervisor emits: each parser event tagged with its message, and the end of
every message.

Small immutable classes, like the parser's own events.  Every message produces zero or more
:class:`MessageEvent` (and :class:`Restarted`, if its parser crashed), then exactly one
terminal event: :class:`Completed`, :class:`Failed`, :class:`Expired` or
:class:`Cancelled`.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, Literal, NamedTuple

from ..parsers import Event, Repair

__all__ = [
    "TERMINAL_EVENTS",
    "Cancelled",
    "Completed",
    "Expired",
    "Failed",
    "MessageEvent",
    "Restarted",
    "SupervisorEvent",
    "TerminalEvent",
    "WatchEvent",
    "is_terminal",
]


class MessageEvent(NamedTuple):
    """A parser event (``ValueStarted``, ``StringGrew``...) of message ``msg_id``."""

    msg_id: Hashable
    event: Event


class WatchEvent(NamedTuple):
    """A watched value of message ``msg_id`` completed (``open_supervisor(watch=...)``).

    ``item`` is a :class:`~jsonvisor.watch.WatchedValue` (each value at a watched path,
    exactly once, right after the events of the step that completed it; one cut off by the
    end of input has ``complete=False``) or, with ``watch_text=True``, a
    :class:`~jsonvisor.watch.WatchedText` for each piece of a watched string as it grows.
    """

    msg_id: Hashable
    item: Any


class Restarted(NamedTuple):
    """The parser of ``msg_id`` crashed with ``error`` and was restarted.

    The new parser was given the message's input again from the start before this event
    was emitted; events the replay caused are not repeated.  ``attempt`` counts restarts
    of this message from 1.
    """

    msg_id: Hashable
    attempt: int
    error: BaseException


class Completed(NamedTuple):
    """Message ``msg_id`` ended and its parser produced a value.

    ``complete`` is True when the input held a whole value; otherwise ``value`` was closed
    off and ``repairs`` lists what was done (``confidence`` is ``"medium"`` or ``"low"``).

    With a schema (``StreamingJsonParser(schema=..., validate=True)``), ``model`` is the
    validated instance (a pydantic model or a dataclass; the value itself for a JSON
    Schema or a TypedDict) and ``warnings`` the parser's ``SchemaWarning`` list.  When the
    value does not validate, ``model`` is None and ``validation_error`` is a
    :class:`~jsonvisor.supervisor.ModelValidationError` naming every problem (they are
    among ``warnings`` too, of kind ``"validation"``); ``value`` is still the parsed value.
    """

    msg_id: Hashable
    value: Any
    repairs: tuple[Repair, ...]
    confidence: str
    complete: bool
    warnings: tuple[Any, ...] = ()
    model: Any = None
    validation_error: Exception | None = None


class Failed(NamedTuple):
    """Message ``msg_id`` ended with an error.

    ``error`` is the parser's ``JsonStreamError`` for malformed input or an exceeded limit
    (with its offset; never retried), ``ParserCrashed`` when the parser kept crashing
    (the last crash is its ``__cause__``), or ``MailboxFull`` under ``overflow="drop"``.
    """

    msg_id: Hashable
    error: Exception


class Expired(NamedTuple):
    """Message ``msg_id`` timed out: ``reason`` is ``"idle"`` or ``"ttl"``."""

    msg_id: Hashable
    reason: Literal["idle", "ttl"]


class Cancelled(NamedTuple):
    """Message ``msg_id`` was cancelled.

    ``reason`` is ``"cancelled"`` (``Supervisor.cancel``) or ``"shutdown"`` (the
    supervisor closed, or its enclosing scope was cancelled, while the message was open).
    """

    msg_id: Hashable
    reason: Literal["cancelled", "shutdown"]


TerminalEvent = Completed | Failed | Expired | Cancelled
"""The one event that ends a message."""

SupervisorEvent = (
    MessageEvent | WatchEvent | Restarted | Completed | Failed | Expired | Cancelled
)
"""Anything ``Supervisor.events()`` or a subscription yields."""

TERMINAL_EVENTS: tuple[type, ...] = (Completed, Failed, Expired, Cancelled)
"""The terminal event classes, for ``isinstance`` checks."""


def is_terminal(event: object) -> bool:
    """True if ``event`` ends its message."""
    return isinstance(event, TERMINAL_EVENTS)
