"""Per-message mailboxes, routing and dead letters.

:class:`Mailbox` is one message's bounded queue of chunks; :class:`Router` maps message
IDs to open mailboxes and remembers recently finished IDs (:class:`FinishedIds`);
:class:`DeadLetterBox` counts and keeps the chunks that reached no parser; :class:`Pacer`
shares a budget of work per scheduler round among busy tasks.  Nothing here parses JSON
or runs tasks: that is :mod:`jsonvisor.supervisor`'s job.  Everything runs under trio or asyncio
(:mod:`jsonvisor.mailboxes.lowlevel` holds the backend-specific waiting).
"""

from .dead_letters import DeadLetter, DeadLetterBox, DeadLetterReason
from .finished import FinishedIds
from .lowlevel import BusyResourceError, ClosedResourceError, EndOfStream, WouldBlock
from .mailbox import Chunk, Mailbox, MailboxFull
from .pacing import Pacer, current_pacer
from .router import Router

__all__ = [
    "BusyResourceError",
    "Chunk",
    "ClosedResourceError",
    "DeadLetter",
    "DeadLetterBox",
    "DeadLetterReason",
    "EndOfStream",
    "FinishedIds",
    "Mailbox",
    "MailboxFull",
    "Pacer",
    "Router",
    "WouldBlock",
    "current_pacer",
]
