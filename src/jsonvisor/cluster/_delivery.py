"""The root's delivery of worker events into the message hub.

A worker's batch arrives as columns (:mod:`jsonvisor.cluster._eventbatch`): runs of
parser events, rebuilt as ``MessageEvent`` objects in bulk and handed to the hub with one
call per run, and the few other events between them (terminal events, ``Restarted``),
handled one by one: a terminal event finishes its message in the hub.
"""

from __future__ import annotations

from collections.abc import Hashable
from itertools import compress
from typing import Any, Protocol

from ..hub import TERMINAL_EVENTS, Completed, EventQueue, Restarted, SupervisorEvent
from ..parsers import ParseResult
from ._eventbatch import Packed, message_events
from ._state import ClusterState

__all__ = ["Delivery", "Sender"]

_TERMINALS = frozenset(TERMINAL_EVENTS)


class Sender(Protocol):
    """What delivery needs to know of the worker a batch came from (a ``Link``)."""

    def gone(self) -> bool:
        """True once the worker is lost: its remaining events are dropped."""


class Delivery:
    """Delivering a worker's events: to the fan-in, to subscribers, into results."""

    def __init__(self, state: ClusterState) -> None:
        self.state = state
        self.hub = state.hub

    async def dispatch(
        self, sender: Sender, packed: Packed, results: dict[Hashable, ParseResult]
    ) -> None:
        """Deliver a worker's batch of events, in order.

        Events of messages that are no longer open here (finished by the root: lost with
        their worker, or shut down) are dropped.
        """
        kinds, mids, fields, others = packed
        start = 0
        for position, event in others:
            if position > start:
                await self._deliver_run(
                    sender, kinds[start:position], mids[start:position], fields[start:position]
                )
            start = position
            if sender.gone():
                return
            await self._deliver_other(sender, event, results)
        if len(kinds) > start:
            await self._deliver_run(sender, kinds[start:], mids[start:], fields[start:])

    async def _deliver_run(
        self, sender: Sender, kinds: bytes, mids: list[Hashable], fields: list[tuple[Any, ...]]
    ) -> None:
        contains = self.hub.open.__contains__
        if not all(map(contains, mids)):
            keep = list(map(contains, mids))
            kinds = bytes(compress(kinds, keep))
            mids = list(compress(mids, keep))
            fields = list(compress(fields, keep))
            if not mids:
                return
        await self.hub.publish_mixed(message_events(kinds, mids, fields), self._wait, sender.gone)

    async def _deliver_other(
        self, sender: Sender, event: SupervisorEvent, results: dict[Hashable, ParseResult]
    ) -> None:
        hub = self.hub
        live = hub.open.get(event.msg_id)
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
            self.state.finish(live, event, result)  # type: ignore[arg-type]
            return
        if cls is Restarted:
            hub.restarts += 1
        await hub.publish_mixed([event], self._wait, sender.gone)

    async def _wait(self, record: Any, queue: EventQueue) -> None:
        await self.hub.wait_room(queue)
