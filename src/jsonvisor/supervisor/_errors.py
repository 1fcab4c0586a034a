"""Exceptions of the supervisor's parser tasks (the delivery errors are the hub's:
``jsonvisor.hub``)."""

from __future__ import annotations

from collections.abc import Hashable

from ..hub import SupervisorError

__all__ = ["ParserCrashed", "ParserFactoryError", "RestartIntensityExceeded"]


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

