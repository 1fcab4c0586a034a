"""A parser factory that worker actors import (for test_cluster_flow's pacing test).

Its parsers take ``FEED_COST`` seconds of CPU per ``feed``, more than an application
loop's round budget (``jsonvisor.mailboxes.pacing.ROUND_BUDGET``, 2 ms), so a paced loop
would make every other busy message task wait for its turn; each message's result reports
what the worker's pacer did: ``{"value": ..., "waits": ..., "rounds": ..., "feeds": ...}``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Hashable
from typing import Any

from jsonvisor.mailboxes import current_pacer
from jsonvisor.parsers import ParseResult, StreamingJsonParser

FEED_COST = 0.003


class SlowParser:
    """A ``StreamingJsonParser`` whose every feed costs ``FEED_COST`` of CPU time."""

    def __init__(self) -> None:
        self.inner = StreamingJsonParser()
        self.feeds = 0

    def feed(self, chunk: Any) -> list[Any]:
        self.feeds += 1
        deadline = time.perf_counter() + FEED_COST
        while time.perf_counter() < deadline:
            pass
        return self.inner.feed(chunk)

    def finish(self) -> ParseResult:
        result = self.inner.finish()
        pacer = current_pacer()
        report = {
            "value": result.value,
            "waits": pacer.waits,
            "rounds": pacer.rounds,
            "limit": pacer.limit,
            "feeds": self.feeds,
        }
        return dataclasses.replace(result, value=report)

    def snapshot(self) -> Any:
        return self.inner.snapshot()


def slow_parser(msg_id: Hashable) -> SlowParser:
    return SlowParser()
