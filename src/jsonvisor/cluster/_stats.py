"""A snapshot of a cluster's counters."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..hub import MessageStats

__all__ = ["ClusterStats", "WorkerInfo"]


@dataclass(frozen=True)
class WorkerInfo:
    """One worker slot at one moment.

    Attributes:
        slot: the slot index (message IDs are sharded over slots).
        name: the worker actor's name.
        kind: ``"local"`` (an actor the root spawned) or ``"remote"`` (found in the registry).
        pid: the worker's process ID (on its own host), or None while there is no worker.
        address: the worker actor's ``(host, port)``, or None.
        generation: how many workers this slot has had (1 for the first).
        up: a worker is connected and answering now.
        open_messages: live messages routed to this slot.
    """

    slot: int
    name: str
    kind: str
    pid: int | None
    address: tuple[str, int] | None
    generation: int
    up: bool
    open_messages: int


@dataclass(frozen=True)
class ClusterStats(MessageStats):
    """Counters of a cluster at one moment (``Cluster.stats()``).

    The fields of ``jsonvisor.hub.MessageStats`` have the meaning of the same fields
    of ``SupervisorStats``, counted by the root (message counts, chunks and events as the
    application sees them; a replay is not counted twice).  The worker fields add up the
    latest counters each live worker's supervisor reported (they reset when a worker is
    replaced).

    Attributes:
        open_mailboxes: messages open now (started, not yet finished).
        messages_started / messages_completed / messages_failed / messages_expired /
            messages_cancelled: as in ``SupervisorStats``.
        chunks_in: chunks accepted by ``send``.
        bytes_in: UTF-8 bytes of those chunks (as the supervisor counts them).
        events_out: events delivered to the application.
        dead_letters: chunks that reached no parser, counted by the root: sent after the
            message ended or finished, or still waiting to go to the worker when it was
            cancelled (``"unread"``).
        restarts: ``Restarted`` events delivered (parser crashes in workers, and replays
            after a worker was lost).
        workers: worker slots.
        workers_up: slots with a connected, answering worker now.
        workers_started: worker actors started or connected so far (replacements included).
        workers_lost: workers that died or stopped answering.
        workers_hung: of those, the ones detected by the heartbeat timeout.
        replacements: workers started to replace a lost one.
        messages_replayed: messages re-sent to a replacement worker from the root's copy.
        messages_lost: messages ended with ``Failed(WorkerLost)`` (not replayable).
        last_recovery: seconds from detecting the last lost worker to its replacement
            being ready with every replayable message re-sent (None before any loss).
        ipc_batches_out / ipc_batches_in: batches sent to / received from workers.
        ipc_ops_out: chunk, end and cancel operations sent (after coalescing).
        ipc_items_in: events and results received.
        ipc_bytes_out / ipc_bytes_in: pickled batch bytes each way.
        ipc_send_seconds: time spent pickling and sending batches (root side).
        ipc_recv_seconds: time spent unpickling and dispatching received batches.
        worker_chunks_in / worker_events_out / worker_crashes: added up from the workers'
            own supervisors.
        workers_refused: workers that failed the key handshake (``auth_key_file``) and
            were never sent anything.
        per_worker: one :class:`WorkerInfo` per slot.
    """

    workers: int
    workers_up: int
    workers_started: int
    workers_lost: int
    workers_hung: int
    replacements: int
    messages_replayed: int
    messages_lost: int
    last_recovery: float | None
    ipc_batches_out: int
    ipc_batches_in: int
    ipc_ops_out: int
    ipc_items_in: int
    ipc_bytes_out: int
    ipc_bytes_in: int
    ipc_send_seconds: float
    ipc_recv_seconds: float
    worker_chunks_in: int
    worker_events_out: int
    worker_crashes: int
    workers_refused: int = 0
    per_worker: tuple[WorkerInfo, ...] = field(default=(), repr=False)

    @property
    def ipc_cost_per_batch(self) -> float:
        """Mean root-side seconds per batch sent (pickle + send)."""
        return self.ipc_send_seconds / self.ipc_batches_out if self.ipc_batches_out else 0.0

    @property
    def ops_per_batch(self) -> float:
        """Mean operations per batch sent: how well IPC is amortised."""
        return self.ipc_ops_out / self.ipc_batches_out if self.ipc_batches_out else 0.0
