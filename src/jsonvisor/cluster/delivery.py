"""The root's delivery of worker events: to the fan-in, to subscribers, and into results.

A worker's batch arrives as columns (:mod:`jsonvisor.cluster.eventbatch`): runs of parser
events, rebuilt as ``MessageEvent`` objects in bulk and handed to the fan-in with one
call per run, and the few other events between them (terminal events, ``Restarted``),
handled one by one.  A mixin of :class:`jsonvisor.cluster.core.Cluster`.
"""

from __future__ import annotations

from collections.abc import Hashable
from itertools import compress
from typing import TYPE_CHECKING, Any

from ..parsers import ParseResult
from ..supervisor import (
    TERMINAL_EVENTS,
    Completed,
    Expired,
    Failed,
    Restarted,
    SupervisorEvent,
    TerminalEvent,
)
from ..supervisor.results import Outcome, ResultRegistry
from ..supervisor.streams import EventQueue
from .eventbatch import Packed, message_events
from .state import Counters, FinishedIds, Live

if TYPE_CHECKING:
    from .link import Link

__all__ = ["Delivery"]

_TERMINALS = frozenset(TERMINAL_EVENTS)


class Delivery:
    """Delivering events and finishing messages (a mixin of ``Cluster``)."""

    # Provided by Cluster.
    _fan_in: EventQueue | None
    _finished: FinishedIds
    _live: dict[Hashable, Live]
    _results: ResultRegistry
    _subscribed: int
    counters: Counters

    async def dispatch(
        self, link: Link, packed: Packed, results: dict[Hashable, ParseResult]
    ) -> None:
        """Deliver a worker's batch of events, in order (called by the worker's link).

        Events of messages that are no longer live here (finished by the root: lost with
        their worker, or shut down) are dropped.
        """
        kinds, mids, fields, others = packed
        start = 0
        for position, event in others:
            if position > start:
                await self._deliver_run(
                    link, kinds[start:position], mids[start:position], fields[start:position]
                )
            start = position
            if link.lost.is_set():
                return
            await self._deliver_other(link, event, results)
        if len(kinds) > start:
            await self._deliver_run(link, kinds[start:], mids[start:], fields[start:])

    async def _deliver_run(
        self, link: Link, kinds: bytes, mids: list[Hashable], fields: list[tuple[Any, ...]]
    ) -> None:
        contains = self._live.__contains__
        if not all(map(contains, mids)):
            keep = list(map(contains, mids))
            kinds = bytes(compress(kinds, keep))
            mids = list(compress(mids, keep))
            fields = list(compress(fields, keep))
            if not mids:
                return
        await self._publish(message_events(kinds, mids, fields), link)

    async def _deliver_other(
        self, link: Link, event: SupervisorEvent, results: dict[Hashable, ParseResult]
    ) -> None:
        live = self._live.get(event.msg_id)
        if live is None:
            return  # finished here already (cancelled, lost, shut down)
        cls = event.__class__
        if cls in _TERMINALS:
            result = None
            if cls is Completed:
                result = results.get(event.msg_id)
                if result is None:
                    result = ParseResult(
                        event.value,  # type: ignore[union-attr]
                        event.complete,  # type: ignore[union-attr]
                        event.repairs,  # type: ignore[union-attr]
                        event.confidence,  # type: ignore[union-attr]
                        warnings=event.warnings,  # type: ignore[union-attr]
                        model=event.model,  # type: ignore[union-attr]
                    )
            self._finish(live, event, result)  # type: ignore[arg-type]
            return
        if cls is Restarted:
            self.counters.restarts += 1
        await self._publish([event], link)

    async def _publish(self, run: list[SupervisorEvent], link: Link | None) -> None:
        fan_in = self._fan_in
        if fan_in is not None:
            while fan_in.full:
                await fan_in.wait_room()
            if link is not None and link.lost.is_set():
                return
            fan_in.push_many(run)
        self.counters.events_out += len(run)
        if self._subscribed:
            live_map = self._live
            for event in run:
                live = live_map.get(event.msg_id)
                if live is None or not live.subscribers:
                    continue
                for subscription in list(live.subscribers):
                    queue = subscription.queue
                    while queue.full:
                        await queue.wait_room()
                    queue.push(event)

    def _emit_now(self, live: Live, event: SupervisorEvent) -> None:
        """Deliver one root-made event without waiting (at most one per message)."""
        if self._fan_in is not None:
            self._fan_in.push(event)
        self.counters.events_out += 1
        if live.subscribers:
            for subscription in live.subscribers:
                subscription.queue.push(event)

    def _finish(self, live: Live, terminal: TerminalEvent, result: ParseResult | None) -> None:
        msg_id = live.msg_id
        del self._live[msg_id]
        live.queue = None
        self._finished.add(msg_id)
        c = self.counters
        cls = terminal.__class__
        if cls is Completed:
            c.completed += 1
        elif cls is Failed:
            c.failed += 1
        elif cls is Expired:
            c.expired += 1
        else:
            c.cancelled += 1
        self._emit_now(live, terminal)
        if live.subscribers:
            for subscription in live.subscribers:
                subscription.queue.close()
            self._subscribed -= len(live.subscribers)
            live.subscribers = None
        live.retained = None
        self._results.record(msg_id, Outcome(terminal, result))
