"""A snapshot of the supervisor's counters."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SupervisorStats"]


@dataclass(frozen=True)
class SupervisorStats:
    """Counters of a supervisor at one moment (``Supervisor.stats()``).

    Attributes:
        open_mailboxes: messages open now (started, not yet finished).
        queued_chunks: chunks waiting in open mailboxes now.
        messages_started: messages opened so far.
        messages_completed: messages that ended with ``Completed``.
        messages_failed: messages that ended with ``Failed``.
        messages_expired: messages that ended with ``Expired``.
        messages_cancelled: messages that ended with ``Cancelled``.
        chunks_in: chunks accepted into mailboxes.  A chunk still queued when its message
            finished is counted here and in ``dead_letters``.
        bytes_in: UTF-8 bytes fed to parsers so far (a large input is counted slice by
            slice as it is fed), plus those of accepted chunks that became dead letters.
        events_out: events delivered (every ``MessageEvent``, ``Restarted`` and terminal
            event, counted once whatever the number of consumers).
        restarts: parser restarts.
        crashes: unexpected exceptions raised by parser code (each restart follows one).
        errors: exceptions raised by parser code: malformed input (``JsonStreamError``)
            and crashes.
        dead_letters: chunks that reached no parser (see ``Supervisor.dead_letters``).
        offloaded: feeds that ran in a worker thread or process.
    """

    open_mailboxes: int
    queued_chunks: int
    messages_started: int
    messages_completed: int
    messages_failed: int
    messages_expired: int
    messages_cancelled: int
    chunks_in: int
    bytes_in: int
    events_out: int
    restarts: int
    crashes: int
    errors: int
    dead_letters: int
    offloaded: int

    @property
    def messages_finished(self) -> int:
        """Messages that have ended, whatever their terminal event."""
        return (
            self.messages_completed
            + self.messages_failed
            + self.messages_expired
            + self.messages_cancelled
        )
