"""Exceptions of the supervisor.

``MailboxFull`` lives in :mod:`jsonvisor.mailboxes` and is re-exported here.
"""

from __future__ import annotations

from collections.abc import Hashable

from ..mailboxes import MailboxFull

__all__ = [
    "MailboxFull",
    "MessageCancelledError",
    "MessageExpiredError",
    "ParserCrashed",
    "RestartIntensityExceeded",
    "ResultUnavailable",
    "SupervisorError",
]


class SupervisorError(Exception):
    """Base class of the supervisor's own exceptions."""


class ParserCrashed(SupervisorError):
    """A message's parser raised an unexpected exception and could not be restarted.

    Either it crashed more than ``max_restarts`` times within ``restart_window`` seconds,
    or its input was too large to keep for a replay (``max_bytes``).  The last crash is
    the ``__cause__``.
    """

    def __init__(self, msg_id: Hashable, crashes: int, detail: str = "") -> None:
        self.msg_id = msg_id
        self.crashes = crashes
        text = f"parser of message {msg_id!r} crashed {crashes} time(s)"
        super().__init__(f"{text}: {detail}" if detail else text)


class RestartIntensityExceeded(SupervisorError):
    """More than ``max_total_restarts`` restarts within ``total_restart_window`` seconds.

    The supervisor fails: every open message is cancelled and this exception propagates
    out of ``open_supervisor``, so the application decides what to do (OTP's MaxR/MaxT).
    The crash that tipped it over is the ``__cause__``.
    """

    def __init__(self, restarts: int, window: float) -> None:
        self.restarts = restarts
        self.window = window
        super().__init__(
            f"supervisor restart intensity exceeded: more than {restarts} restarts "
            f"within {window} s"
        )


class MessageExpiredError(SupervisorError):
    """``result()`` of a message that expired (``reason`` is ``"idle"`` or ``"ttl"``)."""

    def __init__(self, msg_id: Hashable, reason: str) -> None:
        self.msg_id = msg_id
        self.reason = reason
        super().__init__(f"message {msg_id!r} expired ({reason})")


class MessageCancelledError(SupervisorError):
    """``result()`` of a message that was cancelled (``"cancelled"`` or ``"shutdown"``)."""

    def __init__(self, msg_id: Hashable, reason: str) -> None:
        self.msg_id = msg_id
        self.reason = reason
        super().__init__(f"message {msg_id!r} was cancelled ({reason})")


class ResultUnavailable(SupervisorError, LookupError):
    """``result()`` or ``subscribe()`` of a message that finished too long ago.

    Only the outcomes of the last ``keep_results`` messages to finish are kept.
    """

    def __init__(self, msg_id: Hashable) -> None:
        self.msg_id = msg_id
        super().__init__(f"message {msg_id!r} finished and its result is no longer kept")
