"""Per-message mailboxes, routing and dead letters.

:class:`Mailbox` is one message's bounded queue of chunks; :class:`Router` maps message
IDs to open mailboxes and remembers recently finished IDs; :class:`DeadLetterBox` counts
and keeps the chunks that reached no parser.  Nothing here parses JSON or runs tasks:
that is :mod:`jsonvisor.supervisor`'s job.
"""

from .dead_letters import DeadLetter, DeadLetterBox, DeadLetterReason
from .mailbox import Chunk, Mailbox, MailboxFull
from .router import Router

__all__ = [
    "Chunk",
    "DeadLetter",
    "DeadLetterBox",
    "DeadLetterReason",
    "Mailbox",
    "MailboxFull",
    "Router",
]
