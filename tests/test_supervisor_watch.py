"""Field watchers on a supervisor's messages (``open_supervisor(watch=...)``), on trio and
asyncio: typed by the parser's schema; nothing twice after a restart.  (Each watched value
once, right after the events that completed it, whatever the chunking, cut values marked,
growing text: tests/test_frontends.py, on every front end.)"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from jsonvisor.parsers import StreamingJsonParser
from jsonvisor.supervisor import WatchEvent, open_supervisor
from test_supervisor_support import anyio_backend  # noqa: F401 (a fixture)

pytestmark = pytest.mark.anyio

DOC = {"summary": "Two steps", "steps": [{"title": "plan", "n": 1}, {"title": "ship", "n": 2}]}
TEXT = json.dumps(DOC)


async def _run(chunks: list[str], **options: Any) -> list[Any]:
    """Every event of message "m" (fan-in), in order."""
    out: list[Any] = []
    async with open_supervisor(**options) as sup:
        for c in chunks:
            await sup.send("m", c)
        await sup.end("m")
        sup.close_input()
        async for ev in sup.events():
            out.append(ev)
    return out


@dataclasses.dataclass
class Step:
    title: str
    n: int


@dataclasses.dataclass
class Plan:
    summary: str
    steps: list[Step]


async def test_values_are_typed_by_the_parsers_schema() -> None:
    events = await _run(
        [TEXT], parser=lambda _id: StreamingJsonParser(schema=Plan), watch="$.steps[*]"
    )
    models = [ev.item.model for ev in events if isinstance(ev, WatchEvent)]
    assert models == [Step("plan", 1), Step("ship", 2)]


async def test_nothing_is_delivered_twice_after_a_restart() -> None:
    crashed: list[bool] = []

    class Flaky(StreamingJsonParser):
        def feed(self, chunk: Any) -> Any:
            if "ship" in str(chunk) and not crashed:
                crashed.append(True)
                raise RuntimeError("boom")
            return super().feed(chunk)

    chunks = [TEXT[: TEXT.index("ship")], TEXT[TEXT.index("ship") :]]
    events = await _run(chunks, parser=lambda _id: Flaky(), watch="$.steps[*].title")
    assert crashed
    assert [ev.item.value for ev in events if isinstance(ev, WatchEvent)] == ["plan", "ship"]
