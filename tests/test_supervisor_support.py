"""Shared helpers of the supervisor tests (this module holds no tests itself).

Every supervisor test runs on both backends, trio and asyncio, through AnyIO's pytest
plugin: a test module imports :func:`anyio_backend` from here (``pytestmark =
pytest.mark.anyio``), so each of its async tests runs once per backend (test IDs
``[trio]`` and ``[asyncio]``).  A test that also asks for the :func:`autojump` fixture
runs on a virtual clock that jumps ahead whenever every task waits: trio's
``MockClock(autojump_threshold=0)``, and on asyncio :class:`AutojumpLoop`.  The helpers
below (tasks alive, all tasks blocked, counting loop steps) do the same thing on both.
"""

from __future__ import annotations

import asyncio
import json
import random
import selectors
from collections import defaultdict
from collections.abc import Awaitable, Hashable
from typing import Any

import anyio
import pytest
import trio
import trio.testing

from jsonvisor.parsers import Event, ParseResult, StreamingJsonParser
from jsonvisor.supervisor import (
    MessageEvent,
    Supervisor,
    SupervisorEvent,
    is_terminal,
)

BACKENDS = ["trio", "asyncio"]


# ---------------------------------------------------------------------- backends


class _JumpingSelector(selectors.DefaultSelector):
    """A selector that, instead of sleeping until the next timer, moves its loop's
    virtual clock there (I/O and wake-ups from threads still end a real wait)."""

    loop: AutojumpLoop

    def select(self, timeout: float | None = None) -> list[Any]:
        events = super().select(0)
        if events or (timeout is not None and timeout <= 0):
            return events
        if timeout is None:  # no timer at all: wait for real (a thread, a socket)
            return super().select(None)
        self.loop.virtual_time += timeout
        return []


class AutojumpLoop(asyncio.SelectorEventLoop):
    """An asyncio event loop on a virtual clock that jumps to the next timer as soon as
    nothing is ready to run: asyncio's ``MockClock(autojump_threshold=0)``."""

    def __init__(self) -> None:
        selector = _JumpingSelector()
        super().__init__(selector)
        selector.loop = self
        self.virtual_time = 0.0

    def time(self) -> float:
        return self.virtual_time


class SteppingLoop(asyncio.SelectorEventLoop):
    """An asyncio event loop that calls ``on_step()`` before each callback it runs soon
    (every task step is one, and so is every future's done callback): what
    :class:`LoopSteps` counts on asyncio."""

    on_step: Any = None

    def call_soon(self, callback: Any, *args: Any, context: Any = None) -> asyncio.Handle:
        on_step = self.on_step
        if on_step is not None:
            inner = callback

            def callback(*args: Any) -> Any:
                on_step()
                return inner(*args)

        return super().call_soon(callback, *args, context=context)


@pytest.fixture
def autojump() -> None:
    """Ask for it to run the test on a virtual clock (see :func:`anyio_backend`)."""


@pytest.fixture
def loop_steps() -> None:
    """Ask for it to count loop steps with :class:`LoopSteps` (see :func:`anyio_backend`)."""


@pytest.fixture(params=BACKENDS)
def anyio_backend(request: pytest.FixtureRequest) -> Any:
    """Each test runs under trio and under asyncio; on a virtual clock with
    :func:`autojump`, and on asyncio on a :class:`SteppingLoop` with
    :func:`loop_steps`."""
    name = request.param
    if "autojump" in request.fixturenames:
        if name == "trio":
            return ("trio", {"clock": trio.testing.MockClock(autojump_threshold=0)})
        return ("asyncio", {"loop_factory": AutojumpLoop})
    if "loop_steps" in request.fixturenames and name == "asyncio":
        return ("asyncio", {"loop_factory": SteppingLoop})
    return name


def backend() -> str:
    """``"trio"`` or ``"asyncio"``: the backend running now."""
    try:
        trio.lowlevel.current_task()
    except RuntimeError:
        return "asyncio"
    return "trio"


def _not_ours(task: anyio.TaskInfo) -> bool:
    """A task of the event loop's own machinery, not of the code under test: AnyIO's
    process pool watcher (started by the first ``offload="process"`` feed on asyncio and
    kept for the loop's lifetime) and asyncio's subprocess plumbing (a worker process
    killed while it started leaves ``_connect_pipes`` running for a moment)."""
    if task.name == "AnyIO process pool shutdown task":
        return True
    qualname = getattr(task.coro, "__qualname__", "")
    return qualname.startswith("BaseSubprocessTransport.")


def tasks_living() -> int:
    """How many tasks exist right now (on either backend), the loop's own aside."""
    return sum(1 for t in anyio.get_running_tasks() if not _not_ours(t))


async def wait_all_tasks_blocked() -> None:
    """Return once every other task waits for something (``trio.testing``'s, on both).

    AnyIO's asyncio version sleeps 0.1 s whenever a task is still runnable; this one
    only passes schedule points until none is.
    """
    if backend() == "trio":
        await trio.testing.wait_all_tasks_blocked()
        return
    this = asyncio.current_task()
    while True:
        await asyncio.sleep(0)
        for task in asyncio.all_tasks():
            if task is this:
                continue
            waiter = task._fut_waiter  # type: ignore[attr-defined]
            if waiter is None or waiter.done():
                break
        else:
            return


def suspends(awaitable: Awaitable[Any]) -> bool:
    """Whether awaiting ``awaitable`` would suspend the task (a schedule point); the
    awaitable is driven one step and then closed.  Only for an awaitable expected to
    complete at once: one that waits stays registered wherever it waited."""
    step = awaitable.__await__()
    try:
        step.send(None)
    except StopIteration:
        return False
    step.close()
    return True


class LoopSteps:
    """Counts event-loop steps and cancels ``scope`` at step ``k``: each task step on
    trio (an instrument), each iteration of a :class:`SteppingLoop` on asyncio (the test
    asks for the :func:`loop_steps` fixture)."""

    def __init__(self, k: int, scope: anyio.CancelScope) -> None:
        self.k = k
        self.steps = 0
        self.scope = scope

    def _step(self) -> None:
        self.steps += 1
        if self.steps == self.k:
            self.scope.cancel()

    def before_task_step(self, task: object) -> None:  # a trio instrument
        self._step()

    def start(self) -> None:
        if backend() == "trio":
            trio.lowlevel.add_instrument(self)  # type: ignore[arg-type]
            return
        loop = asyncio.get_running_loop()
        assert isinstance(loop, SteppingLoop), "ask for the loop_steps fixture"
        loop.on_step = self._step

    def stop(self) -> None:
        if backend() == "trio":
            trio.lowlevel.remove_instrument(self)  # type: ignore[arg-type]
        else:
            asyncio.get_running_loop().on_step = None  # type: ignore[attr-defined]


# ---------------------------------------------------------------------- workloads


def small_doc(i: int) -> str:
    """A small JSON document that differs with ``i``."""
    return json.dumps(
        {"id": i, "name": f"item {i} \u00e9\U0001f680", "tags": ["a", "b"][: i % 3], "n": i * 1.5}
    )


def random_chunks(text: str, rng: random.Random, lo: int = 1, hi: int = 8) -> list[str]:
    """``text`` cut into pieces of ``lo``..``hi`` characters."""
    out = []
    i = 0
    while i < len(text):
        k = rng.randint(lo, hi)
        out.append(text[i : i + k])
        i += k
    return out


class Collector:
    """Reads ``sup.events()`` in the background and files every event by message."""

    def __init__(self) -> None:
        self.events: list[SupervisorEvent] = []
        self.by_msg: dict[Hashable, list[SupervisorEvent]] = defaultdict(list)
        self.terminals: dict[Hashable, list[SupervisorEvent]] = defaultdict(list)
        self.finished = 0
        self._changed = anyio.Event()
        self.ended = False

    async def run(self, sup: Supervisor) -> None:
        async for event in sup.events():
            self.events.append(event)
            self.by_msg[event.msg_id].append(event)
            if is_terminal(event):
                self.terminals[event.msg_id].append(event)
                self.finished += 1
            self._changed.set()
            self._changed = anyio.Event()
        self.ended = True

    async def wait_finished(self, n: int) -> None:
        """Wait until ``n`` terminal events have been read."""
        while self.finished < n:
            await self._changed.wait()

    def parser_events(self, msg_id: Hashable) -> list[Event]:
        return [e.event for e in self.by_msg[msg_id] if isinstance(e, MessageEvent)]


class CountingParser:
    """A StreamingJsonParser that records the size of every feed (picklable)."""

    def __init__(self, **kwargs: Any) -> None:
        self.inner = StreamingJsonParser(**kwargs)
        self.feeds: list[int] = []

    def feed(self, chunk: str | bytes) -> list[Event]:
        self.feeds.append(len(chunk))
        return self.inner.feed(chunk)

    def finish(self) -> ParseResult:
        return self.inner.finish()

    def snapshot(self) -> Any:
        return self.inner.snapshot()


class CrashingParser:
    """A StreamingJsonParser whose ``feed``/``finish`` raise RuntimeError on chosen calls.

    ``plan`` is shared by every parser of one message (restarts included): it maps a call
    number (counted over all ``feed`` calls of the message, from 0) to True for a crash;
    the key ``"finish"`` holds how many ``finish`` calls crash.
    """

    def __init__(self, plan: dict[Any, Any], **kwargs: Any) -> None:
        self.inner = StreamingJsonParser(**kwargs)
        self.plan = plan

    def feed(self, chunk: str | bytes) -> list[Event]:
        n = self.plan.setdefault("calls", 0)
        self.plan["calls"] = n + 1
        if self.plan.get(n):
            raise RuntimeError(f"injected crash on feed call {n}")
        return self.inner.feed(chunk)

    def finish(self) -> ParseResult:
        if self.plan.get("finish", 0) > 0:
            self.plan["finish"] -= 1
            raise RuntimeError("injected crash in finish")
        return self.inner.finish()

    def snapshot(self) -> Any:
        return self.inner.snapshot()
