"""Shared helpers of the supervisor tests (this module holds no tests itself)."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Hashable
from typing import Any

import trio

from jsonvisor.parsers import Event, ParseResult, StreamingJsonParser
from jsonvisor.supervisor import (
    MessageEvent,
    Supervisor,
    SupervisorEvent,
    is_terminal,
)


def tasks_living() -> int:
    """How many Trio tasks exist right now."""
    return trio.lowlevel.current_statistics().tasks_living


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
        self._changed = trio.Event()
        self.ended = False

    async def run(self, sup: Supervisor) -> None:
        async for event in sup.events():
            self.events.append(event)
            self.by_msg[event.msg_id].append(event)
            if is_terminal(event):
                self.terminals[event.msg_id].append(event)
                self.finished += 1
            self._changed.set()
            self._changed = trio.Event()
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
