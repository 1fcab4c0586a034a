"""Idle expiry and total ttl, on a virtual clock (trio's MockClock; an autojumping asyncio
loop)."""

from __future__ import annotations

import anyio
import pytest

from jsonvisor.supervisor import Expired, MessageExpiredError, open_supervisor
from test_supervisor_support import (  # noqa: F401 (anyio_backend: a fixture)
    Collector,
    anyio_backend,
    autojump,
    wait_all_tasks_blocked,
)

pytestmark = pytest.mark.anyio


@pytest.mark.usefixtures("autojump")
async def test_idle_message_expires() -> None:
    async with open_supervisor(idle_timeout=10) as sup:
        collector = Collector()
        async with anyio.create_task_group() as nursery:
            nursery.start_soon(collector.run, sup)
            start = anyio.current_time()
            await sup.send("m", '{"a": ')
            await anyio.sleep(9)
            assert sup.is_open("m")
            await sup.send("m", "1")  # a chunk restarts the idle timer
            await anyio.sleep(9.5)
            assert sup.is_open("m")
            with pytest.raises(MessageExpiredError) as info:
                await sup.result("m")
            assert info.value.reason == "idle"
            assert anyio.current_time() - start == pytest.approx(19.0)  # 10 s after the last chunk
            await sup.send("m", "}")  # too late: a dead letter, not a new message
            await collector.wait_finished(1)
            nursery.cancel_scope.cancel()
    assert collector.terminals["m"] == [Expired("m", "idle")]
    assert sup.stats().messages_expired == 1
    assert sup.dead_letters.by_reason() == {"finished": 1}


@pytest.mark.usefixtures("autojump")
async def test_busy_message_does_not_expire_while_chunks_keep_coming() -> None:
    async with open_supervisor(idle_timeout=1.0, fan_in=False) as sup:
        await sup.send("m", "[")
        for _ in range(100):
            await anyio.sleep(0.9)
            await sup.send("m", "1, ")
        await sup.send("m", "1]")
        await sup.end("m")
        assert len((await sup.result("m")).value) == 101


@pytest.mark.usefixtures("autojump")
async def test_ttl_bounds_a_message_that_never_goes_idle() -> None:
    async with open_supervisor(idle_timeout=1.0, ttl=5.0, fan_in=False) as sup:
        start = anyio.current_time()
        await sup.send("m", "[")
        while sup.is_open("m"):
            await anyio.sleep(0.5)
            await sup.send("m", "1, ")
        with pytest.raises(MessageExpiredError) as info:
            await sup.result("m")
        assert info.value.reason == "ttl"
        assert 5.0 <= anyio.current_time() - start <= 5.5
        assert sup.stats().messages_expired == 1


@pytest.mark.usefixtures("autojump")
async def test_ttl_interrupts_a_parser_waiting_for_room() -> None:
    # Nobody reads the fan-in (kept: fan_in=True): the parser task is blocked on it, and
    # ttl still applies.
    with pytest.warns(RuntimeWarning, match="never called"):
        async with open_supervisor(ttl=3.0, events_buffer=1, fan_in=True) as sup:
            await sup.send("m", "[1, 2, 3, 4, 5, 6")
            await wait_all_tasks_blocked()
            await sup.send("m", ", 7")  # this step's events wait for room
            await anyio.sleep(2)
            assert sup.is_open("m")
            assert sup._open["m"].blocked_on is sup._hub.fan_in  # type: ignore[attr-defined]
            await anyio.sleep(2)
            assert not sup.is_open("m")
            with pytest.raises(MessageExpiredError):
                await sup.result("m")


@pytest.mark.usefixtures("autojump")
async def test_expiry_is_per_message() -> None:
    async with open_supervisor(idle_timeout=2.0, fan_in=False) as sup:
        await sup.send("quiet", "[")
        await sup.send("chatty", "[")
        for _ in range(5):
            await anyio.sleep(1)
            await sup.send("chatty", "0, ")
        assert not sup.is_open("quiet") and sup.is_open("chatty")
        await sup.send("chatty", "0]")
        await sup.end("chatty")
        assert (await sup.result("chatty")).value == [0] * 6


@pytest.mark.usefixtures("autojump")
async def test_idle_timers_stay_bounded_over_many_waits() -> None:
    async with open_supervisor(idle_timeout=100.0, ttl=1000.0, fan_in=False) as sup:
        await sup.send("m", "[")
        for _ in range(2_000):  # every chunk is one more idle wait, so one more timer
            await sup.send("m", "1, ")
            await wait_all_tasks_blocked()
        assert len(sup._timers) <= 2 * 1 + 64 + 1  # stale timers are dropped as they pile up
        await sup.send("m", "1]")
        await sup.end("m")
        assert len((await sup.result("m")).value) == 2_001
