"""Noticing at once that a worker process has exited (or been killed).

tractor 0.1.0a5 does not notice a child that died of SIGKILL: calls and streams waiting on
it hang.  The root therefore watches each local worker's process itself: a Linux pidfd
becomes readable the moment the process exits (zombie or reaped), without reaping it, so
tractor's own reaping still works.  Where pidfds are missing, ``/proc`` is polled.
"""

from __future__ import annotations

import os
import signal

import trio

__all__ = ["kill_process", "process_alive", "wait_process_exit"]

_POLL = 0.05


def process_alive(pid: int) -> bool:
    """True if ``pid`` exists and has not exited (a zombie counts as exited)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    # The state letter follows the command name, which is in parentheses.
    state = stat[stat.rfind(b")") + 2 : stat.rfind(b")") + 3]
    return state not in (b"Z", b"X", b"x")


async def wait_process_exit(pid: int) -> None:
    """Return as soon as process ``pid`` has exited (or at once if it does not exist)."""
    fd = -1
    pidfd_open = getattr(os, "pidfd_open", None)
    if pidfd_open is not None:
        try:
            fd = pidfd_open(pid)
        except ProcessLookupError:
            await trio.lowlevel.checkpoint()
            return
        except OSError:
            fd = -1
    if fd >= 0:
        try:
            await trio.lowlevel.wait_readable(fd)
        finally:
            trio.lowlevel.notify_closing(fd)
            os.close(fd)
        return
    while process_alive(pid):
        await trio.sleep(_POLL)


def kill_process(pid: int, sig: int = signal.SIGKILL) -> None:
    """Send ``sig`` to ``pid``, ignoring a process that is already gone."""
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
