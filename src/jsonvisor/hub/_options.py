"""The options of a supervisor: one frozen object, one set of defaults, one validation.

:func:`~jsonvisor.supervisor.open_supervisor` builds an :class:`Options` from its keywords
(or takes one: ``options=``), :func:`~jsonvisor.cluster.open_cluster` builds one from the
same keywords for its root and sends it to every worker, whose session opens its own
supervisor with it.  The keyword defaults of both are this class's.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["DEFAULTS", "FanIn", "OffloadMode", "Options", "OverflowPolicy"]

OverflowPolicy = Literal["block", "raise", "drop"]
"""What ``send`` does when a message's mailbox is full: wait for room (``"block"``), raise
``MailboxFull`` (``"raise"``), or drop the chunk to dead letters and fail the message with
``MailboxFull`` (``"drop"``: a stream with a hole in it cannot be parsed correctly)."""

OffloadMode = Literal["inline", "thread", "process"]
"""Where large inputs are parsed: see :mod:`jsonvisor.supervisor.offload`."""

FanIn = bool | Literal["auto"]
"""``fan_in=``: ``"auto"`` (the default), True or False; see :class:`Options`."""

_OVERFLOW_POLICIES = ("block", "raise", "drop")
_OFFLOAD_MODES = ("inline", "thread", "process")
_FAN_IN_MODES = (True, False, "auto")


def _check_positive(name: str, value: Any, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0:
        raise ValueError(f"{name} must be a positive number, not {value!r}")
    if isinstance(value, float) and math.isnan(value):
        raise ValueError(f"{name} must be a positive number, not {value!r}")


@dataclass(frozen=True)
class Options:
    """How a supervisor runs its messages (see ``open_supervisor`` for each option).

    Built and checked at once: a wrong value raises ``ValueError`` here, whoever builds
    it (``open_supervisor``, ``open_cluster``, a worker).  Frozen and picklable (a
    cluster sends it to its workers); :meth:`replace` makes a changed copy.
    """

    mailbox_size: int = 256
    mailbox_bytes: int | None = 1 << 20
    overflow: OverflowPolicy = "block"
    offload: OffloadMode = "inline"
    offload_threshold: int = 1 << 20
    slice_size: int = 64 * 1024
    idle_timeout: float | None = None
    ttl: float | None = None
    max_restarts: int | None = 3
    restart_window: float = 5.0
    restart_backoff: float = 0.01
    max_restart_backoff: float = 1.0
    max_total_restarts: int | None = 100
    total_restart_window: float = 5.0
    max_bytes: int = 5 * 1024 * 1024
    fan_in: FanIn = "auto"
    events_buffer: int = 1024
    keep_results: int = 1000
    remember_finished: int = 10_000
    allow_partial: bool = True
    defer_gc: bool = True
    watch: str | tuple[str, ...] | None = None
    watch_text: bool = False

    def __post_init__(self) -> None:
        for name in (
            "mailbox_size",
            "offload_threshold",
            "slice_size",
            "restart_window",
            "max_restart_backoff",
            "total_restart_window",
            "max_bytes",
            "events_buffer",
        ):
            _check_positive(name, getattr(self, name))
        backoff = self.restart_backoff
        if not (
            isinstance(backoff, (int, float)) and not isinstance(backoff, bool) and backoff >= 0
        ):
            raise ValueError(f"restart_backoff must be a number >= 0, not {backoff!r}")
        fan_in = self.fan_in
        if fan_in not in _FAN_IN_MODES or fan_in.__class__ not in (bool, str):
            raise ValueError(f"fan_in must be True, False or 'auto', not {fan_in!r}")
        for name in ("idle_timeout", "mailbox_bytes", "ttl"):
            _check_positive(name, getattr(self, name), allow_none=True)
        if self.overflow not in _OVERFLOW_POLICIES:
            raise ValueError(
                f"overflow must be one of {_OVERFLOW_POLICIES}, not {self.overflow!r}"
            )
        if self.offload not in _OFFLOAD_MODES:
            raise ValueError(f"offload must be one of {_OFFLOAD_MODES}, not {self.offload!r}")
        for name in ("max_restarts", "max_total_restarts", "keep_results", "remember_finished"):
            count = getattr(self, name)
            if count is not None and (not isinstance(count, int) or count < 0):
                raise ValueError(f"{name} must be a non-negative int, not {count!r}")
        watch = self.watch
        if watch is not None:
            if not isinstance(watch, str):
                watch = tuple(watch)
                object.__setattr__(self, "watch", watch)
            from ..watch import Watcher  # (checks the paths now: a bad one is refused)

            Watcher(watch, text=self.watch_text)
        object.__setattr__(self, "watch_text", bool(self.watch_text))

    def replace(self, **changes: Any) -> Options:
        """A copy with ``changes`` (checked like a new one)."""
        return dataclasses.replace(self, **changes)

    @property
    def watch_spec(self) -> tuple[str | tuple[str, ...], bool] | None:
        """``(paths, watch_text)``, or None without ``watch``."""
        return None if self.watch is None else (self.watch, self.watch_text)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """Every option's name, in order."""
        return tuple(f.name for f in dataclasses.fields(cls))


DEFAULTS = Options()
"""The defaults (``open_supervisor``'s and ``open_cluster``'s keywords use them)."""


def options_from(
    options: Options | None, given: Mapping[str, Any], *, owner: str = "open_supervisor"
) -> Options:
    """``options=`` or the keywords: an :class:`Options` from whichever was given.

    ``given`` maps each option keyword to the value passed (or its default); other names
    in it are ignored, so a front end passes its ``locals()``.  With ``options``, every
    keyword must be left at its default: the two ways do not mix.
    """
    given = {name: given[name] for name in Options.names() if name in given}
    if "watch" in given:
        given["watch"] = as_watch(given["watch"])
    if options is None:
        return Options(**given)
    if not isinstance(options, Options):
        raise TypeError(f"options must be a jsonvisor.hub.Options, not {options!r}")
    mixed = [k for k, v in given.items() if v != getattr(DEFAULTS, k)]
    if mixed:
        raise TypeError(
            f"{owner}() takes options= or the option keywords, not both (also given: "
            f"{', '.join(mixed)}): use options.replace({mixed[0]}=...)"
        )
    return options


def as_watch(watch: str | Iterable[str] | None) -> str | tuple[str, ...] | None:
    """``watch=`` as an :class:`Options` field (a tuple for an iterable of paths)."""
    if watch is None or isinstance(watch, str):
        return watch
    return tuple(watch)
