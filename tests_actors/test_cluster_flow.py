"""Flow control and event coalescing across the wire."""

from __future__ import annotations

import json
import os
import signal

import pytest
import trio

from helpers import collect_terminals, make_docs, send_interleaved
from jsonvisor import ValueBuilder
from jsonvisor.cluster import open_cluster
from jsonvisor.parsers import StringGrew
from jsonvisor.supervisor import Completed, MessageEvent


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
