"""The supervisor's API: routing, fan-in, subscriptions, results, stats, dead letters."""

from __future__ import annotations

import anyio
import pytest

from jsonvisor.parsers import (
    DocumentCompleted,
    StreamingJsonParser,
    ValueCompleted,
)
from jsonvisor.supervisor import (
    Failed,
    open_supervisor,
)
from test_supervisor_support import (  # noqa: F401 (anyio_backend: a fixture)
    Collector,
    CountingParser,
    anyio_backend,
    random_chunks,
    small_doc,
    tasks_living,
    wait_all_tasks_blocked,
)

pytestmark = pytest.mark.anyio


async def test_burst_is_fed_in_one_step() -> None:
    parsers: list[CountingParser] = []

    def factory(msg_id: object) -> CountingParser:
        parsers.append(CountingParser())
        return parsers[-1]

    async with open_supervisor(factory, mailbox_size=100, fan_in=False) as sup:
        for chunk in ['{"a"', ": ", "[1,", " 2", "]}"]:
            sup.send_nowait("m", chunk)
        await sup.end("m")
        assert (await sup.result("m")).value == {"a": [1, 2]}
    assert parsers[0].feeds == [len('{"a": [1, 2]}')]


async def test_snapshot_shows_the_live_partial_value() -> None:
    async with open_supervisor(fan_in=False) as sup:
        await sup.send("m", '{"title": "Hel')
        await wait_all_tasks_blocked()
        assert sup.snapshot("m") == {"title": "Hel"}
        with pytest.raises(KeyError):
            sup.snapshot("other")


async def test_leaving_the_block_leaves_no_tasks() -> None:
    # (What leaving the block does to messages and streams: tests/test_frontends.py.)
    before = tasks_living()
    collector = Collector()
    async with anyio.create_task_group() as outer:
        async with open_supervisor() as sup:
            outer.start_soon(collector.run, sup)
            for i in range(20):
                await sup.send(i, "[1, 2")
            await wait_all_tasks_blocked()
    assert collector.ended and tasks_living() == before
    assert sup.stats().messages_cancelled == 20


async def test_parser_factory_gets_the_message_id() -> None:
    made = []

    def factory(msg_id: object) -> StreamingJsonParser:
        made.append(msg_id)
        return StreamingJsonParser(multiple_values=True)

    async with open_supervisor(factory) as sup:
        collector = Collector()
        async with anyio.create_task_group() as nursery:
            nursery.start_soon(collector.run, sup)
            await sup.send(("user", 1), '{"a": 1}\n{"a": 2}\n')
            await sup.end(("user", 1))
            await collector.wait_finished(1)
            nursery.cancel_scope.cancel()
    assert made == [("user", 1)]
    docs = [e for e in collector.parser_events(("user", 1)) if isinstance(e, DocumentCompleted)]
    assert [d.value for d in docs] == [{"a": 1}, {"a": 2}]
    assert not any(isinstance(e, Failed) for e in collector.events)
    assert any(isinstance(e, ValueCompleted) for e in collector.parser_events(("user", 1)))
