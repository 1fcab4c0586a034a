"""What the service keeps per message: its state, counters, and the value rebuilt from its
events (so an event stream that joins late starts from a snapshot that agrees exactly with
the events that follow it)."""

from __future__ import annotations

import time
from typing import Any

import trio

from ..parsers import ParseResult, ValueBuilder, ValueCompleted, ValueStarted
from ..supervisor import Completed, Subscription
from .config import Schema
from .encoding import error_json, terminal_json
from .subscribers import Subscriber

__all__ = ["LIVE_STATES", "MAX_COMPLETED", "MISSING", "Message", "node_at"]

#: States of a message that has not ended: declared or subscribed to, receiving input,
#: told to end.  The others are the terminal events' names (completed, failed, expired,
#: cancelled).
LIVE_STATES = frozenset({"waiting", "open", "ending"})
#: Completed paths remembered per message (for streams that join late).
MAX_COMPLETED = 20_000

#: What :func:`node_at` returns for a path with nothing there.
MISSING: Any = object()


def node_at(value: Any, path: tuple[Any, ...]) -> Any:
    """The value at ``path`` inside ``value`` (``MISSING`` when there is none)."""
    node = value
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return MISSING
    return node


class Message:
    """One message as the service sees it (the supervisor owns the parsing)."""

    __slots__ = (
        "builder",
        "bytes_in",
        "chunks",
        "completed",
        "completed_truncated",
        "created",
        "declared",
        "done",
        "events",
        "held",
        "id",
        "kind",
        "last_value",
        "lock",
        "name",
        "origin",
        "restarts",
        "schema",
        "started",
        "state",
        "subscribers",
        "subscription",
        "terminal",
        "updated",
        "watching",
    )

    def __init__(
        self,
        msg_id: str,
        *,
        schema: Schema | None = None,
        origin: str = "http",
        kind: str | None = None,
        name: str | None = None,
        declared: bool = True,
    ) -> None:
        self.id = msg_id
        self.schema = schema
        self.origin = origin
        self.kind = kind
        self.name = name
        self.declared = declared  # opened by a producer (else by a subscriber, waiting)
        self.state = "waiting"
        self.created = self.updated = time.time()
        self.bytes_in = 0
        self.chunks = 0
        self.events = 0
        self.restarts = 0
        self.builder: ValueBuilder | None = ValueBuilder()
        self.completed: list[tuple[Any, ...]] = []
        self.completed_truncated = False
        self.started: dict[tuple[Any, ...], int] = {}  # open containers: children completed
        self.terminal: Any = None
        self.last_value: Any = None
        self.subscribers: list[Subscriber] = []
        self.watching = 0  # subscribers with a watcher
        self.held: list[Any] = []  # parser events after end (see Registry)
        self.lock = trio.Lock()  # one request appends at a time
        self.done = trio.Event()
        self.subscription: Subscription | None = None

    # -- following the events ----------------------------------------------------------

    def observe(self, ev: Any) -> bool:
        """Apply a parser event; True when the client following the events already has
        the value it carries (a string it grew to its end, or a container every member of
        which it saw complete one by one)."""
        self.events += 1
        same = False
        cls = ev.__class__
        if cls is ValueCompleted:
            path = ev.path
            value = ev.value
            if value.__class__ is str:
                node = node_at(self.builder.value, path) if self.builder else MISSING
                same = node.__class__ is str and len(node) == len(value)
            elif isinstance(value, (dict, list)):
                count = self.started.pop(path, None)
                same = count is not None and count == len(value)
            if path:
                parent = path[:-1]
                if parent in self.started:
                    self.started[parent] += 1
            if len(self.completed) < MAX_COMPLETED:
                self.completed.append(path)
            else:
                self.completed_truncated = True
        elif cls is ValueStarted:
            if not ev.path:  # a new document (or a fenced value replacing one in prose)
                self.started.clear()
                self.completed.clear()
                self.completed_truncated = False
            if ev.kind != "string":
                self.started[ev.path] = 0
        else:  # DocumentCompleted: the root's value_completed came just before it
            same = True
        if self.builder is not None:
            try:
                self.builder.apply((ev,))
            except (KeyError, IndexError, TypeError, AttributeError):
                self.builder = None  # events this builder cannot follow: no late joining
        return same

    def value(self) -> Any:
        """The value as the events have built it so far (the final value once completed)."""
        if self.terminal.__class__ is Completed:
            return self.terminal.value
        if self.builder is not None:
            return self.builder.value
        return self.last_value

    def finish(self, terminal: Any) -> None:
        """The terminal event came: keep only what a finished message needs."""
        self.terminal = terminal
        self.state = terminal_json(terminal)[0]
        self.updated = time.time()
        if terminal.__class__ is not Completed and self.builder is not None:
            self.last_value = self.builder.value  # the partial value, for a look afterwards
        self.builder = None
        self.started = {}
        self.held = []
        self.subscription = None
        if terminal.__class__ is Completed:
            self.completed = [()]
            self.completed_truncated = False
        self.done.set()

    def final_result(self) -> ParseResult | None:
        """The terminal event as a :class:`ParseResult` (None unless completed)."""
        t = self.terminal
        if t.__class__ is not Completed:
            return None
        return ParseResult(
            value=t.value,
            complete=t.complete,
            repairs=t.repairs,
            confidence=t.confidence,
            events=(ValueCompleted((), t.value),),
            warnings=t.warnings,
        )

    # -- describing it -----------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        """The message in a list: no value."""
        out: dict[str, Any] = {
            "id": self.id,
            "state": self.state,
            "schema": self.schema.name if self.schema else None,
            "origin": self.origin,
            "created": round(self.created, 3),
            "updated": round(self.updated, 3),
            "bytes": self.bytes_in,
            "events": self.events,
            "subscribers": len(self.subscribers),
        }
        if self.kind is not None:
            out["kind"] = self.kind
        if self.name is not None:
            out["name"] = self.name
        return out

    def outcome(self) -> dict[str, Any]:
        """``{"result": ...}`` or ``{"error": ...}`` for a finished message, else ``{}``."""
        t = self.terminal
        if t is None:
            return {}
        name, data = terminal_json(t)
        if name == "completed":
            return {"result": data}
        if name == "failed":
            return {"error": data["error"]}
        return {"error": {"type": name, "message": f"the message was {name}", **data}}

    def error_of(self) -> dict[str, Any] | None:
        """The failure as JSON (None unless failed)."""
        t = self.terminal
        error = getattr(t, "error", None)
        return None if error is None else error_json(error)
