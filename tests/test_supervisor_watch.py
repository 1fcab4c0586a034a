"""Field watchers on a supervisor's messages (``open_supervisor(watch=...)``), on trio and
asyncio: each watched value once, right after the events that completed it, whatever the
chunking; cut values marked; typed by the parser's schema; nothing twice after a restart."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from jsonvisor.parsers import StreamingJsonParser
from jsonvisor.supervisor import Completed, MessageEvent, WatchEvent, open_supervisor
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


@pytest.mark.parametrize("step", [1, 3, 7, len(TEXT)])
async def test_each_watched_value_once_after_the_events_that_completed_it(step: int) -> None:
    chunks = [TEXT[i : i + step] for i in range(0, len(TEXT), step)]
    events = await _run(chunks, watch=["$.steps[*].title", "$.summary"])
    watched = [ev.item for ev in events if isinstance(ev, WatchEvent)]
    assert sorted((w.path, w.value) for w in watched) == [
        (("steps", 0, "title"), "plan"),
        (("steps", 1, "title"), "ship"),
        (("summary",), "Two steps"),
    ]
    assert all(w.complete for w in watched)
    # each one after the parser event that completed it (or its ancestor), before the end
    for w in watched:
        i = next(i for i, ev in enumerate(events) if isinstance(ev, WatchEvent) and ev.item is w)
        done = [
            j
            for j, ev in enumerate(events[:i])
            if isinstance(ev, MessageEvent)
            and getattr(ev.event, "path", None) is not None
            and w.path[: len(ev.event.path)] == ev.event.path
            and type(ev.event).__name__ == "ValueCompleted"
        ]
        assert done, w
    assert isinstance(events[-1], Completed)


async def test_a_value_cut_by_the_end_of_input_is_marked() -> None:
    events = await _run([TEXT[: TEXT.index("ship") + 2]], watch="$.steps[*].title")
    watched = [ev.item for ev in events if isinstance(ev, WatchEvent)]
    assert [(w.value, w.complete) for w in watched] == [("plan", True), ("sh", False)]


async def test_growing_text_with_watch_text() -> None:
    chunks = [TEXT[i : i + 4] for i in range(0, len(TEXT), 4)]
    events = await _run(chunks, watch="$.summary", watch_text=True)
    items = [ev.item for ev in events if isinstance(ev, WatchEvent)]
    pieces = [it.text for it in items if type(it).__name__ == "WatchedText"]
    assert "".join(pieces) == "Two steps"  # (chunks sent at once may be fed as one)
    assert [it.value for it in items if type(it).__name__ == "WatchedValue"] == ["Two steps"]


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


async def test_a_bad_path_is_refused_at_open() -> None:
    with pytest.raises(ValueError):
        async with open_supervisor(watch="$.items[") as _sup:
            pass
