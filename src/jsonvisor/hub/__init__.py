"""The message hub: one lower layer under the supervisor and the cluster.

A :class:`MessageHub` keeps everything a message needs on its way to the user -- events,
subscriptions, ``result()``/``results()``, terminal-event accounting, dead letters, the
replay buffer (:class:`MessageRecord`) and the bounded memory of finished IDs.  The
supervisor (:mod:`jsonvisor.supervisor`, local parser tasks) and the cluster
(:mod:`jsonvisor.cluster`, remote workers) are two ways of feeding it; both implement
:class:`FrontEnd` (sharing :class:`HubFrontEnd`'s methods) and are configured by one
:class:`Options`.

Most applications never import this package: ``open_supervisor`` and ``open_cluster``
return the front ends, and :mod:`jsonvisor.supervisor` re-exports the events, streams and
errors defined here.
"""

from ._errors import (
    FanInSwitchedOff,
    MessageCancelledError,
    MessageExpiredError,
    ModelValidationError,
    ResultUnavailable,
    SupervisorError,
)
from ._events import (
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
from ._front import FrontEnd, HubFrontEnd, as_chunk
from ._hub import UNREAD_FAN_IN_WAIT, MessageHub, RoomWait
from ._options import DEFAULTS, FanIn, OffloadMode, Options, OverflowPolicy, as_watch, options_from
from ._queues import SCHEDULE_INTERVAL, EventQueue, EventStream, ResultStream, Subscription
from ._record import MessageRecord
from ._restarts import RestartBudget
from ._results import Outcome, ResultRegistry
from ._stats import MessageStats

__all__ = [
    "DEFAULTS",
    "SCHEDULE_INTERVAL",
    "TERMINAL_EVENTS",
    "UNREAD_FAN_IN_WAIT",
    "Cancelled",
    "Completed",
    "EventQueue",
    "EventStream",
    "Expired",
    "Failed",
    "FanIn",
    "FanInSwitchedOff",
    "FrontEnd",
    "HubFrontEnd",
    "MessageCancelledError",
    "MessageEvent",
    "MessageExpiredError",
    "MessageHub",
    "MessageRecord",
    "MessageStats",
    "ModelValidationError",
    "OffloadMode",
    "Options",
    "Outcome",
    "OverflowPolicy",
    "RestartBudget",
    "Restarted",
    "ResultRegistry",
    "ResultStream",
    "ResultUnavailable",
    "RoomWait",
    "Subscription",
    "SupervisorError",
    "SupervisorEvent",
    "TerminalEvent",
    "WatchEvent",
    "as_chunk",
    "as_watch",
    "is_terminal",
    "options_from",
]
