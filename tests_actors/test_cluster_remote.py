"""Workers on other hosts: separate OS processes bound to 127.0.0.2 / 127.0.0.3 that join
through the registry (``python -m jsonvisor.cluster.worker --registry HOST:PORT``)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import trio

from conftest import child_pids
from helpers import collect_terminals, make_docs, send_interleaved
from jsonvisor.cluster import open_cluster
from jsonvisor.cluster._tractor import free_port
from jsonvisor.supervisor import Completed


@contextmanager
def remote_workers(port: int, hosts: list[str]) -> Iterator[list[subprocess.Popen]]:
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jsonvisor.cluster.worker",
                "--registry",
                f"127.0.0.1:{port}",
                "--host",
                host,
            ],
            stdout=subprocess.DEVNULL,
        )
        for host in hosts
    ]
    try:
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


async def test_remote_workers_on_other_addresses():
    port = free_port()
    with remote_workers(port, ["127.0.0.2", "127.0.0.3"]) as procs:
        async with open_cluster(
            workers=0, remote_workers=2, registry=f"127.0.0.1:{port}", discovery_timeout=30
        ) as cluster:
            info = cluster.stats().per_worker
            assert sorted(w.address[0] for w in info) == ["127.0.0.2", "127.0.0.3"]
            assert sorted(w.pid for w in info) == sorted(p.pid for p in procs)
            assert all(w.kind == "remote" for w in info)
            docs = make_docs(30)
            terminals: dict = {}
            async with trio.open_nursery() as nursery:
                nursery.start_soon(collect_terminals, cluster, len(docs), terminals)
                await send_interleaved(cluster, docs)
            for mid, text in docs.items():
                assert terminals[mid].value == json.loads(text)
        # The root's exit leaves remote workers running (they serve other roots) ...
        assert all(p.poll() is None for p in procs)
    # ... and they stop cleanly on SIGTERM.
    assert [p.returncode for p in procs] == [0, 0]
    assert child_pids() == []


async def test_lost_remote_worker_is_replaced_from_the_registry():
    port = free_port()
    with remote_workers(port, ["127.0.0.2", "127.0.0.3"]) as procs:
        async with open_cluster(
            workers=0,
            remote_workers=1,
            registry=("127.0.0.1", port),
            discovery_timeout=30,
            heartbeat_timeout=2.0,
        ) as cluster:
            # Wait until both workers are registered, so a spare exists.
            with trio.fail_after(20):
                while len(await _registered(port)) < 2:
                    await trio.sleep(0.1)
            first = cluster.stats().per_worker[0]
            docs = make_docs(20, seed=4)
            terminals: dict = {}

            def kill(round_no: int) -> None:
                if round_no == 20:
                    os.kill(first.pid, signal.SIGKILL)  # its registry entry stays behind

            async with trio.open_nursery() as nursery:
                nursery.start_soon(collect_terminals, cluster, len(docs), terminals)
                await send_interleaved(cluster, docs, pause=0.005, on_round=kill)
            for mid, text in docs.items():
                assert isinstance(terminals[mid], Completed)
                assert terminals[mid].value == json.loads(text)
            stats = cluster.stats()
            now = stats.per_worker[0]
            assert stats.workers_lost == 1 and stats.replacements == 1
            assert now.kind == "remote" and now.pid != first.pid
            assert now.pid in [p.pid for p in procs]  # the spare, not a local fallback
            assert now.address[0] != first.address[0]


async def _registered(port: int) -> list[str]:
    import tractor

    async with tractor.get_arbiter("127.0.0.1", port) as arb:
        entries = await arb.run_from_ns("self", "get_registry")
    return [k for k in entries if k.startswith("jsonvisor-worker@")]
