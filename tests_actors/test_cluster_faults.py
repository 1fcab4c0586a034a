"""Faults: a worker killed mid-stream, a worker that stops answering, teardown."""

from __future__ import annotations

import json
import os
import signal

import trio

from conftest import child_pids
from helpers import collect_terminals, make_docs, send_interleaved
from jsonvisor import ValueBuilder
from jsonvisor.cluster import WorkerLost, open_cluster
from jsonvisor.supervisor import Completed, Failed, Restarted


async def _kill_mid_stream(sig: int, **options):
    docs = make_docs(40, size=600, seed=5)
    async with open_cluster(workers=2, **options) as cluster:
        victim = cluster.stats().per_worker[0]
        terminals: dict = {}
        others: list = []
        killed_at: list[float] = []

        def maybe_kill(round_no: int) -> None:
            if round_no == 30:
                killed_at.append(trio.current_time())
                os.kill(victim.pid, sig)

        with trio.fail_after(60):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(collect_terminals, cluster, len(docs), terminals, others)
                await send_interleaved(cluster, docs, pause=0.005, on_round=maybe_kill)
            # Without replay the victim's messages fail at once, possibly before its
            # replacement is up (an actor takes a while to start on a loaded machine).
            while cluster.stats().replacements < 1:
                await trio.sleep(0.05)
        stats = cluster.stats()
        after = stats.per_worker[0]
    return docs, terminals, others, stats, victim, after


async def test_sigkill_mid_stream_replays_every_message():
    docs, terminals, others, stats, victim, after = await _kill_mid_stream(signal.SIGKILL)
    # None lost, none hanging: every message ended, with its right value.
    assert set(terminals) == set(docs)
    for mid, text in docs.items():
        assert isinstance(terminals[mid], Completed), terminals[mid]
        assert terminals[mid].value == json.loads(text)
    # The victim's messages were replayed and announced.
    replayed = {e.msg_id for e in others if isinstance(e, Restarted)}
    assert replayed and all(
        isinstance(e.error, WorkerLost) for e in others if isinstance(e, Restarted)
    )
    assert stats.workers_lost == 1 and stats.replacements == 1 and stats.workers_hung == 0
    assert stats.messages_replayed == len(replayed) and stats.messages_lost == 0
    assert stats.workers_up == 2 and after.generation == 2 and after.pid != victim.pid
    assert stats.last_recovery is not None and stats.last_recovery < 5
    # Events are exact too: a consumer that starts over at each Restarted rebuilds the
    # document from the events alone.
    for mid, text in docs.items():
        builder = ValueBuilder()
        for event in others:
            if event.msg_id != mid:
                continue
            if isinstance(event, Restarted):
                builder = ValueBuilder()
            else:
                builder.apply([event.event])
        assert builder.value == json.loads(text), mid


async def test_sigkill_without_replay_ends_messages_with_an_error():
    docs, terminals, _, stats, _, _ = await _kill_mid_stream(signal.SIGKILL, replay_bytes=None)
    assert set(terminals) == set(docs)
    failed = [t for t in terminals.values() if isinstance(t, Failed)]
    assert failed and all(isinstance(t.error, WorkerLost) for t in failed)
    assert all(t.error.reason == "died" for t in failed)
    assert stats.messages_lost == len(failed) and stats.replacements == 1
    # The other worker's messages are untouched.
    assert sum(isinstance(t, Completed) for t in terminals.values()) == len(docs) - len(failed)


async def test_hung_worker_is_detected_within_the_timeout():
    timeout = 1.0
    async with open_cluster(workers=2, heartbeat_timeout=timeout) as cluster:
        victim = cluster.stats().per_worker[1]
        os.kill(victim.pid, signal.SIGSTOP)
        start = trio.current_time()
        with trio.fail_after(timeout + 5):
            while cluster.stats().workers_hung == 0:
                await trio.sleep(0.05)
        detected = trio.current_time() - start
        assert detected < timeout + 1.0
        # The hung local worker was killed (not left stopped) and replaced.
        with trio.fail_after(5):
            while cluster.stats().workers_up < 2:
                await trio.sleep(0.05)
        assert not os.path.exists(f"/proc/{victim.pid}") or _state(victim.pid) in "ZX"
        docs = make_docs(10, seed=9)
        terminals: dict = {}
        async with trio.open_nursery() as nursery:
            nursery.start_soon(collect_terminals, cluster, len(docs), terminals)
            await send_interleaved(cluster, docs)
        assert all(isinstance(t, Completed) for t in terminals.values())


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return "X"
    return stat[stat.rfind(b")") + 2 : stat.rfind(b")") + 3].decode()


async def test_shutdown_and_cancellation_leave_no_processes():
    assert child_pids() == []
    async with open_cluster(workers=3) as cluster:
        pids = [w.pid for w in cluster.stats().per_worker]
        assert sorted(pids) == sorted(child_pids())
        await cluster.send("a", '{"x": 1')
    assert child_pids() == []
    # Cancelled from outside in the middle of a stream.
    with trio.move_on_after(1.0):
        async with open_cluster(workers=2) as cluster:
            docs = make_docs(20)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(collect_terminals, cluster, len(docs), {})
                await send_interleaved(cluster, docs, pause=0.01, end=False)
                await trio.sleep_forever()
    assert child_pids() == []
    for pid in pids:
        assert not os.path.exists(f"/proc/{pid}")
