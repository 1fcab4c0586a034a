"""The supervisor: per-message parser tasks, restarts, offload, fan-in, teardown.

It runs under trio (first-class) and asyncio, directly or through AnyIO:

>>> async def main():                                        # doctest: +SKIP
...     async with open_supervisor() as sup:
...         await sup.send("a", '{"x": [1, 2')
...         await sup.send("a", ", 3]}")
...         await sup.end("a")
...         return (await sup.result("a")).value
>>> trio.run(main)  # or asyncio.run(main()), or anyio.run(main)  # doctest: +SKIP
{'x': [1, 2, 3]}

See :func:`open_supervisor` for the options and :class:`Supervisor` for the API.
"""

from ..mailboxes import (
    BusyResourceError,
    ClosedResourceError,
    DeadLetter,
    DeadLetterBox,
    EndOfStream,
    MailboxFull,
    WouldBlock,
)
from .core import (
    FanIn,
    OverflowPolicy,
    Parser,
    ParserFactory,
    ParserSpec,
    Supervisor,
    open_supervisor,
)
from .errors import (
    FanInSwitchedOff,
    MessageCancelledError,
    MessageExpiredError,
    ModelValidationError,
    ParserCrashed,
    ParserFactoryError,
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
    WatchEvent,
    is_terminal,
)
from .offload import OffloadMode
from .stats import SupervisorStats
from .streams import EventStream, ResultStream, Subscription

__all__ = [
    "TERMINAL_EVENTS",
    "BusyResourceError",
    "Cancelled",
    "ClosedResourceError",
    "Completed",
    "DeadLetter",
    "DeadLetterBox",
    "EndOfStream",
    "EventStream",
    "Expired",
    "Failed",
    "FanIn",
    "FanInSwitchedOff",
    "MailboxFull",
    "MessageCancelledError",
    "MessageEvent",
    "MessageExpiredError",
    "ModelValidationError",
    "OffloadMode",
    "OverflowPolicy",
    "Parser",
    "ParserCrashed",
    "ParserFactory",
    "ParserFactoryError",
    "ParserSpec",
    "RestartIntensityExceeded",
    "Restarted",
    "ResultStream",
    "ResultUnavailable",
    "Subscription",
    "Supervisor",
    "SupervisorError",
    "SupervisorEvent",
    "SupervisorStats",
    "TerminalEvent",
    "WatchEvent",
    "WouldBlock",
    "is_terminal",
    "open_supervisor",
]
