"""What the root's parts share: :class:`ClusterState`, its settings and its counters.

The cluster's parts -- the front end (``Cluster``), the worker pool, each worker's link,
the delivery of workers' events -- each hold this one state object rather than each
other (no mixins, no back-references, so no import circle): the message hub (open
messages, results, subscriptions, dead letters), the worker slots and links, the
settings, and the counters.
"""

from __future__ import annotations

import socket
from collections.abc import Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..hub import MessageHub, Outcome, RestartBudget, TerminalEvent
from ..mailboxes import Chunk
from ..parsers import ParseResult
from ..supervisor.offload import utf8_len
from ._live import Live, join_chunks
from ._slot import Slot

if TYPE_CHECKING:
    from ._auth import AuthKey
    from ._link import Link

__all__ = ["ClusterState", "Counters", "RootSettings"]


@dataclass(frozen=True)
class RootSettings:
    """The root's own settings (from ``open_cluster``; the supervisor options each worker
    runs with are the hub's ``jsonvisor.hub.Options``, in ``session_config``)."""

    spawn_timeout: float
    ping_timeout: float
    heartbeat_timeout: float
    flush_interval: float
    window: int
    replay_bytes: int | None
    trusted: tuple[str, ...]
    discovery_timeout: float
    worker_name: str
    loglevel: str
    local_fallback: bool
    import_main: bool
    factory_env: dict[str, str]
    auth_key: AuthKey | None = None  # the cluster key every worker must prove (_auth)


class Counters:
    """The cluster's own counters (the hub counts messages, chunks and events); plain
    attributes, incremented on the hot paths."""

    def __init__(self) -> None:
        self.workers_started = 0
        self.workers_lost = 0
        self.workers_hung = 0
        self.replacements = 0
        self.replayed = 0
        self.lost_messages = 0
        self.last_recovery: float | None = None
        self.workers_refused = 0  # workers that failed the key handshake
        self.last_refusal = ""
        self.ipc_batches_out = 0
        self.ipc_batches_in = 0
        self.ipc_ops_out = 0
        self.ipc_items_in = 0
        self.ipc_bytes_out = 0
        self.ipc_bytes_in = 0
        self.ipc_send_seconds = 0.0
        self.ipc_recv_seconds = 0.0


class ClusterState:
    """Everything the root's parts share (see the module documentation).

    Attributes:
        settings: the root's settings.
        session_config: the pickled configuration each worker's session opens with.
        hub: the message hub (its ``open`` maps message IDs to :class:`Live` records).
        slots: the worker slots, by index.
        links: the current link of each slot, by index.
        registry: the tractor registry ``(host, port)``.
        hostname: this host's name (a worker on it is watched by its pid).
        counters: the cluster's own counters.
        budget: worker losses allowed per window (``max_worker_restarts``).
        closing: the cluster is shutting down: losses are no longer acted on.
        remote_in_use, remote_bad: registered workers taken, and not to be taken again.
    """

    def __init__(
        self,
        settings: RootSettings,
        session_config: bytes,
        hub: MessageHub,
        slots: list[Slot],
        registry: tuple[str, int],
        budget: RestartBudget,
    ) -> None:
        self.settings = settings
        self.session_config = session_config
        self.hub = hub
        self.slots = slots
        self.links: dict[int, Link] = {}
        self.registry = registry
        self.hostname = socket.gethostname()
        self.counters = Counters()
        self.budget = budget
        self.closing = False
        self.remote_in_use: set[str] = set()
        self.remote_bad: set[str] = set()

    def finish(self, live: Live, terminal: TerminalEvent, result: ParseResult | None) -> None:
        """End a message: no more input for it, and its terminal event to the hub."""
        live.queue = None
        self.hub.finish(live, Outcome(terminal, result))

    def live_in(self, slot: Slot) -> list[Live]:
        """The open messages routed to ``slot``."""
        index = slot.index
        return [live for live in self.hub.open.values() if live.slot == index]

    def batch_items(
        self, flag_calls: int, pending: dict[Hashable, list[Chunk]], flags: dict[Hashable, int]
    ) -> tuple[int, list[tuple[Hashable, Chunk | None, int]]]:
        """Turn a slot's pending batch (from ``Slot.take_batch``) into wire items:
        ``(calls, items)``.  Counts the input and keeps it for replays."""
        open_ = self.hub.open
        limit = self.settings.replay_bytes or 0
        items: list[tuple[Hashable, Chunk | None, int]] = []
        calls = flag_calls
        size = 0
        for msg_id, chunks in pending.items():
            n = len(chunks)
            calls += n
            data = chunks[0] if n == 1 else join_chunks(chunks)
            nbytes = utf8_len(data)
            size += nbytes
            live: Any = open_.get(msg_id)
            if live is not None:
                if live.queue is chunks:
                    live.queue = None
                if live.retained is not None:
                    live.retain(data, nbytes, limit)
            items.append((msg_id, data, flags.pop(msg_id, 0) if flags else 0))
        if flags:
            items.extend((msg_id, None, f) for msg_id, f in flags.items())
        hub = self.hub
        hub.chunks_in += calls - flag_calls
        hub.bytes_in += size
        return calls, items
