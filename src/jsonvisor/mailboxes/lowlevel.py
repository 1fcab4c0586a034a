"""The few scheduling primitives the mailboxes and the supervisor need, on trio and asyncio.

The supervisor runs under trio (its first-class backend) and under asyncio, directly or
through AnyIO.  Its task groups, cancel scopes, sleeps and worker threads are AnyIO's; what
AnyIO has no public API for -- parking a task and waking it later, possibly with an
exception, as ``trio.lowlevel.wait_task_rescheduled`` does -- is here, as one small
:class:`Hub` per backend:

* :class:`TrioHub` calls ``trio.lowlevel`` directly: a token is the waiting task, a wait
  is ``wait_task_rescheduled`` and a wake is ``reschedule``.  So on trio the hot paths cost
  what they cost before AnyIO (a checkpoint through AnyIO's dispatch costs about 0.8 µs
  more per call, which ``send`` would pay per chunk).  Its task group is a trio nursery:
  AnyIO's (4.14+) gives every task a handle, a cancel scope and a wrapping coroutine,
  about 1.7 KB per task, which ten thousand open messages would feel.
* :class:`AsyncioHub`: a token is a future the waiting task awaits.

One difference is the backends' own: under trio a wake-up, once given, always arrives;
under asyncio a task can be cancelled after it was woken but before it ran, and the wake
is lost.  :meth:`Hub.wait` reports that case (``lost``) so that whoever woke the task can
pass the wake-up on.

The exceptions raised where a trio program expects trio's and an AnyIO program AnyIO's
(:class:`ClosedResourceError`, :class:`WouldBlock`, :class:`BusyResourceError`,
:class:`EndOfStream`) are subclasses of both, so ``except trio.WouldBlock`` and ``except
anyio.WouldBlock`` both catch them.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Generator
from contextlib import AbstractAsyncContextManager
from typing import Any

import anyio
import anyio.lowlevel
import outcome
import trio

__all__ = [
    "AsyncioHub",
    "BusyResourceError",
    "ClosedResourceError",
    "EndOfStream",
    "Hub",
    "Lot",
    "TrioHub",
    "WouldBlock",
    "current_hub",
]


# ---------------------------------------------------------------------- exceptions


class ClosedResourceError(anyio.ClosedResourceError, trio.ClosedResourceError):
    """The supervisor (or cluster) is closed, or closing: both trio's and AnyIO's error."""


class WouldBlock(anyio.WouldBlock, trio.WouldBlock):
    """A ``*_nowait`` call would have had to wait: both trio's and AnyIO's error."""


class BusyResourceError(anyio.BusyResourceError, trio.BusyResourceError):
    """Another task already uses this (or it is busy off the loop): trio's and AnyIO's."""


class EndOfStream(anyio.EndOfStream, trio.EndOfChannel):
    """The event stream has ended: both AnyIO's ``EndOfStream`` and trio's
    ``EndOfChannel``."""


# ---------------------------------------------------------------------- hubs

Token = Any
"""What identifies one waiting task to :meth:`Hub.wake` (a trio task, an asyncio future)."""


class Hub:
    """Scheduling primitives of one backend (see the module documentation).

    Attributes:
        name: ``"trio"`` or ``"asyncio"``.
        checkpoint: ``await hub.checkpoint()``: a cancellation point and a schedule point.
        checkpoint_if_cancelled: a cancellation point only (never a schedule point unless
            cancelled).
        cancel_shielded_checkpoint: a schedule point only.
        current_time: the event loop's clock (trio's ``MockClock`` in tests).
        sleep: ``await hub.sleep(seconds)``.
    """

    name: str
    checkpoint: Callable[[], Awaitable[None]]
    checkpoint_if_cancelled: Callable[[], Awaitable[None]]
    cancel_shielded_checkpoint: Callable[[], Awaitable[None]]
    current_time: Callable[[], float]
    sleep: Callable[[float], Awaitable[None]]

    def open_task_group(self) -> AbstractAsyncContextManager[Any]:
        """A task group with ``start_soon(fn, *args, name=...)`` and ``cancel_scope``
        whose errors come out as an exception group."""
        return anyio.create_task_group()

    def token(self) -> Token:
        """A token for the current task, to register before :meth:`wait`."""
        raise NotImplementedError

    def wait(
        self,
        token: Token,
        abort: Callable[[Token], object],
        lost: Callable[[Token], object] | None = None,
    ) -> Awaitable[None]:
        """Park the current task until :meth:`wake` or :meth:`throw` is called with ``token``.

        Always a schedule point.  If cancelled before it is woken, ``abort(token)`` is
        called (forget the token) and the cancellation propagates.  If it is cancelled
        after :meth:`wake` but before it ran (asyncio only), ``lost(token)`` is called
        instead, so the wake-up can go to someone else.
        """
        raise NotImplementedError

    def wait_lightly(self, token: Token, abort: Callable[[Token], object]) -> Awaitable[None]:
        """:meth:`wait` for a single waiter that can tell a stale token itself: ``abort``
        may not be called (asyncio: the future is awaited directly, saving a coroutine
        per wait); :meth:`stale` is then True once the wait is over."""
        return self.wait(token, abort)

    def stale(self, token: Token) -> bool:
        """True if the wait with ``token`` is over (woken, thrown into or cancelled)."""
        return False

    def wake(self, token: Token) -> None:
        """Let the task waiting with ``token`` go on (at most once per wait)."""
        raise NotImplementedError

    def throw(self, token: Token, error: BaseException) -> None:
        """Wake the task waiting with ``token`` by raising ``error`` in it."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


class _TrioAbort:
    """trio's abort function for one wait: forget the token, let the cancellation in.

    (A slotted object: smaller than a closure, and every idle message holds one.)"""

    __slots__ = ("abort", "token")

    def __init__(self, abort: Callable[[Token], object], token: Token) -> None:
        self.abort = abort
        self.token = token

    def __call__(self, raise_cancel: object) -> trio.lowlevel.Abort:
        self.abort(self.token)
        return trio.lowlevel.Abort.SUCCEEDED


class TrioHub(Hub):
    """:class:`Hub` on trio: ``trio.lowlevel`` itself."""

    name = "trio"
    checkpoint = staticmethod(trio.lowlevel.checkpoint)
    checkpoint_if_cancelled = staticmethod(trio.lowlevel.checkpoint_if_cancelled)
    cancel_shielded_checkpoint = staticmethod(trio.lowlevel.cancel_shielded_checkpoint)
    current_time = staticmethod(trio.current_time)
    sleep = staticmethod(trio.sleep)
    token = staticmethod(trio.lowlevel.current_task)  # type: ignore[assignment]
    wake = staticmethod(trio.lowlevel.reschedule)  # type: ignore[assignment]

    def open_task_group(self) -> AbstractAsyncContextManager[Any]:
        return trio.open_nursery(strict_exception_groups=True)

    def wait(
        self,
        token: Token,
        abort: Callable[[Token], object],
        lost: Callable[[Token], object] | None = None,
    ) -> Awaitable[None]:
        return trio.lowlevel.wait_task_rescheduled(_TrioAbort(abort, token))

    def throw(self, token: Token, error: BaseException) -> None:
        trio.lowlevel.reschedule(token, outcome.Error(error))


def _asyncio_backend_checkpoints() -> tuple[Callable[[], Awaitable[None]], ...]:
    """AnyIO's asyncio checkpoints, without AnyIO's per-call backend lookup (0.8 µs) when
    its backend class can be had; AnyIO's public functions otherwise."""
    public = (
        anyio.lowlevel.checkpoint,
        anyio.lowlevel.checkpoint_if_cancelled,
        anyio.lowlevel.cancel_shielded_checkpoint,
    )
    try:
        from anyio._core._eventloop import get_async_backend

        backend = get_async_backend("asyncio")
        found = (
            backend.checkpoint,
            backend.checkpoint_if_cancelled,
            backend.cancel_shielded_checkpoint,
        )
    except Exception:  # pragma: no cover - a future AnyIO without this internal
        return public
    return found


async def _wait_future(
    future: asyncio.Future[None],
    abort: Callable[[Token], object],
    lost: Callable[[Token], object] | None,
) -> None:
    try:
        await future
    except asyncio.CancelledError:
        if future.cancelled() or not future.done():
            abort(future)
        elif future.exception() is None:  # (exception() also marks an error retrieved)
            if lost is not None:
                lost(future)
        raise


class AsyncioHub(Hub):
    """:class:`Hub` on asyncio: a waiting task awaits a future."""

    name = "asyncio"

    def __init__(self) -> None:
        (
            self.checkpoint,
            self.checkpoint_if_cancelled,
            self.cancel_shielded_checkpoint,
        ) = _asyncio_backend_checkpoints()
        self.sleep = anyio.sleep

    @staticmethod
    def current_time() -> float:
        return asyncio.get_running_loop().time()

    def token(self) -> Token:
        return asyncio.get_running_loop().create_future()

    def wait(
        self,
        token: Token,
        abort: Callable[[Token], object],
        lost: Callable[[Token], object] | None = None,
    ) -> Awaitable[None]:
        return _wait_future(token, abort, lost)

    def wait_lightly(self, token: Token, abort: Callable[[Token], object]) -> Awaitable[None]:
        return token  # type: ignore[no-any-return]

    def stale(self, token: Token) -> bool:
        return token.done()  # type: ignore[no-any-return]

    def wake(self, token: Token) -> None:
        if not token.done():
            token.set_result(None)

    def throw(self, token: Token, error: BaseException) -> None:
        if not token.done():
            token.set_exception(error)


TRIO_HUB = TrioHub()
ASYNCIO_HUB = AsyncioHub()


def current_hub() -> Hub:
    """The :class:`Hub` of the event loop running in this thread.

    Raises ``RuntimeError`` outside trio and asyncio (AnyIO runs on one of them).
    """
    try:
        trio.lowlevel.current_task()
    except RuntimeError:
        pass
    else:
        return TRIO_HUB
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        return ASYNCIO_HUB
    raise RuntimeError(
        "jsonvisor's supervisor and mailboxes run under trio or asyncio (directly or "
        "through AnyIO), and no event loop is running in this thread"
    )


# ---------------------------------------------------------------------- a parking lot


class Lot:
    """Tasks waiting for something, woken first in, first out (trio's ``ParkingLot``,
    on either backend).  A wake-up lost to a cancellation goes to the next waiter."""

    __slots__ = ("_hub", "_waiters")

    def __init__(self, hub: Hub) -> None:
        self._hub = hub
        self._waiters: OrderedDict[Token, None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._waiters)

    def __bool__(self) -> bool:
        return bool(self._waiters)

    def park(self) -> Awaitable[None]:
        """``await lot.park()``: wait until :meth:`unpark` picks this task (cancellable).

        The task is registered when this is called, so await the result at once.
        """
        hub = self._hub
        token = hub.token()
        self._waiters[token] = None
        return hub.wait(token, self._forget, self._pass_on)

    def _forget(self, token: Token) -> None:
        self._waiters.pop(token, None)

    def _pass_on(self, token: Token) -> None:
        self.unpark()

    def unpark(self, count: int = 1) -> int:
        """Wake up to ``count`` waiters, oldest first; return how many were woken."""
        waiters = self._waiters
        wake = self._hub.wake
        woken = 0
        while waiters and woken < count:
            token, _ = waiters.popitem(last=False)
            wake(token)
            woken += 1
        return woken

    def unpark_all(self) -> int:
        """Wake every waiter; return how many there were."""
        return self.unpark(len(self._waiters))


# ---------------------------------------------------------------------- misc


class _Ready:
    """An awaitable that completes at once, without a checkpoint."""

    __slots__ = ()

    def __await__(self) -> Generator[None, None, None]:
        return
        yield  # pragma: no cover - makes this a generator


READY = _Ready()
"""Awaiting it does nothing: no schedule point, no cancellation point."""
