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

See :func:`open_supervisor` for the options and :class:`Supervisor` for the API.  The
events, streams and delivery errors are those of the message hub underneath
(``jsonvisor.hub``), re-exported here; so is the ``jsonvisor.hub.Options``
object and the ``jsonvisor.hub.FrontEnd`` protocol a supervisor and a cluster share.
"""

from ..hub import (
    TERMINAL_EVENTS,
    Cancelled,
    Completed,
    EventStream,
    Expired,
    Failed,
    FanIn,
    FanInSwitchedOff,
    FrontEnd,
    MessageCancelledError,
    MessageEvent,
    MessageExpiredError,
    ModelValidationError,
    OffloadMode,
    Options,
    OverflowPolicy,
    Restarted,
    ResultStream,
    ResultUnavailable,
    Subscription,
    SupervisorError,
    SupervisorEvent,
    TerminalEvent,
    WatchEvent,
    is_terminal,
)
from ..mailboxes import (
    BusyResourceError,
    ClosedResourceError,
    DeadLetter,
    DeadLetterBox,
    EndOfStream,
    MailboxFull,
    WouldBlock,
)
from ._errors import ParserCrashed, ParserFactoryError, RestartIntensityExceeded
from ._factory import Parser, ParserFactory, ParserSpec
from ._stats import SupervisorStats
from ._supervisor import Supervisor, open_supervisor

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
    "FrontEnd",
    "MailboxFull",
    "MessageCancelledError",
    "MessageEvent",
    "MessageExpiredError",
    "ModelValidationError",
    "OffloadMode",
    "Options",
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
