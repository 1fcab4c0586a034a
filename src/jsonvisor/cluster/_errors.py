"""Exceptions of the cluster layer."""

from __future__ import annotations

from collections.abc import Hashable

from ..hub import SupervisorError

__all__ = ["ClusterAuthError", "ClusterError", "WorkerLost", "WorkerUnavailable"]


class ClusterError(SupervisorError):
    """Base class of the cluster's own exceptions."""


class WorkerLost(ClusterError):
    """The worker actor parsing message ``msg_id`` died or stopped answering.

    It is the ``error`` of the ``Failed`` event that ends a message that could not be
    replayed on a replacement worker (its input outgrew ``replay_bytes``, replay is off, or
    no replacement could be started), and of the ``Restarted`` event that announces a
    replay.  ``worker`` names the lost worker; ``reason`` is ``"died"`` or ``"hung"``.
    """

    def __init__(self, msg_id: Hashable, worker: str, reason: str, detail: str = "") -> None:
        self.msg_id = msg_id
        self.worker = worker
        self.reason = reason
        self.detail = detail
        text = f"worker {worker} of message {msg_id!r} {reason}"
        super().__init__(f"{text}: {detail}" if detail else text)

    def __reduce__(self) -> tuple[object, ...]:
        return (WorkerLost, (self.msg_id, self.worker, self.reason, self.detail))


class WorkerUnavailable(ClusterError):
    """A worker could not be started or found (spawn failure, registry lookup timed out)."""


class ClusterAuthError(ClusterError):
    """The cluster key is missing or unusable, or a peer failed to prove it.

    Raised by ``open_cluster`` and the worker at start (a key file that cannot be read,
    is too short or readable by others; an address off loopback without a key), and for
    a handshake that fails: a worker or root that does not know the key is refused before
    any message text is sent to it (see ``docs/cluster-trust.md``).
    """
