"""Idle expiry and total ttl, on a virtual clock (trio's MockClock; an autojumping asyncio
loop)."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from jsonvisor.supervisor import MessageExpiredError, open_supervisor
from test_supervisor_support import (  # noqa: F401 (anyio_backend: a fixture)
    Collector,
    anyio_backend,
    autojump,
    wait_all_tasks_blocked,
)

pytestmark = pytest.mark.anyio


@pytest.mark.usefixtures("autojump")
async def test_idle_expiry_is_timed_from_the_last_chunk() -> None:
    # (Idle expiry and ttl as every front end has them: tests/test_frontends.py; here,
    # the exact timing, on a virtual clock.)
    async with open_supervisor(idle_timeout=10, ttl=100, fan_in=False) as sup:
        start = anyio.current_time()
        await sup.send("m", '{"a": ')
        await anyio.sleep(9)
        await sup.send("m", "1")  # a chunk restarts the idle timer
        with pytest.raises(MessageExpiredError) as info:
            await sup.result("m")
        assert info.value.reason == "idle"
        assert anyio.current_time() - start == pytest.approx(19.0)  # 10 s after the last chunk
        # ttl counts from the first chunk, whatever comes after it.
        start = anyio.current_time()
        await sup.send_many([("ttl", "[")])
        async with anyio.create_task_group() as tg:
            tg.start_soon(_keep_busy, sup, "ttl")
            with pytest.raises(MessageExpiredError, match="ttl"):
                await sup.result("ttl")
            assert anyio.current_time() - start == pytest.approx(100.0)
            tg.cancel_scope.cancel()


async def _keep_busy(sup: Any, msg_id: str) -> None:
    while True:
        await anyio.sleep(5)
        sup.send_nowait(msg_id, "1, ")


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
