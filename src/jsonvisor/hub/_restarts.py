"""Restart intensity: at most N restarts within a sliding window of T seconds (OTP)."""

from __future__ import annotations

from collections import deque

__all__ = ["RestartBudget"]


class RestartBudget:
    """Allows at most ``max_restarts`` restarts within any ``window`` seconds.

    ``max_restarts=None`` allows any number; ``0`` allows none.  Time comes from the caller
    (the event loop's clock), so a mock clock drives it in tests.
    """

    __slots__ = ("_times", "max_restarts", "window")

    def __init__(self, max_restarts: int | None, window: float) -> None:
        if max_restarts is not None and max_restarts < 0:
            raise ValueError(f"max_restarts must be >= 0 or None, not {max_restarts!r}")
        if window <= 0:
            raise ValueError(f"the restart window must be positive, not {window!r}")
        self.max_restarts = max_restarts
        self.window = window
        self._times: deque[float] = deque()

    def allow(self, now: float) -> bool:
        """Record a restart at ``now`` and return True, or return False if over budget."""
        if self.max_restarts is None:
            return True
        times = self._times
        horizon = now - self.window
        while times and times[0] <= horizon:
            times.popleft()
        if len(times) >= self.max_restarts:
            return False
        times.append(now)
        return True

    def recent(self, now: float) -> int:
        """How many restarts happened within the window ending at ``now``."""
        horizon = now - self.window
        return sum(1 for t in self._times if t > horizon)
