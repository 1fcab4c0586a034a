"""Offload: slicing, worker threads and processes give identical results; cancellation
reaches offloaded work; crashes there restart like any other."""

from __future__ import annotations

import gc
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
import trio_parallel

from jsonvisor.parsers import Event, JsonStreamError, ParseResult, StreamingJsonParser
from jsonvisor.supervisor import (
    Cancelled,
    Completed,
    Failed,
    Restarted,
    open_supervisor,
)
from jsonvisor.supervisor.offload import gc_deferred, split
from test_supervisor_support import (  # noqa: F401 (anyio_backend: a fixture)
    Collector,
    CountingParser,
    CrashingParser,
    anyio_backend,
    backend,
    random_chunks,
    wait_all_tasks_blocked,
)

pytestmark = pytest.mark.anyio

MODES = ["inline", "thread", "process"]
SMALL = {"offload_threshold": 40_000, "slice_size": 8_192}


def big_doc(n: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    return json.dumps(
        {
            "items": [
                {"id": i, "text": "caf\u00e9 " * rng.randint(1, 9), "x": rng.random()}
                for i in range(n)
            ],
            "tail": "\U0001f680",
        },
        ensure_ascii=False,
    )


def corrupt(doc: str, at: int) -> tuple[str, int]:
    """``doc`` with a second comma between two items after ``at``; the error's offset."""
    i = doc.index(', {"id"', at) + 1
    return doc[:i] + "," + doc[i:], len(doc[:i].encode())


async def outcomes(mode: str, messages: dict[Any, list[Any]], **options: Any) -> dict[Any, Any]:
    """Run the messages through a supervisor; return each one's terminal event."""
    options = {**SMALL, **options}
    async with open_supervisor(offload=mode, **options) as sup:
        collector = Collector()
        async with anyio.create_task_group() as nursery:
            nursery.start_soon(collector.run, sup)
            for m, chunks in messages.items():
                for chunk in chunks:
                    await sup.send(m, chunk)
                await sup.end(m)
            await collector.wait_finished(len(messages))
            nursery.cancel_scope.cancel()
        stats = sup.stats()
    result = {m: collector.terminals[m][0] for m in messages}
    result["offloaded"] = stats.offloaded
    return result


async def test_offload_modes_give_identical_results() -> None:
    doc = big_doc(2_000)
    messages: dict[Any, list[Any]] = {
        "big": [doc],
        "big-bytes": [doc.encode()],
        "big-truncated": [doc[: len(doc) // 2]],
        "big-bad": [corrupt(doc, 50_000)[0]],
        "small": random_chunks(json.dumps({"a": [1, 2, {"b": "c"}]}), random.Random(1)),
    }
    results = {mode: await outcomes(mode, messages) for mode in MODES}
    inline = results["inline"]
    assert isinstance(inline["big"], Completed) and inline["big"].value == json.loads(doc)
    assert isinstance(inline["big-truncated"], Completed) and inline["big-truncated"].repairs
    assert isinstance(inline["big-bad"], Failed)
    assert inline["big-bad"].error.offset == corrupt(doc, 50_000)[1]
    assert inline["offloaded"] == 0
    for mode in ("thread", "process"):
        other = results[mode]
        assert other["offloaded"] == 4, mode
        for m in ("big", "big-bytes", "big-truncated", "small"):
            assert other[m] == inline[m], (mode, m)
        assert isinstance(other["big-bad"], Failed)
        assert other["big-bad"].error.offset == inline["big-bad"].error.offset
        assert str(other["big-bad"].error) == str(inline["big-bad"].error)


async def test_huge_chunks_are_fed_in_slices_with_the_loop_running() -> None:
    doc = big_doc(3_000)
    parsers: list[CountingParser] = []
    ticks = 0

    def factory(msg_id: Any) -> CountingParser:
        parsers.append(CountingParser())
        return parsers[-1]

    async with open_supervisor(factory, slice_size=16_384, fan_in=False) as sup:
        async with anyio.create_task_group() as nursery:

            async def ticker() -> None:
                nonlocal ticks
                while True:
                    ticks += 1
                    await anyio.sleep(0)

            nursery.start_soon(ticker)
            await sup.send("m", doc)
            await sup.end("m")
            assert (await sup.result("m")).value == json.loads(doc)
            nursery.cancel_scope.cancel()
    feeds = parsers[0].feeds
    assert len(feeds) == len(split(doc, 16_384)) and max(feeds) <= 16_384
    assert ticks >= len(feeds) - 1  # the loop ran between every two slices


class SlowParser:
    """Each feed sleeps ``delay`` seconds; records calls in ``log`` (a list or a path)."""

    def __init__(self, delay: float, log: Any) -> None:
        self.inner = StreamingJsonParser()
        self.delay = delay
        self.log = log

    def feed(self, chunk: str | bytes) -> list[Event]:
        if isinstance(self.log, list):
            self.log.append(len(chunk))
        time.sleep(self.delay)
        return self.inner.feed(chunk)

    def finish(self) -> ParseResult:
        return self.inner.finish()

    def snapshot(self) -> Any:
        return self.inner.snapshot()


async def test_cancel_reaches_a_worker_thread_at_the_next_slice() -> None:
    calls: list[int] = []
    doc = big_doc(2_000)
    async with open_supervisor(
        lambda m: SlowParser(0.02, calls), offload="thread", **SMALL, fan_in=False
    ) as sup:
        await sup.send("m", doc)
        while len(calls) < 3:
            await anyio.sleep(0.01)
        with pytest.raises(anyio.BusyResourceError):
            sup.snapshot("m")
        start = time.perf_counter()
        assert sup.cancel("m")
        with pytest.raises(Exception) as info:
            await sup.result("m")
        assert time.perf_counter() - start < 0.5
        assert type(info.value).__name__ == "MessageCancelledError"
        await anyio.sleep(0.2)  # the abandoned thread stops at its next slice boundary
        stopped_at = len(calls)
        await anyio.sleep(0.2)
        assert len(calls) == stopped_at < len(split(doc, SMALL["slice_size"]))


async def test_cancel_kills_a_worker_process() -> None:
    doc = big_doc(2_000)
    async with open_supervisor(
        lambda m: SlowParser(30.0, None), offload="process", **SMALL, fan_in=False
    ) as sup:
        await sup.send("m", doc)
        await anyio.sleep(0.5)
        assert sup.stats().offloaded == 1
        start = time.perf_counter()
        sup.cancel("m")
        with pytest.raises(Exception) as info:
            await sup.result("m")
        assert type(info.value).__name__ == "MessageCancelledError"
        assert time.perf_counter() - start < 5  # not 30 s: the worker was killed


class DiesInWorker:
    """Kills its worker process the first time it runs in one (marker file)."""

    def __init__(self, marker: str) -> None:
        self.inner = StreamingJsonParser()
        self.marker = marker
        self.home = os.getpid()

    def feed(self, chunk: str | bytes) -> list[Event]:
        if os.getpid() != self.home and not os.path.exists(self.marker):
            Path(self.marker).write_text("died")
            os._exit(1)
        return self.inner.feed(chunk)

    def finish(self) -> ParseResult:
        return self.inner.finish()

    def snapshot(self) -> Any:
        return self.inner.snapshot()


async def test_a_dead_worker_process_is_a_crash_and_restarts(tmp_path: Path) -> None:
    marker = str(tmp_path / "marker")
    doc = big_doc(2_000)
    async with open_supervisor(lambda m: DiesInWorker(marker), offload="process", **SMALL) as sup:
        collector = Collector()
        async with anyio.create_task_group() as nursery:
            nursery.start_soon(collector.run, sup)
            await sup.send("m", doc)
            await sup.end("m")
            assert (await sup.result("m")).value == json.loads(doc)
            await collector.wait_finished(1)
            nursery.cancel_scope.cancel()
    [restart] = [e for e in collector.by_msg["m"] if isinstance(e, Restarted)]
    # trio-parallel's workers on trio, anyio.to_process's on asyncio
    broken = trio_parallel.BrokenWorkerError if backend() == "trio" else anyio.BrokenWorkerProcess
    assert isinstance(restart.error, broken)
    assert os.path.exists(marker)


async def test_a_crash_in_a_worker_thread_restarts_and_replays() -> None:
    plans: dict[Any, dict[Any, Any]] = {"m": {4: True}}
    doc = big_doc(2_000)
    async with open_supervisor(
        lambda m: CrashingParser(plans.setdefault(m, {})), offload="thread", **SMALL
    ) as sup:
        collector = Collector()
        async with anyio.create_task_group() as nursery:
            nursery.start_soon(collector.run, sup)
            await sup.send("m", '{"items": [')
            await wait_all_tasks_blocked()
            await sup.send("m", doc[len('{"items": [') :])
            await sup.end("m")
            assert (await sup.result("m")).value == json.loads(doc)
            await collector.wait_finished(1)
            nursery.cancel_scope.cancel()
    assert sum(isinstance(e, Restarted) for e in collector.by_msg["m"]) == 1
    assert sup.stats().restarts == 1


class Unpicklable(CountingParser):
    def __init__(self) -> None:
        super().__init__()
        self.hook = lambda: None  # lambdas do not pickle


async def test_process_mode_falls_back_inline_for_unpicklable_parsers() -> None:
    doc = big_doc(2_000)
    made: list[Unpicklable] = []

    def factory(msg_id: Any) -> Unpicklable:
        made.append(Unpicklable())
        return made[-1]

    async with open_supervisor(factory, offload="process", **SMALL, fan_in=False) as sup:
        for m in ("a", "b"):
            await sup.send(m, doc)
            await sup.end(m)
            assert (await sup.result(m)).value == json.loads(doc)
    assert all(max(p.feeds) <= SMALL["slice_size"] for p in made)  # fed inline, sliced


async def test_malformed_offloaded_input_is_not_retried() -> None:
    for mode in ("thread", "process"):
        async with open_supervisor(offload=mode, **SMALL, fan_in=False) as sup:
            bad, offset = corrupt(big_doc(2_000), 45_000)
            await sup.send("m", bad)
            await sup.end("m")
            with pytest.raises(JsonStreamError) as info:
                await sup.result("m")
            assert info.value.offset == offset
            assert sup.stats().restarts == 0 and sup.stats().errors == 1


def test_gc_deferral_nests_and_restores() -> None:
    assert gc.isenabled()
    with gc_deferred():
        assert not gc.isenabled()
        with gc_deferred():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with gc_deferred(enabled=False):
        assert gc.isenabled()
    gc.disable()
    try:
        with gc_deferred():
            pass
        assert not gc.isenabled()  # the application's choice is kept
    finally:
        gc.enable()


async def test_large_feeds_defer_gc_only_while_they_run() -> None:
    states: list[bool] = []

    class Probe(CountingParser):
        def feed(self, chunk: str | bytes) -> list[Event]:
            states.append(gc.isenabled())
            return super().feed(chunk)

    async with open_supervisor(lambda m: Probe(), slice_size=8_192, fan_in=False) as sup:
        await sup.send("big", big_doc(1_000))
        await wait_all_tasks_blocked()
        assert gc.isenabled()  # restored once the big input is fed
        await sup.send("small", "[1]")
        await wait_all_tasks_blocked()
    assert states[-1] is True and not any(states[:-1])
    async with open_supervisor(
        lambda m: Probe(), slice_size=8_192, defer_gc=False, fan_in=False
    ) as sup:
        states.clear()
        await sup.send("big", big_doc(1_000))
        await wait_all_tasks_blocked()
    assert all(states)


async def test_cancelled_message_in_each_mode_leaves_no_tasks() -> None:
    from test_supervisor_support import tasks_living

    before = tasks_living()
    for mode in MODES:
        async with open_supervisor(offload=mode, **SMALL) as sup:
            await sup.send("m", big_doc(3_000))
            await anyio.sleep(0.01)
        assert tasks_living() == before, mode
        assert isinstance(sup._hub.outcome("m").terminal, (Cancelled, Completed))  # type: ignore[union-attr]


async def test_process_offload_on_trio_without_trio_parallel_fails_at_open(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "trio_parallel", None)  # as if not installed
    if backend() == "trio":  # trio's process workers are trio-parallel's: say so at once
        with pytest.raises(RuntimeError, match="needs trio-parallel"):
            async with open_supervisor(offload="process"):
                pass  # pragma: no cover
        return
    # asyncio's are anyio.to_process's: nothing more is needed
    doc = big_doc(2_000)
    async with open_supervisor(offload="process", **SMALL, fan_in=False) as sup:
        await sup.send("m", doc)
        await sup.end("m")
        assert (await sup.result("m")).value == json.loads(doc)
        assert sup.stats().offloaded == 1
