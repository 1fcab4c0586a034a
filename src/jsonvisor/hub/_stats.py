"""The counters every front end reports (``stats()``), kept by the hub."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MessageStats"]


@dataclass(frozen=True)
class MessageStats:
    """Counters of a supervisor or a cluster at one moment: the part they share.

    ``SupervisorStats`` and ``ClusterStats`` add their own.

    Attributes:
        open_mailboxes: messages open now (started, not yet finished).
        messages_started: messages opened so far.
        messages_completed: messages that ended with ``Completed``.
        messages_failed: messages that ended with ``Failed``.
        messages_expired: messages that ended with ``Expired``.
        messages_cancelled: messages that ended with ``Cancelled``.
        chunks_in: chunks accepted (a chunk still queued when its message finished is
            counted here and in ``dead_letters``).
        bytes_in: bytes of input taken in (see each front end's stats for the measure).
        events_out: events delivered (every ``MessageEvent``, ``WatchEvent``,
            ``Restarted`` and terminal event, counted once whatever the number of
            consumers).
        dead_letters: chunks that reached no parser (see ``dead_letters``).
        restarts: ``Restarted`` events delivered.
    """

    open_mailboxes: int
    messages_started: int
    messages_completed: int
    messages_failed: int
    messages_expired: int
    messages_cancelled: int
    chunks_in: int
    bytes_in: int
    events_out: int
    dead_letters: int
    restarts: int

    @property
    def messages_finished(self) -> int:
        """Messages that have ended, whatever their terminal event."""
        return (
            self.messages_completed
            + self.messages_failed
            + self.messages_expired
            + self.messages_cancelled
        )
