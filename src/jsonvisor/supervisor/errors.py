"""Exceptions of the supervisor.

``MailboxFull`` lives in :mod:`jsonvisor.mailboxes` and is re-exported here.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

from ..mailboxes import MailboxFull

__all__ = [
    "FanInSwitchedOff",
    "MailboxFull",
    "MessageCancelledError",
    "MessageExpiredError",
    "ModelValidationError",
    "ParserCrashed",
    "ParserFactoryError",
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


class ParserFactoryError(SupervisorError, TypeError):
    """The ``parser=`` given to ``open_supervisor`` cannot make a parser: a configuration
    error, never retried.

    Raised by ``open_supervisor`` itself when ``parser`` is not a factory, a parser class
    or a mapping of ``StreamingJsonParser`` options (or the options are wrong); and the
    error of the ``Failed`` event that ends a message at once when its factory raised a
    ``TypeError`` or returned something without ``feed``/``finish``/``snapshot`` (the
    factory's own exception is the ``__cause__``).  ``msg_id`` is None in the first case.
    """

    def __init__(self, detail: str, msg_id: Hashable | None = None) -> None:
        self.msg_id = msg_id
        where = "" if msg_id is None else f" (message {msg_id!r})"
        super().__init__(
            f"parser= cannot make a parser{where}: {detail}.  Pass a factory taking the "
            "message ID (parser=lambda msg_id: StreamingJsonParser(...)), a parser class "
            "(parser=StreamingJsonParser), or a dict of StreamingJsonParser options "
            '(parser={"lenient": True})'
        )


class ModelValidationError(SupervisorError, ValueError):
    """A message's value does not validate against its parser's schema.

    Not raised: it is ``Completed.validation_error`` (the message still completed, with its
    parsed value, and ``model`` None).  ``problems`` are the parser's ``SchemaWarning``
    objects of kind ``"validation"`` (each with ``path`` and ``message``).
    """

    def __init__(self, msg_id: Hashable, problems: Sequence[Any]) -> None:
        self.msg_id = msg_id
        self.problems = tuple(problems)
        shown = "; ".join(_describe(p) for p in self.problems[:5])
        more = f" (and {len(self.problems) - 5} more)" if len(self.problems) > 5 else ""
        super().__init__(
            f"the value of message {msg_id!r} does not validate against the schema: "
            f"{shown}{more}"
        )


def _describe(problem: Any) -> str:
    from ..parsers import format_path

    path = getattr(problem, "path", None)
    message = getattr(problem, "message", problem)
    return f"{format_path(path)}: {message}" if path is not None else str(message)


class FanInSwitchedOff(SupervisorError, RuntimeError):
    """``events()`` or ``results()`` after the default fan-in (``fan_in="auto"``) was
    switched off: it was full before either was ever called, and something waited on
    the parsers it held up (a ``send``, a ``result()``, or a parser for a second), so its
    events were dropped rather than wait for a reader that never came.

    Call ``events()``/``results()`` as soon as the supervisor is open (start the reader
    with the producers), or open it with ``fan_in=True`` to keep every event until it
    is read.
    """

    def __init__(self, capacity: int) -> None:
        super().__init__(
            f"the supervisor's fan-in was switched off: it was full ({capacity} events) "
            "before events() or results() was called, and waiting for a reader would have "
            "stalled every parser, so its events were dropped.  Call events() or "
            "results() as soon as the supervisor is open, or open it with fan_in=True to "
            "keep every event until it is read"
        )
