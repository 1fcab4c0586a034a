"""Backpressure: bounded mailboxes and fan-in, overflow policies, control bypassing data."""

from __future__ import annotations

import anyio
import pytest
import trio
import trio.testing

from jsonvisor.supervisor import (
    Cancelled,
    Failed,
    MailboxFull,
    MessageEvent,
    open_supervisor,
)
from test_supervisor_support import (  # noqa: F401 (anyio_backend: a fixture)
    Collector,
    anyio_backend,
    autojump,
    backend,
    tasks_living,
    wait_all_tasks_blocked,
)

pytestmark = pytest.mark.anyio

ARRAY_ITEM = "1, "  # every item of an array completes a value: one event per chunk


@pytest.mark.usefixtures("autojump")
async def test_a_blocked_consumer_stops_producers_at_each_mailboxs_bound() -> None:
    mailbox_size, events_buffer = 4, 8
    sent = 0
    async with open_supervisor(
        mailbox_size=mailbox_size, events_buffer=events_buffer, fan_in=True
    ) as sup:

        async def producer() -> None:
            nonlocal sent
            await sup.send("m", "[")
            for _ in range(1000):
                await sup.send("m", ARRAY_ITEM)
                sent += 1

        async with anyio.create_task_group() as nursery:
            nursery.start_soon(producer)
            with pytest.warns(RuntimeWarning, match="events.. was never called"):
                await anyio.sleep(2)  # a parser has waited on the unread fan-in for 1 s
            # Nobody reads events(): the parser waits for room in the fan-in, its mailbox
            # fills up, and the producer waits in send().
            stats = sup.stats()
            assert stats.queued_chunks == mailbox_size
            fan_in = sup._hub.fan_in
            assert fan_in is not None
            # The fan-in holds at most its bound plus one parse step's events.
            assert events_buffer <= len(fan_in) <= events_buffer + mailbox_size + 1
            blocked_at = sent
            assert blocked_at < 1000
            await wait_all_tasks_blocked()
            assert sent == blocked_at  # still stuck: no unbounded growth anywhere
            # (A reader then lets it all flow: tests/test_frontends.py, every front end.)
            nursery.cancel_scope.cancel()


async def test_a_slow_subscriber_slows_only_its_message() -> None:
    async with open_supervisor(mailbox_size=2, events_buffer=2, fan_in=False) as sup:
        stuck = sup.subscribe("slow")
        async with stuck:
            await sup.send("slow", "[")
            for _ in range(3):
                await sup.send("slow", ARRAY_ITEM)
            with pytest.raises(anyio.WouldBlock):
                for _ in range(100):
                    sup.send_nowait("slow", ARRAY_ITEM)
                    await wait_all_tasks_blocked()
            # Another message is not affected.
            await sup.send("fast", "[1, 2, 3]")
            await sup.end("fast")
            assert (await sup.result("fast")).value == [1, 2, 3]
            first = await stuck.receive()
            assert isinstance(first, MessageEvent)


async def test_overflow_raise() -> None:
    async with open_supervisor(mailbox_size=3, overflow="raise", fan_in=False) as sup:
        for _ in range(3):
            sup.send_nowait("m", " ")  # the parser task has not run yet
        with pytest.raises(MailboxFull) as info:
            sup.send_nowait("m", "[")
        assert info.value.capacity == 3 and info.value.msg_id == "m"
        with pytest.raises(MailboxFull):
            await sup.send("m", "[")
        await wait_all_tasks_blocked()
        await sup.send("m", "[]")  # room again
        await sup.end("m")
        assert (await sup.result("m")).value == []


async def test_overflow_drop_fails_the_message_and_dead_letters_the_rest() -> None:
    async with open_supervisor(mailbox_size=2, overflow="drop") as sup:
        collector = Collector()
        async with anyio.create_task_group() as nursery:
            nursery.start_soon(collector.run, sup)
            sup.send_nowait("m", "[1, ")
            sup.send_nowait("m", "2, ")
            sup.send_nowait("m", "3, ")  # dropped: the message cannot be whole any more
            sup.send_nowait("m", "4]")  # after the drop
            with pytest.raises(MailboxFull):
                await sup.result("m")
            await collector.wait_finished(1)
            nursery.cancel_scope.cancel()
    [terminal] = collector.terminals["m"]
    assert isinstance(terminal, Failed) and isinstance(terminal.error, MailboxFull)
    assert sup.dead_letters.by_reason() == {"overflow": 1, "ended": 1, "unread": 2}


async def test_send_nowait_would_block_when_full() -> None:
    async with open_supervisor(mailbox_size=2, fan_in=False) as sup:
        sup.send_nowait("m", "[")
        sup.send_nowait("m", "1")
        with pytest.raises(anyio.WouldBlock):
            sup.send_nowait("m", ",2]")
        assert sup.stats().chunks_in == 2 and sup.stats().dead_letters == 0
        sup.end_nowait("m")
        assert (await sup.result("m")).value == [1]


async def test_end_never_waits_behind_a_full_mailbox() -> None:
    # (end() and cancel() with the input full, on every front end: tests/test_frontends.py;
    # here, that end() does not even yield, and the blocked sender.)
    async with open_supervisor(mailbox_size=2, events_buffer=1, fan_in=True) as sup:
        # Nobody reads events(): the parser is stuck and the mailbox full.
        await sup.send("m", "[")
        await wait_all_tasks_blocked()
        while True:
            try:
                sup.send_nowait("m", ARRAY_ITEM)
            except anyio.WouldBlock:
                break
            await wait_all_tasks_blocked()
        if backend() == "trio":
            with trio.testing.assert_checkpoints():
                await sup.end("m")  # returns at once, although the mailbox is full
        else:  # asyncio counts no checkpoints: that it returns at all is the check
            await sup.end("m")
        assert sup.stats().queued_chunks == 2
        await sup.send("n", "[")
        await wait_all_tasks_blocked()
        async with anyio.create_task_group() as nursery:

            async def blocked_producer() -> None:
                while sup.is_open("n"):
                    await sup.send("n", ARRAY_ITEM)

            nursery.start_soon(blocked_producer)
            await wait_all_tasks_blocked()
            assert sup._open["n"].mailbox.senders_waiting == 1
            assert sup.cancel("n")
            await wait_all_tasks_blocked()
        assert "n" not in sup._open
        assert sup.dead_letters.by_reason()["unread"] >= 2
        assert sup.dead_letters.by_reason()["finished"] >= 1


async def test_burst_of_queued_chunks_costs_one_parse_step() -> None:
    steps = []

    class Recorder:
        def __init__(self) -> None:
            from jsonvisor.parsers import StreamingJsonParser

            self.inner = StreamingJsonParser()

        def feed(self, chunk: str) -> list[object]:
            steps.append(chunk)
            return self.inner.feed(chunk)  # type: ignore[return-value]

        def finish(self) -> object:
            return self.inner.finish()

        def snapshot(self) -> object:
            return self.inner.snapshot()

    async with open_supervisor(lambda m: Recorder(), mailbox_size=64, fan_in=False) as sup:  # type: ignore[arg-type,return-value]
        await sup.send_many([("m", c) for c in ["[", *([ARRAY_ITEM] * 50), "0]"]])
        await sup.end("m")
        assert len((await sup.result("m")).value) == 51
    assert steps == ["[" + ARRAY_ITEM * 50 + "0]"]


async def test_consumers_and_producers_leave_no_tasks_after_cancellation() -> None:
    before = tasks_living()
    with anyio.move_on_after(5):
        async with open_supervisor(mailbox_size=1, events_buffer=1, fan_in=True) as sup:
            async with anyio.create_task_group() as nursery:
                for i in range(10):
                    nursery.start_soon(sup.send, i, "[1, 2")
                await wait_all_tasks_blocked()
                nursery.cancel_scope.cancel()
            collector = Collector()
            async with anyio.create_task_group() as nursery:
                nursery.start_soon(collector.run, sup)
                await wait_all_tasks_blocked()
                nursery.cancel_scope.cancel()
    assert tasks_living() == before
    assert sup.stats().messages_cancelled == 10
    assert all(isinstance(e, (MessageEvent, Cancelled)) for e in collector.events)


async def test_mailbox_bytes_bounds_big_chunks_too() -> None:
    sent = 0
    async with open_supervisor(
        mailbox_size=1000, mailbox_bytes=1000, events_buffer=1, fan_in=False
    ) as sup:
        async with sup.subscribe("m") as stream:  # never read: the parser gets stuck
            await sup.send("m", "[")

            async def producer() -> None:
                nonlocal sent
                for _ in range(100):
                    await sup.send("m", "1" * 299 + ",")
                    sent += 1

            async with anyio.create_task_group() as nursery:
                nursery.start_soon(producer)
                await wait_all_tasks_blocked()
                queued = sup._open["m"].mailbox.queued
                assert 0 < queued <= 1000 and sent < 100
                assert sup.stats().queued_chunks == queued // 300
                nursery.cancel_scope.cancel()
            del stream


async def test_cancel_reaches_a_parser_waiting_on_a_slow_subscriber() -> None:
    # (The contract on every front end: tests/test_frontends.py; here, that the parser
    # task was waiting there.)
    async with open_supervisor(events_buffer=1, fan_in=False) as sup:
        async with sup.subscribe("m") as stream:
            await sup.send("m", "[1, 2, 3, 4")  # one step's events overshoot the bound
            await wait_all_tasks_blocked()
            await sup.send("m", ", 5, 6")  # the next step waits for room
            await wait_all_tasks_blocked()
            msg = sup._open["m"]
            assert msg.blocked_on is stream.queue  # type: ignore[attr-defined]
            assert sup.cancel("m")
            await wait_all_tasks_blocked()
            assert not sup.is_open("m") and msg.blocked_on is None
