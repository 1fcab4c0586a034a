"""Flow control and event coalescing across the wire."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
import trio

from helpers import collect_terminals, make_docs, send_interleaved
from jsonvisor import ValueBuilder
from jsonvisor.cluster import open_cluster, shard
from jsonvisor.cluster.worker import WORKER_ROUND_BUDGET
from jsonvisor.parsers import StringGrew
from jsonvisor.supervisor import Completed, MessageEvent
from pace_probe import slow_parser


async def test_backpressure_is_the_window_and_one_batch_is_in_flight():
    window = 40
    async with open_cluster(workers=1, window=window, heartbeat_timeout=60) as cluster:
        pid = cluster.stats().per_worker[0].pid
        os.kill(pid, signal.SIGSTOP)  # the worker applies nothing from now on
        try:
            await cluster.send("m", "[")
            accepted = 1
            with trio.fail_after(5):
                while True:
                    await trio.sleep(0)  # let the link send what it may
                    try:
                        cluster.send_nowait("m", "1,")
                    except trio.WouldBlock:
                        break
                    accepted += 1
            assert accepted == window  # sent-but-unapplied plus pending: the bound
            with pytest.raises(trio.TooSlowError):
                with trio.fail_after(0.3):
                    await cluster.send("m", "1,")  # waits for room: not sent
            await trio.sleep(0.2)
            assert cluster.stats().ipc_batches_out == 1  # the rest waits for the ack
        finally:
            os.kill(pid, signal.SIGCONT)
        with trio.fail_after(10):
            await cluster.send("m", "1]")
            await cluster.end("m")
            assert (await cluster.result("m")).value == [1] * window
        stats = cluster.stats()
        assert stats.chunks_in == window + 1 and stats.workers_lost == 0
        # Everything that waited went out together once the first batch was applied.
        assert stats.ipc_batches_out <= 4


async def test_fan_in_events_rebuild_every_document():
    # Long strings sent slowly in token-sized chunks: many StringGrew events, some of
    # them merged in workers.
    docs = {f"s{i}": json.dumps({"text": "lorem ipsum " * (30 + i), "n": i}) for i in range(20)}
    async with open_cluster(workers=2) as cluster:
        terminals: dict = {}
        others: list = []
        async with trio.open_nursery() as nursery:
            nursery.start_soon(collect_terminals, cluster, len(docs), terminals, others)
            await send_interleaved(cluster, docs, pause=0.002)
    builders = {mid: ValueBuilder() for mid in docs}
    for event in others:
        assert isinstance(event, MessageEvent)
        builders[event.msg_id].apply([event.event])
    for mid, text in docs.items():
        assert isinstance(terminals[mid], Completed)
        assert builders[mid].value == json.loads(text) == terminals[mid].value
    grew = [e for e in others if isinstance(e.event, StringGrew)]
    assert grew and all(e.event.text for e in grew)


async def test_many_messages_with_small_event_batches():
    # More events than max_batch per step, and a window smaller than one round of sends.
    docs = make_docs(50, size=500, seed=11)
    async with open_cluster(workers=2, max_batch=8, window=64, events_buffer=16) as cluster:
        terminals: dict = {}
        async with trio.open_nursery() as nursery:
            nursery.start_soon(collect_terminals, cluster, len(docs), terminals)
            await send_interleaved(cluster, docs)
        assert {mid: t.value for mid, t in terminals.items()} == {
            mid: json.loads(text) for mid, text in docs.items()
        }
        stats = cluster.stats()
        assert stats.messages_completed == len(docs) and stats.open_mailboxes == 0


async def test_a_slow_subscriber_holds_back_its_workers_messages_only():
    # A supervisor's slow subscriber slows its message only (test_supervisor_backpressure);
    # a cluster's root delivers each worker's events in order, one batch at a time, so a
    # subscriber that does not read holds back every message of that worker, and none of
    # another worker's (see docs/cluster.md).
    ids = [f"m{i}" for i in range(40)]
    slow = ids[0]
    same = next(m for m in ids[1:] if shard(m, 2) == shard(slow, 2))
    other = next(m for m in ids[1:] if shard(m, 2) != shard(slow, 2))
    async with open_cluster(workers=2, events_buffer=2, fan_in=False) as cluster:
        async with cluster.subscribe(slow) as stuck:
            await cluster.send(slow, "[1, 2, 3, 4, 5, 6")  # more events than the bound
            await trio.sleep(0.3)
            with trio.fail_after(10):
                await cluster.send(other, "[1, 2, 3]")
                await cluster.end(other)
                assert (await cluster.result(other)).value == [1, 2, 3]
            await cluster.send(same, "[1]")
            await cluster.end(same)
            with pytest.raises(trio.TooSlowError), trio.fail_after(0.5):
                await cluster.result(same)  # behind the unread subscription
            assert isinstance(await stuck.receive(), MessageEvent)
            assert cluster.cancel(slow)  # it ends here at once: its worker's events flow
            with trio.fail_after(10):
                assert (await cluster.result(same)).value == [1]


async def test_worker_message_tasks_do_not_take_turns(monkeypatch):
    # A worker's loop only parses, so its supervisor is not paced (worker.parse_session:
    # WORKER_ROUND_BUDGET): busy message tasks never wait for a turn, and each takes all
    # of its queued input in one step.  Paced like an application's loop (2 ms a round),
    # these 3 ms feeds of 16 messages at once would make the others wait every time.
    here = str(Path(__file__).parent)
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")]))
    )
    ids = [f"m{i}" for i in range(16)]
    async with open_cluster(workers=1, parser=slow_parser, fan_in=False) as cluster:
        with trio.fail_after(60):
            for m in ids:
                await cluster.send(m, "[1, ")
            for _ in range(5):
                await trio.sleep(0.02)  # the worker is busy: input queues up meanwhile
                for m in ids:
                    await cluster.send(m, "2, ")
            for m in ids:
                await cluster.send(m, "3]")
                await cluster.end(m)
            reports = [(await cluster.result(m)).value for m in ids]
    assert all(r["value"] == [1, 2, 2, 2, 2, 2, 3] for r in reports)
    assert sum(r["feeds"] for r in reports) > len(ids)  # several steps each: it was busy
    # No task ever waited for a turn (paced, each of them would have, dozens of times).
    assert max(r["waits"] for r in reports) == 0
    assert {r["limit"] for r in reports} == {WORKER_ROUND_BUDGET}
