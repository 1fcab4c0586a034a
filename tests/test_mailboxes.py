"""Mailboxes, routing and dead letters on their own (no supervisor, no parser).

The async tests run on trio and on asyncio (see ``test_supervisor_support``).
"""

from __future__ import annotations

import anyio
import pytest
import trio
import trio.testing

from jsonvisor.mailboxes import DeadLetter, DeadLetterBox, Mailbox, MailboxFull, Router
from jsonvisor.mailboxes.lowlevel import (
    ASYNCIO_HUB,
    TRIO_HUB,
    BusyResourceError,
    ClosedResourceError,
    EndOfStream,
    WouldBlock,
    current_hub,
)
from test_supervisor_support import (  # noqa: F401 (a fixture)
    anyio_backend,
    backend,
    suspends,
    wait_all_tasks_blocked,
)

pytestmark = pytest.mark.anyio


async def test_put_respects_the_bound_and_take_all_drains_in_order() -> None:
    box = Mailbox("m", capacity=3)
    assert [box.put_nowait(c) for c in "abcd"] == [True, True, True, False]
    assert box.full and len(box) == 3
    assert box.take_all() == ["a", "b", "c"]
    assert not box.full and box.take_all() == []
    assert box.put_nowait("d")


async def test_ended_mailbox_refuses_chunks() -> None:
    box = Mailbox("m", capacity=3)
    box.put_nowait("a")
    box.end()
    assert box.ended and not box.put_nowait("b")
    assert box.take_all() == ["a"]


async def test_wait_input_returns_at_once_when_there_is_work() -> None:
    box = Mailbox("m", capacity=2)
    box.put_nowait("a")
    assert not suspends(box.wait_input())
    box.take_all()
    box.end()
    assert not suspends(box.wait_input())
    if backend() == "trio":  # not even a cancellation point
        with trio.testing.assert_no_checkpoints():
            await box.wait_input()


async def test_wait_input_sleeps_until_a_chunk_or_end() -> None:
    box = Mailbox("m", capacity=2)
    woke: list[str] = []

    async def consumer() -> None:
        await box.wait_input()
        woke.append("chunk" if box.chunks else "end")

    async with anyio.create_task_group() as nursery:
        nursery.start_soon(consumer)
        await wait_all_tasks_blocked()
        assert woke == []
        box.put_nowait("x")
        box.put_nowait("y")  # a second put while the consumer is already woken
    assert woke == ["chunk"]

    box2 = Mailbox("n", capacity=2)
    async with anyio.create_task_group() as nursery:
        nursery.start_soon(consumer_of, box2, woke)
        await wait_all_tasks_blocked()
        box2.end()
    assert woke[-1] == "end"


async def consumer_of(box: Mailbox, woke: list[str]) -> None:
    await box.wait_input()
    woke.append("chunk" if box.chunks else "end")


async def test_wait_input_is_cancellable_and_single_consumer() -> None:
    box = Mailbox("m", capacity=2)
    async with anyio.create_task_group() as nursery:
        nursery.start_soon(box.wait_input)
        await wait_all_tasks_blocked()
        with pytest.raises(anyio.BusyResourceError):
            await box.wait_input()
        nursery.cancel_scope.cancel()
    # The cancelled waiter is forgotten: a put does not try to wake it.
    assert box.put_nowait("a")
    await box.wait_input()


async def test_blocked_senders_wake_on_take_all_and_close() -> None:
    box = Mailbox("m", capacity=1)
    box.put_nowait("a")
    resumed: list[bool] = []

    async def sender() -> None:
        await box.wait_room()
        resumed.append(box.closed)

    async with anyio.create_task_group() as nursery:
        nursery.start_soon(sender)
        nursery.start_soon(sender)
        await wait_all_tasks_blocked()
        assert box.senders_waiting == 2
        box.take_all()
        await wait_all_tasks_blocked()
        assert resumed == [False, False]
        nursery.start_soon(sender)
        await wait_all_tasks_blocked()
        assert box.close() == []
    assert resumed == [False, False, True]


async def test_close_returns_leftovers_and_wakes_the_consumer() -> None:
    box = Mailbox("m", capacity=4)
    async with anyio.create_task_group() as nursery:
        nursery.start_soon(box.wait_input)
        await wait_all_tasks_blocked()
        box.close()
    box2 = Mailbox("n", capacity=4)
    box2.put_nowait("a")
    box2.put_nowait(b"b")
    assert box2.close() == ["a", b"b"]
    assert box2.closed and box2.ended and not box2.put_nowait("c")


def test_mailbox_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Mailbox("m", 0)
    with pytest.raises(ValueError):
        Router(0)


def test_mailbox_full_error_says_which_and_how_many() -> None:
    err = MailboxFull("job-7", 64)
    assert err.msg_id == "job-7" and err.capacity == 64
    assert "job-7" in str(err) and "64" in str(err)


def test_router_opens_retires_and_remembers_a_bounded_number() -> None:
    router = Router(capacity=8, remember=3)
    a = router.open("a")
    assert router.get("a") is a and len(router) == 1
    with pytest.raises(KeyError):
        router.open("a")
    a.put_nowait("x")
    assert router.retire("a") == ["x"]
    assert a.closed and router.get("a") is None and len(router) == 0
    assert router.is_finished("a")
    with pytest.raises(KeyError):
        router.open("a")
    for name in "bcd":
        router.open(name)
        router.retire(name)
    assert router.remembered == 3
    assert not router.is_finished("a")  # the oldest is forgotten
    assert [router.is_finished(n) for n in "bcd"] == [True, True, True]
    router.open("a")  # a forgotten ID may start again
    assert router.forget("b") and not router.forget("b")
    assert router.retire("never-open") == []


def test_router_with_no_memory() -> None:
    router = Router(capacity=1, remember=0)
    router.open("a")
    router.retire("a")
    assert not router.is_finished("a") and router.remembered == 0


def test_dead_letter_box_counts_keeps_recent_and_calls_back() -> None:
    seen: list[DeadLetter] = []
    box = DeadLetterBox(keep=2, on_dead_letter=seen.append)
    box.add("a", "x", "finished")
    box.add_many("b", ["1", "2"], "unread")
    assert box.total == len(box) == 3
    assert box.by_reason() == {"finished": 1, "unread": 2}
    assert box.recent() == [DeadLetter("b", "1", "unread"), DeadLetter("b", "2", "unread")]
    assert [d.msg_id for d in seen] == ["a", "b", "b"]
    assert "total=3" in repr(box)


def test_max_queued_bounds_the_total_length_but_any_one_chunk_fits() -> None:
    box = Mailbox("m", capacity=100, max_queued=10)
    assert box.put_nowait("x" * 25)  # an empty mailbox takes any one chunk
    assert box.full and not box.fits(1) and not box.put_nowait("y")
    box.take_all()
    assert box.queued == 0 and box.put_nowait("abcd") and box.put_nowait(b"efgh")
    assert box.queued == 8 and box.fits(2) and not box.fits(3)
    assert not box.put_nowait("ijk") and box.put_nowait("ij")
    assert box.full
    with pytest.raises(ValueError):
        Mailbox("m", 1, max_queued=0)
    assert "10 characters/bytes" in str(MailboxFull("m", 100, 10))


async def test_the_hub_is_the_running_backends() -> None:
    assert current_hub() is (TRIO_HUB if backend() == "trio" else ASYNCIO_HUB)
    box = Mailbox("m", capacity=1)
    async with anyio.create_task_group() as tg:
        tg.start_soon(box.wait_input)
        await wait_all_tasks_blocked()
        assert box._hub is current_hub()  # found when the consumer first waited
        box.end()


def test_there_is_no_hub_outside_an_event_loop() -> None:
    with pytest.raises(RuntimeError, match="trio or asyncio"):
        current_hub()


def test_errors_are_both_trios_and_anyios() -> None:
    for ours, theirs in (
        (ClosedResourceError, (trio.ClosedResourceError, anyio.ClosedResourceError)),
        (WouldBlock, (trio.WouldBlock, anyio.WouldBlock)),
        (BusyResourceError, (trio.BusyResourceError, anyio.BusyResourceError)),
        (EndOfStream, (trio.EndOfChannel, anyio.EndOfStream)),
    ):
        for cls in theirs:
            with pytest.raises(cls):
                raise ours("x")


async def test_an_interrupted_consumer_gets_the_error() -> None:
    box = Mailbox("m", capacity=2)
    caught: list[BaseException] = []

    async def consumer() -> None:
        try:
            await box.wait_input()
        except KeyError as exc:
            caught.append(exc)

    async with anyio.create_task_group() as tg:
        tg.start_soon(consumer)
        await wait_all_tasks_blocked()
        assert box.interrupt(KeyError("stop"))
        assert not box.interrupt(KeyError("again"))  # nobody waits any more
    assert [str(e) for e in caught] == ["'stop'"]
