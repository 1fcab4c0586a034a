"""Exceptions of message delivery, the same from a supervisor and from a cluster.

:exc:`SupervisorError` is the base class of every jsonvisor supervisor and cluster
exception (the cluster's own derive from it too).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

__all__ = [
    "FanInSwitchedOff",
    "MessageCancelledError",
    "MessageExpiredError",
    "ModelValidationError",
    "ResultUnavailable",
    "SupervisorError",
]


class SupervisorError(Exception):
    """Base class of the supervisor's (and the cluster's) own exceptions."""


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
