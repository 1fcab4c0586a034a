"""The supervisor's API: routing, fan-in, subscriptions, results, stats, dead letters."""

from __future__ import annotations

import json
import random

import anyio
import pytest

from jsonvisor.parsers import (
    DocumentCompleted,
    JsonStreamError,
    StreamingJsonParser,
    StringGrew,
    ValueCompleted,
)
from jsonvisor.supervisor import (
    Completed,
    Failed,
    MessageCancelledError,
    MessageEvent,
    ResultUnavailable,
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


async def test_one_message_round_trip() -> None:
    async with open_supervisor() as sup:
        collector = Collector()
        async with anyio.create_task_group() as nursery:
            nursery.start_soon(collector.run, sup)
            await sup.send("a", '{"x": [1, 2')
            await sup.send("a", ', 3], "s": "hel')
            await sup.send("a", 'lo"}')
            await sup.end("a")
            result = await sup.result("a")
            await collector.wait_finished(1)
            nursery.cancel_scope.cancel()
    assert result.value == {"x": [1, 2, 3], "s": "hello"}
    assert result.complete and result.confidence == "high"
    events = collector.by_msg["a"]
    assert all(e.msg_id == "a" for e in events)
    assert isinstance(events[-1], Completed)
    assert events[-1].value == result.value and events[-1].complete
    assert DocumentCompleted(0, result.value) in collector.parser_events("a")


@pytest.mark.parametrize("interleave", ["round_robin", "random"])
async def test_many_interleaved_streams(interleave: str) -> None:
    rng = random.Random(7)
    docs = {f"m{i}": small_doc(i) for i in range(150)}
    queues = {m: random_chunks(d, rng) for m, d in docs.items()}
    order: list[tuple[str, str]] = []
    if interleave == "round_robin":
        for r in range(max(map(len, queues.values()))):
            order += [(m, q[r]) for m, q in queues.items() if r < len(q)]
    else:
        pending = {m: list(q) for m, q in queues.items()}
        while pending:
            m = rng.choice(list(pending))
            order.append((m, pending[m].pop(0)))
            if not pending[m]:
                del pending[m]
    before = tasks_living()
    collector = Collector()
    async with anyio.create_task_group() as outer:
        async with open_supervisor(mailbox_size=4) as sup:
            outer.start_soon(collector.run, sup)
            for m, chunk in order:
                await sup.send(m, chunk)
            for m in docs:
                await sup.end(m)
            await collector.wait_finished(len(docs))
            stats = sup.stats()
    assert tasks_living() == before
    assert collector.ended
    for m, doc in docs.items():
        events = collector.by_msg[m]
        assert len(collector.terminals[m]) == 1 and events[-1] is collector.terminals[m][0]
        assert events[-1].value == json.loads(doc)
        # Strings are delivered as deltas that add up to the whole string.
        name = "".join(
            e.text
            for e in collector.parser_events(m)
            if isinstance(e, StringGrew) and e.path == ("name",)
        )
        assert json.loads(doc)["name"].startswith(name)
    assert stats.messages_started == stats.messages_completed == len(docs)
    assert stats.open_mailboxes == 0 and stats.dead_letters == 0
    assert stats.chunks_in == len(order)
    assert stats.bytes_in == sum(len(d.encode()) for d in docs.values())
    assert stats.events_out == len(collector.events)


async def test_bytes_chunks_split_inside_characters() -> None:
    doc = json.dumps({"k": "\u00e9t\u00e9 \U0001f680 \u6771\u4eac"}, ensure_ascii=False).encode()
    async with open_supervisor(fan_in=False) as sup:
        for i in range(len(doc)):
            await sup.send(1, bytearray(doc[i : i + 1]))
        await sup.send(2, doc[:5])
        await sup.send(2, doc[5:].decode())
        await sup.end(1)
        await sup.end(2)
        assert (await sup.result(1)).value == json.loads(doc)
        assert (await sup.result(2)).value == json.loads(doc)


async def test_chunk_type_is_checked() -> None:
    async with open_supervisor(fan_in=False) as sup:
        with pytest.raises(TypeError):
            await sup.send("a", 42)  # type: ignore[arg-type]
        assert not sup.is_open("a")


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


async def test_send_many_routes_in_order_and_checkpoints_once() -> None:
    items = [("a", "["), ("b", '{"k":'), ("a", "1,"), ("b", " true}"), ("a", "2]")]
    async with open_supervisor(fan_in=False) as sup:
        await sup.send_many(items)
        await sup.send_many([])
        for m in "ab":
            await sup.end(m)
        assert (await sup.result("a")).value == [1, 2]
        assert (await sup.result("b")).value == {"k": True}


async def test_end_of_an_empty_message_completes_with_no_value() -> None:
    async with open_supervisor(fan_in=False) as sup:
        await sup.end("empty")
        result = await sup.result("empty")
    assert result.value is None and not result.complete and result.confidence == "low"


async def test_truncated_input_completes_with_repairs_unless_partial_is_refused() -> None:
    async with open_supervisor(fan_in=False) as sup:
        await sup.send("t", '{"a": [1, "tw')
        await sup.end("t")
        result = await sup.result("t")
    assert result.value == {"a": [1, "tw"]} and not result.complete
    assert result.repairs and result.confidence == "medium"

    async with open_supervisor(fan_in=False, allow_partial=False) as sup:
        await sup.send("t", '{"a": [1, "tw')
        await sup.end("t")
        with pytest.raises(JsonStreamError) as info:
            await sup.result("t")
    assert info.value.truncated


async def test_result_before_start_during_and_after() -> None:
    got = {}
    async with open_supervisor(fan_in=False, keep_results=2) as sup:

        async def wait_for(m: str) -> None:
            got[m] = (await sup.result(m)).value

        async with anyio.create_task_group() as nursery:
            nursery.start_soon(wait_for, "early")  # before the message exists
            nursery.start_soon(wait_for, "early")  # two waiters for one message
            await wait_all_tasks_blocked()
            await sup.send("early", "[1]")
            await sup.end("early")
        assert got == {"early": [1]}
        assert (await sup.result("early")).value == [1]  # kept after completion
        for m in ("x", "y"):
            await sup.send(m, "0")
            await sup.end(m)
            await sup.result(m)
        with pytest.raises(ResultUnavailable):
            await sup.result("early")  # evicted by x and y (keep_results=2)
        with pytest.raises(ResultUnavailable):
            sup.subscribe("early")
        assert (await sup.result("y")).value == 0

        async def never() -> None:
            await sup.result("never-sent")

        nursery_error: list[BaseException] = []
        async with anyio.create_task_group() as nursery:

            async def guarded() -> None:
                try:
                    await never()
                except anyio.ClosedResourceError as exc:
                    nursery_error.append(exc)

            nursery.start_soon(guarded)
            await wait_all_tasks_blocked()
            sup._end_close()  # what leaving the block does once every task is gone
    assert nursery_error


async def test_result_of_a_failed_message_raises_its_error() -> None:
    async with open_supervisor(fan_in=False) as sup:
        await sup.send("bad", '{"a": 01}')
        await sup.end("bad")
        with pytest.raises(JsonStreamError) as info:
            await sup.result("bad")
    assert info.value.offset == 7  # the "1" after the leading zero


async def test_subscribe_before_during_and_after() -> None:
    async with open_supervisor(fan_in=False) as sup:
        seen: dict[str, list[object]] = {"early": [], "late": []}

        async def follow(name: str) -> None:
            async with sup.subscribe("m") as stream:
                async for event in stream:
                    seen[name].append(event)

        async with anyio.create_task_group() as nursery:
            nursery.start_soon(follow, "early")
            await wait_all_tasks_blocked()
            await sup.send("m", '{"a": "x')
            await wait_all_tasks_blocked()
            nursery.start_soon(follow, "late")
            await wait_all_tasks_blocked()
            await sup.send("m", 'yz", "b": 2}')
            await sup.end("m")
        early, late = seen["early"], seen["late"]
        assert isinstance(early[-1], Completed) and early[-1] == late[-1]
        assert len(late) < len(early) and early[-len(late) :] == late
        assert all(isinstance(e, MessageEvent) for e in early[:-1])
        # After the message finished: just its terminal event.
        async with sup.subscribe("m") as stream:
            assert [e async for e in stream] == [early[-1]]


async def test_leaving_a_subscription_early_does_not_block_the_message() -> None:
    async with open_supervisor(fan_in=False, events_buffer=1) as sup:
        async with sup.subscribe("m") as stream:
            await sup.send("m", '{"a": 1, "b": [1, 2, 3], "c": {"d": 4}}')
            first = await stream.receive()
            assert isinstance(first, MessageEvent)
        await sup.end("m")
        assert (await sup.result("m")).value["c"] == {"d": 4}


async def test_events_requires_fan_in() -> None:
    async with open_supervisor(fan_in=False) as sup:
        with pytest.raises(RuntimeError):
            sup.events()


async def test_snapshot_shows_the_live_partial_value() -> None:
    async with open_supervisor(fan_in=False) as sup:
        await sup.send("m", '{"title": "Hel')
        await wait_all_tasks_blocked()
        assert sup.snapshot("m") == {"title": "Hel"}
        with pytest.raises(KeyError):
            sup.snapshot("other")


async def test_dead_letters_after_end_and_after_finish() -> None:
    letters = []
    async with open_supervisor(fan_in=False, on_dead_letter=letters.append) as sup:
        sup.send_nowait("m", "[1")
        sup.end_nowait("m")
        sup.send_nowait("m", ", 2")  # after end: not fed
        assert (await sup.result("m")).value == [1]
        await sup.send("m", "]")  # after finish: never a new mailbox
        await sup.end("m")  # ending a finished message does nothing
        assert not sup.is_open("m")
        sup.send_nowait("c", "[1")
        sup.send_nowait("c", ", 2")
        sup.cancel("c")  # before its task ran: both chunks were never read
        await wait_all_tasks_blocked()
        stats = sup.stats()
    assert [(d.msg_id, d.chunk, d.reason) for d in letters] == [
        ("m", ", 2", "ended"),
        ("m", "]", "finished"),
        ("c", "[1", "unread"),
        ("c", ", 2", "unread"),
    ]
    assert stats.dead_letters == 4 and stats.chunks_in == 3
    assert sup.dead_letters.by_reason() == {"ended": 1, "finished": 1, "unread": 2}


async def test_cancel_ends_a_message_with_cancelled() -> None:
    async with open_supervisor(fan_in=False) as sup:
        await sup.send("m", "[1, 2")
        assert sup.cancel("m")
        assert not sup.cancel("m") and not sup.cancel("unknown")
        with pytest.raises(MessageCancelledError) as info:
            await sup.result("m")
        assert info.value.reason == "cancelled"
        await sup.send("m", "]")
        # "[1, 2" was still queued (send does not always yield), "]" came after the end.
        assert sup.dead_letters.by_reason() == {"unread": 1, "finished": 1}
        assert sup.stats().messages_cancelled == 1


async def test_leaving_the_block_cancels_open_messages_and_ends_the_fan_in() -> None:
    before = tasks_living()
    collector = Collector()
    async with anyio.create_task_group() as outer:
        async with open_supervisor() as sup:
            outer.start_soon(collector.run, sup)
            for i in range(20):
                await sup.send(i, "[1, 2")
            await sup.send("done", "3")
            await sup.end("done")
            await collector.wait_finished(1)
        assert sup.closed
        with pytest.raises(anyio.ClosedResourceError):
            await sup.send("x", "1")
        with pytest.raises(anyio.ClosedResourceError):
            sup.end_nowait("x")
        with pytest.raises(MessageCancelledError) as info:
            await sup.result(3)
        assert info.value.reason == "shutdown"
    assert collector.ended and tasks_living() == before
    assert [e.reason for i in range(20) for e in collector.terminals[i]] == ["shutdown"] * 20
    assert sup.stats().messages_cancelled == 20 and sup.stats().open_mailboxes == 0


async def test_errors_from_the_body_come_out_unwrapped() -> None:
    with pytest.raises(KeyError):
        async with open_supervisor() as sup:
            await sup.send("m", "[")
            raise KeyError("boom")


async def test_options_are_validated() -> None:
    for bad in (
        {"mailbox_size": 0},
        {"overflow": "spill"},
        {"offload": "gpu"},
        {"idle_timeout": 0},
        {"ttl": -1},
        {"max_restarts": -1},
        {"slice_size": 0},
        {"events_buffer": 0},
        {"restart_window": float("nan")},
    ):
        with pytest.raises(ValueError):
            async with open_supervisor(**bad):  # type: ignore[arg-type]
                pass  # pragma: no cover


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
