"""A snapshot of the supervisor's counters."""

from __future__ import annotations

from dataclasses import dataclass

from ..hub import MessageStats

__all__ = ["SupervisorStats"]


@dataclass(frozen=True)
class SupervisorStats(MessageStats):
    """Counters of a supervisor at one moment (``Supervisor.stats()``).

    The fields of ``jsonvisor.hub.MessageStats`` (messages started and ended,
    chunks and events, dead letters, restarts), with ``bytes_in`` the UTF-8 bytes fed to
    parsers (a large input counted slice by slice as it is fed) plus those of accepted
    chunks that became dead letters, and ``restarts`` the parser restarts; and:

    Attributes:
        queued_chunks: chunks waiting in open mailboxes now.
        crashes: unexpected exceptions raised by parser code (each restart follows one).
        errors: exceptions raised by parser code: malformed input (``JsonStreamError``)
            and crashes.
        offloaded: feeds that ran in a worker thread or process.
    """

    queued_chunks: int
    crashes: int
    errors: int
    offloaded: int
