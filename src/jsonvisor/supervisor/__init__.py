"""The Trio supervisor: per-message parser tasks, restarts, offload, fan-in, teardown.

>>> async def main():                                        # doctest: +SKIP
...     async with open_supervisor() as sup:
...         await sup.send("a", '{"x": [1, 2')
...         await sup.send("a", ", 3]}")
...         await sup.end("a")
...         return (await sup.result("a")).value
{'x': [1, 2, 3]}

See :func:`open_supervisor` for the options and :class:`Supervisor` for the API.
"""

from ..mailboxes import DeadLetter, DeadLetterBox, MailboxFull
from .core import OverflowPolicy, Parser, ParserFactory, Supervisor, open_supervisor
from .errors import (
    MessageCancelledError,
    MessageExpiredError,
    ParserCrashed,
    RestartIntensityExceeded,
    ResultUnavailable,
    SupervisorError,
)
from .events import (
    TERMINAL_EVENTS,
    Cancelled,
    Completed,
    Expired,
    Failed,
    MessageEvent,
    Restarted,
    SupervisorEvent,
    TerminalEvent,
    is_terminal,
)
from .offload import OffloadMode
from .stats import SupervisorStats
from .streams import EventStream, Subscription

__all__ = [
    "TERMINAL_EVENTS",
    "Cancelled",
    "Completed",
    "DeadLetter",
    "DeadLetterBox",
    "EventStream",
    "Expired",
    "Failed",
    "MailboxFull",
    "MessageCancelledError",
    "MessageEvent",
    "MessageExpiredError",
    "OffloadMode",
    "OverflowPolicy",
    "Parser",
    "ParserCrashed",
    "ParserFactory",
    "RestartIntensityExceeded",
    "Restarted",
    "ResultUnavailable",
    "Subscription",
    "Supervisor",
    "SupervisorError",
    "SupervisorEvent",
    "SupervisorStats",
    "TerminalEvent",
    "is_terminal",
    "open_supervisor",
]
