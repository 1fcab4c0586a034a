"""The interface a supervisor and a cluster share: :class:`FrontEnd`."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Protocol, runtime_checkable

from ..mailboxes import Chunk, DeadLetterBox
from ..parsers import ParseResult
from ._queues import EventStream, ResultStream, Subscription
from ._stats import MessageStats

__all__ = ["FrontEnd"]


@runtime_checkable
class FrontEnd(Protocol):
    """What ``Supervisor`` (local parser tasks) and ``Cluster`` (remote workers) both
    offer: two ways of feeding one ``jsonvisor.hub.MessageHub``.

    Code written against it runs on either; the same test suite runs against both
    (``tests/test_frontends.py``).  ``Supervisor.snapshot()`` is the supervisor's alone
    (a cluster's parsers live in other processes).
    """

    async def send(self, msg_id: Hashable, chunk: Chunk) -> None:
        """Route ``chunk`` to message ``msg_id``; the first chunk of an ID opens it."""

    def send_nowait(self, msg_id: Hashable, chunk: Chunk) -> None:
        """:meth:`send` without waiting (``WouldBlock`` if it would)."""

    async def send_many(self, items: Iterable[tuple[Hashable, Chunk]]) -> None:
        """Route many ``(msg_id, chunk)`` pairs, in order, with one schedule point."""

    async def end(self, msg_id: Hashable) -> None:
        """End of input for ``msg_id``."""

    def end_nowait(self, msg_id: Hashable) -> None:
        """:meth:`end` without a checkpoint."""

    def cancel(self, msg_id: Hashable) -> bool:
        """Cancel message ``msg_id`` (it ends with ``Cancelled``)."""

    def close_input(self) -> None:
        """No new messages: ``events()`` and ``results()`` end once every one has."""

    @property
    def input_closed(self) -> bool:
        """True after :meth:`close_input` (or once closing)."""

    def events(self) -> EventStream:
        """Every message's events (the fan-in)."""

    def results(self) -> ResultStream:
        """Each message's terminal event, as messages end."""

    def subscribe(self, msg_id: Hashable) -> Subscription:
        """One message's events."""

    async def result(self, msg_id: Hashable) -> ParseResult:
        """Wait for ``msg_id`` to end; its result, or its error raised."""

    def is_open(self, msg_id: Hashable) -> bool:
        """True while ``msg_id`` is open."""

    @property
    def dead_letters(self) -> DeadLetterBox:
        """The chunks that reached no parser."""

    @property
    def closed(self) -> bool:
        """True once shutting down or shut down."""

    def stats(self) -> MessageStats:
        """A snapshot of the counters."""
