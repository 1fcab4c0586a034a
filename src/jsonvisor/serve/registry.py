"""The service's messages: live and recent, each followed by one task, fanned out to the
HTTP event streams; the list of messages (``GET /events``); shutdown.

Per message, one *pump* task holds a supervisor subscription (entered before the
message's first chunk, so it sees every event) and reads it as fast as the events come.
It rebuilds the value from the events (:class:`~jsonvisor.serve.messages.Message`), and
pushes each event, encoded once per encoding, into every subscriber's bounded queue
without waiting (:class:`~jsonvisor.serve.subscribers.Subscriber`).  So the supervisor's
own backpressure stops at the pump: a slow HTTP client is dropped and never slows the
parser, the producer or another subscriber.  Only the producer's request body is slowed,
by the message's bounded mailbox (``send`` waits), and that is the backpressure the
service wants.

Watched paths (``?watch=``) run a :class:`~jsonvisor.watch.Watcher` per subscriber.  The
events a message produces after its ``end`` are held back for the watchers until the
terminal event says what the end of input repaired, so a value the end of a cut stream
closed off is reported with ``complete: false`` (as ``Watcher.finish`` does).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from typing import Any

import trio

from ..parsers import ParseResult, StreamingJsonParser, ValueCompleted
from ..supervisor import (
    Cancelled,
    ClosedResourceError,
    Completed,
    MessageEvent,
    Restarted,
    ResultUnavailable,
    Supervisor,
)
from .config import Schema, ServeConfig
from .encoding import event_bytes, sse, terminal_json, watched_event
from .errors import HTTPError
from .messages import LIVE_STATES, MISSING, Message, node_at
from .subscribers import Subscriber

__all__ = ["Registry"]

#: Finished messages listed in the first event of ``GET /events``.
LOBBY_RECENT = 100


class Registry:
    """Live and recent messages of one service (see the module docstring)."""

    def __init__(self, config: ServeConfig, *, remember: int = 10_000) -> None:
        self.config = config
        self.sup: Supervisor | None = None
        self.nursery: trio.Nursery | None = None
        self.live: dict[str, Message] = {}
        self.recent: OrderedDict[str, Message] = OrderedDict()
        self.forgotten: OrderedDict[str, None] = OrderedDict()  # finished, no longer kept
        self.remember = max(remember, config.keep_recent)
        self.lobby: list[Subscriber] = []
        self.draining = False
        self.input_scopes: set[trio.CancelScope] = set()
        self.started_at = time.time()
        # counters (GET /stats)
        self.counts: dict[str, int] = {
            "messages_opened": 0,
            "bytes_ingested": 0,
            "chunks_ingested": 0,
            "subscribers_total": 0,
            "subscribers_dropped": 0,
            "subscribers_disconnected": 0,
            "ingest_disconnected": 0,
            "dead_letters": 0,
        }
        self.refusals: dict[str, int] = {}

    def bind(self, sup: Supervisor, nursery: trio.Nursery) -> None:
        """Attach the supervisor and the nursery the pumps run in."""
        self.sup = sup
        self.nursery = nursery

    # -- the parsers ---------------------------------------------------------------------

    def parser_for(self, msg_id: Hashable) -> Any:
        """The supervisor's parser factory: the message's schema, the service's options."""
        msg = self.live.get(msg_id)  # type: ignore[arg-type]
        schema = msg.schema if msg is not None else None
        if self.config.parser_factory is not None:
            return self.config.parser_factory(msg_id, schema)
        return StreamingJsonParser(
            lenient=self.config.lenient,
            schema=None if schema is None else schema.compiled,
            max_bytes=self.config.max_message_bytes,
            max_depth=self.config.max_depth,
        )

    def on_dead_letter(self, letter: Any) -> None:
        """Counted: a chunk that reached no parser (e.g. after an idle expiry)."""
        self.counts["dead_letters"] += 1

    # -- finding and opening -------------------------------------------------------------

    def get(self, msg_id: str) -> Message | None:
        """The live or recent message ``msg_id``."""
        return self.live.get(msg_id) or self.recent.get(msg_id)

    def find(self, msg_id: str) -> Message:
        """The live or recent message ``msg_id``, or a 404 (a 410 if it was forgotten)."""
        msg = self.get(msg_id)
        if msg is not None:
            return msg
        if msg_id in self.forgotten:
            raise HTTPError(
                410, "message_forgotten", f"message {msg_id!r} finished and is no longer kept"
            )
        raise HTTPError(404, "unknown_message", f"no message {msg_id!r}")

    def open(
        self,
        msg_id: str,
        *,
        schema: Schema | None = None,
        origin: str = "http",
        kind: str | None = None,
        name: str | None = None,
        declared: bool = True,
    ) -> Message:
        """The live message ``msg_id``, opened now if need be (its pump starts at once)."""
        msg = self.live.get(msg_id)
        if msg is not None:
            if schema is not None and msg.schema is not schema:
                if msg.schema is None and msg.state == "waiting":
                    msg.schema = schema  # a subscriber came first; the producer names it
                else:
                    raise HTTPError(
                        409,
                        "schema_conflict",
                        f"message {msg_id!r} has the schema "
                        f"{msg.schema.name if msg.schema else None!r}, not {schema.name!r}",
                    )
            if declared and not msg.declared:
                msg.declared = True
            return msg
        if msg_id in self.recent or msg_id in self.forgotten:
            raise HTTPError(
                409, "message_finished", f"message {msg_id!r} has finished; use a new ID"
            )
        if self.draining:
            raise HTTPError(503, "shutting_down", "the service is shutting down")
        if len(self.live) >= self.config.max_messages:
            raise HTTPError(
                429,
                "too_many_messages",
                f"{self.config.max_messages} messages are live; end some or try again later",
            )
        assert self.sup is not None and self.nursery is not None
        try:
            subscription = self.sup.subscribe(msg_id)
        except ResultUnavailable:
            raise HTTPError(
                409, "message_finished", f"message {msg_id!r} has finished; use a new ID"
            ) from None
        except ClosedResourceError:
            raise HTTPError(503, "shutting_down", "the service is shutting down") from None
        msg = Message(msg_id, schema=schema, origin=origin, kind=kind, name=name, declared=declared)
        msg.subscription = subscription
        self.live[msg_id] = msg
        self.counts["messages_opened"] += 1
        self.nursery.start_soon(self._pump, msg, subscription)
        self.publish(msg)
        return msg

    def accepted(self, msg: Message, size: int) -> None:
        """``size`` bytes of ``msg`` went to the supervisor."""
        msg.bytes_in += size
        msg.chunks += 1
        self.counts["bytes_ingested"] += size
        self.counts["chunks_ingested"] += 1
        if msg.state == "waiting":
            msg.state = "open"
            msg.updated = time.time()
            self.publish(msg)

    async def end(self, msg: Message) -> None:
        """End of input for ``msg``: its parser finishes, its terminal event follows."""
        if msg.state not in ("waiting", "open"):
            return
        msg.state = "ending"
        msg.updated = time.time()
        self.publish(msg)
        assert self.sup is not None
        try:
            await self.sup.end(msg.id)
        except ClosedResourceError:
            raise HTTPError(503, "shutting_down", "the service is shutting down") from None

    def cancel(self, msg: Message) -> bool:
        """Cancel ``msg`` now (``Cancelled(reason="cancelled")``); False if it had ended."""
        if msg.terminal is not None:
            return False
        assert self.sup is not None
        if self.sup.cancel(msg.id):
            return True
        if msg.state == "waiting":  # never reached the supervisor
            self._close_waiting(msg, Cancelled(msg.id, "cancelled"))
            return True
        return False

    @contextmanager
    def input_scope(self) -> Iterator[trio.CancelScope]:
        """A scope for reading input; shutdown cancels it ("stop taking input")."""
        if self.draining:
            raise HTTPError(503, "shutting_down", "the service is shutting down")
        with trio.CancelScope() as scope:
            self.input_scopes.add(scope)
            try:
                yield scope
            finally:
                self.input_scopes.discard(scope)

    def refused(self, code: str) -> None:
        """Count a refusal by its code."""
        self.refusals[code] = self.refusals.get(code, 0) + 1

    # -- the pump: one task per message --------------------------------------------------

    async def _pump(self, msg: Message, subscription: Any) -> None:
        try:
            async for ev in subscription:
                self._dispatch(msg, ev)
                if msg.terminal is not None:
                    break
        finally:
            subscription.close()
            if msg.terminal is None and self.live.get(msg.id) is msg:
                # the supervisor closed before the message ended (or shutdown cancelled us)
                self._finish(msg, Cancelled(msg.id, "shutdown"))

    def _dispatch(self, msg: Message, ev: Any) -> None:
        cls = ev.__class__
        if cls is MessageEvent:
            pev = ev.event
            same = msg.observe(pev)
            subscribers = msg.subscribers
            if not subscribers:
                return
            full = compact = None
            for sub in subscribers:
                if sub.compact:
                    if compact is None:
                        compact = event_bytes(pev, same)
                    sub.push(compact)
                else:
                    if full is None:
                        full = event_bytes(pev) if same or compact is None else compact
                    sub.push(full)
            if msg.watching:
                if msg.state == "ending":
                    msg.held.append(pev)
                else:
                    for sub in subscribers:
                        if sub.watcher is not None:
                            for found in sub.watcher.feed((pev,)):
                                sub.push(watched_event(found))
            self._prune(msg)
        elif cls is Restarted:
            msg.restarts += 1
            data = event_bytes(ev)
            for sub in msg.subscribers:
                sub.push(data)
            self._prune(msg)
        else:
            self._finish(msg, ev)

    def _prune(self, msg: Message) -> None:
        if any(sub.dropped is not None for sub in msg.subscribers):
            for sub in [s for s in msg.subscribers if s.dropped is not None]:
                self.detach(msg, sub)

    def _finish(self, msg: Message, terminal: Any) -> None:
        """The terminal event: to every subscriber, then into the recent messages."""
        name, data = terminal_json(terminal)
        full = sse(name, data)
        compact = full
        if terminal.__class__ is Completed and terminal.complete and not terminal.repairs:
            compact = sse(*terminal_json(terminal, with_value=False))
        held = tuple(msg.held)
        for sub in msg.subscribers:
            if sub.watcher is not None:
                for found in self._watch_end(sub, terminal, held):
                    sub.push(watched_event(found), force=True)
            sub.push(compact if sub.compact else full, force=True)
            sub.end()
        msg.subscribers = []
        msg.watching = 0
        msg.finish(terminal)
        if self.live.get(msg.id) is msg:
            del self.live[msg.id]
        self.recent[msg.id] = msg
        while len(self.recent) > self.config.keep_recent:
            old, _ = self.recent.popitem(last=False)
            self.forgotten[old] = None
            while len(self.forgotten) > self.remember:
                self.forgotten.popitem(last=False)
        self.publish(msg)

    @staticmethod
    def _watch_end(sub: Subscriber, terminal: Any, held: tuple[Any, ...]) -> list[Any]:
        watcher = sub.watcher
        assert watcher is not None
        if terminal.__class__ is Completed:
            result = ParseResult(
                value=terminal.value,
                complete=terminal.complete,
                repairs=terminal.repairs,
                confidence=terminal.confidence,
                events=held,
            )
            return watcher.finish(result)
        return watcher.feed(held) if held else []

    def _close_waiting(self, msg: Message, terminal: Any) -> None:
        """End a message the supervisor never saw (no input came)."""
        if msg.subscription is not None:
            msg.subscription.close()  # its pump ends
        self._finish(msg, terminal)

    # -- subscribers ---------------------------------------------------------------------

    def attach(self, msg: Message, sub: Subscriber) -> None:
        """Start ``sub`` on ``msg``: a ``snapshot`` event (the value so far and the paths
        already complete), the watched values so far, then every event as it comes (or
        the terminal event, for a finished message)."""
        if msg.terminal is None and len(msg.subscribers) >= self.config.max_subscribers:
            raise HTTPError(
                429,
                "too_many_subscribers",
                f"message {msg.id!r} has {self.config.max_subscribers} event streams open",
            )
        value = msg.value()
        snapshot: dict[str, Any] = {
            "id": msg.id,
            "state": msg.state,
            "schema": msg.schema.name if msg.schema else None,
            "value": value,
            "completed": [list(p) for p in msg.completed],
        }
        if msg.completed_truncated or (msg.builder is None and msg.terminal is None):
            snapshot["incomplete"] = True  # some completed paths are not listed
        if sub.compact and msg.schema is not None:
            snapshot["schema_source"] = msg.schema.source
        sub.push(sse("snapshot", snapshot), force=True)
        self.counts["subscribers_total"] += 1
        if msg.terminal is not None:
            if sub.watcher is not None:
                result = msg.final_result()
                found = (
                    sub.watcher.finish(result)
                    if result is not None
                    else self.replay_watch(sub, msg, value)
                )
                for f in found:
                    sub.push(watched_event(f), force=True)
            name, data = terminal_json(msg.terminal, with_value=not sub.compact)
            sub.push(sse(name, data), force=True)
            sub.end()
            return
        if sub.watcher is not None:
            for f in self.replay_watch(sub, msg, value):
                sub.push(watched_event(f), force=True)
            msg.watching += 1
        msg.subscribers.append(sub)

    @staticmethod
    def replay_watch(sub: Subscriber, msg: Message, value: Any) -> list[Any]:
        """Feed ``sub``'s watcher the values completed so far (a stream that joins late)."""
        assert sub.watcher is not None
        events = []
        for path in msg.completed:
            node = node_at(value, path)
            if node is not MISSING:
                events.append(ValueCompleted(path, node))
        return sub.watcher.feed(events)

    def detach(self, msg: Message, sub: Subscriber) -> None:
        """``sub`` has gone (finished, dropped or disconnected)."""
        if sub in msg.subscribers:
            msg.subscribers.remove(sub)
            if sub.watcher is not None:
                msg.watching -= 1
            if sub.dropped is not None:
                self.counts["subscribers_dropped"] += 1
        if (
            msg.state == "waiting"
            and not msg.declared
            and not msg.subscribers
            and self.live.get(msg.id) is msg
        ):
            # opened by subscribers only, never sent to: forget it
            del self.live[msg.id]
            if msg.subscription is not None:
                msg.subscription.close()
            msg.state = "removed"
            self.publish(msg)
            msg.done.set()

    def attach_lobby(self, sub: Subscriber) -> None:
        """Start a ``GET /events`` stream: the list now, then each change."""
        recent = list(self.recent.values())[-LOBBY_RECENT:]
        sub.push(
            sse(
                "messages",
                {
                    "live": [m.summary() for m in self.live.values()],
                    "recent": [m.summary() for m in reversed(recent)],
                },
            ),
            force=True,
        )
        self.counts["subscribers_total"] += 1
        if self.draining:
            sub.end()
        else:
            self.lobby.append(sub)

    def detach_lobby(self, sub: Subscriber) -> None:
        """A ``GET /events`` stream has gone."""
        if sub in self.lobby:
            self.lobby.remove(sub)
            if sub.dropped is not None:
                self.counts["subscribers_dropped"] += 1

    def publish(self, msg: Message) -> None:
        """Tell the ``GET /events`` streams that ``msg`` opened or changed state."""
        if not self.lobby:
            return
        data = sse("message", msg.summary())
        for sub in self.lobby:
            sub.push(data)
        if any(sub.dropped is not None for sub in self.lobby):
            for sub in [s for s in self.lobby if s.dropped is not None]:
                self.detach_lobby(sub)

    # -- shutdown ------------------------------------------------------------------------

    async def shutdown(self) -> None:
        """Stop taking input, end every open message (each gets its terminal event, after
        the end of input repaired what it could) and wait until they all have."""
        self.draining = True
        for scope in list(self.input_scopes):
            scope.cancel()
        for msg in list(self.live.values()):
            if msg.state == "waiting":
                self._close_waiting(msg, Cancelled(msg.id, "shutdown"))
        assert self.sup is not None
        self.sup.close_input()
        for msg in list(self.live.values()):
            if msg.state in LIVE_STATES:
                if msg.state != "ending":
                    msg.state = "ending"
                    self.publish(msg)
                try:
                    self.sup.end_nowait(msg.id)
                except ClosedResourceError:
                    pass
        for msg in list(self.live.values()):
            await msg.done.wait()
        for sub in self.lobby:
            sub.end()
        self.lobby = []

    def stats(self) -> dict[str, Any]:
        """The service's own counters."""
        subscribers = sum(len(m.subscribers) for m in self.live.values()) + len(self.lobby)
        return {
            "live_messages": len(self.live),
            "recent_messages": len(self.recent),
            "subscribers": subscribers,
            "uptime": round(time.time() - self.started_at, 3),
            "draining": self.draining,
            **self.counts,
            "refusals": dict(self.refusals),
        }
