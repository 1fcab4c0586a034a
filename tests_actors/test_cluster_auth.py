"""The cluster key: roots and workers prove a shared secret before any message flows.

Remote workers run as separate processes (``spy_worker.py``, which records every byte the
worker receives) bound to 127.0.0.x addresses; the test process is the registry, so the
workers are all registered before a cluster picks one (in the order of their addresses).
Pure tests of the handshake are in ``tests/test_cluster_auth_unit.py``.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import pytest
import trio

from conftest import child_pids
from jsonvisor.cluster import ClusterAuthError, WorkerUnavailable, _auth, open_cluster
from jsonvisor.cluster._link import Link
from jsonvisor.cluster._tractor import free_port, import_tractor
from jsonvisor.cluster.worker import authenticate, main, parse_session

tractor = import_tractor()

SPY = str(Path(__file__).with_name("spy_worker.py"))
MARKER = "confidential-payload-7f3a9c"  # message text no refused worker may see


def make_key(path: Path) -> Path:
    path.write_text(secrets.token_urlsafe(32) + "\n")
    path.chmod(0o600)
    return path


@contextmanager
def spy_workers(
    port: int, workers: list[tuple[str, Path | None]], tmp: Path
) -> Iterator[list[tuple[subprocess.Popen, Path]]]:
    """Start a recording worker per ``(host, key file or None)``; yield ``(proc, dump)``."""
    env = {k: v for k, v in os.environ.items() if k != _auth.KEY_FILE_ENV}
    started = []
    try:
        for host, key in workers:
            dump = tmp / f"received-{host}.bin"
            args = [sys.executable, SPY, str(dump), "--registry", f"127.0.0.1:{port}"]
            args += ["--host", host] + (["--auth-key-file", str(key)] if key else [])
            started.append((subprocess.Popen(args, stdout=subprocess.DEVNULL, env=env), dump))
        yield started
    finally:
        for proc, _ in started:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc, _ in started:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@asynccontextmanager
async def registry(port: int, expect: int) -> AsyncIterator[None]:
    """This process as the registry, once ``expect`` workers have registered."""
    async with tractor.open_root_actor(
        arbiter_addr=("127.0.0.1", port), name="test-registry", loglevel="critical"
    ):
        with trio.fail_after(30):
            while len(await registered(port)) < expect:
                await trio.sleep(0.1)
        yield


async def registered(port: int) -> dict[str, Any]:
    async with tractor.get_arbiter("127.0.0.1", port) as arb:
        entries = await arb.run_from_ns("self", "get_registry")
    return {k: v for k, v in entries.items() if k.startswith("jsonvisor-worker@")}


async def send_with_marker(cluster: Any, n: int) -> dict[str, Any]:
    """``n`` messages, each carrying :data:`MARKER` in one chunk; their values."""
    for i in range(n):
        mid = f"m{i}"
        await cluster.send(mid, f'{{"id": {i}, "note": "')
        await cluster.send(mid, MARKER)
        await cluster.send(mid, '"}')
        await cluster.end(mid)
    return {f"m{i}": (await cluster.result(f"m{i}")).value for i in range(n)}


# ====================================================================== remote workers


async def test_right_key_works_and_wrong_or_missing_keys_are_refused(tmp_path):
    key = make_key(tmp_path / "cluster.key")
    other = make_key(tmp_path / "other.key")
    port = free_port()
    # Tried in this order: the wrong key, no key, then the right key.
    plan = [("127.0.0.2", other), ("127.0.0.3", None), ("127.0.0.4", key)]
    with spy_workers(port, plan, tmp_path) as procs:
        async with registry(port, expect=3):
            async with open_cluster(
                workers=0,
                remote_workers=1,
                registry=("127.0.0.1", port),
                auth_key_file=key,
                discovery_timeout=30,
            ) as cluster:
                values = await send_with_marker(cluster, 5)
                stats = cluster.stats()
            assert values == {f"m{i}": {"id": i, "note": MARKER} for i in range(5)}
            assert stats.workers_refused == 2
            assert "it refused" in cluster.counters.last_refusal
            assert "this worker has no cluster key" in cluster.counters.last_refusal
            (worker,) = stats.per_worker
            assert worker.address[0] == "127.0.0.4" and worker.pid == procs[2][0].pid
        # Every worker is still serving (a refusal does not stop a worker).
        assert all(proc.poll() is None for proc, _ in procs)
    received = [dump.read_bytes() for _, dump in procs]
    # The refused workers got the handshake and nothing else: no session was opened
    # (its configuration is the first thing after the handshake) and no message text.
    for data in received[:2]:
        assert b"authenticate" in data
        assert b"parse_session" not in data and MARKER.encode() not in data
    # The accepted worker did receive it (so the recording works).
    assert b"parse_session" in received[2] and MARKER.encode() in received[2]
    assert child_pids() == []


async def test_only_wrong_keys_fail_the_start_naming_the_refusal(tmp_path):
    key = make_key(tmp_path / "cluster.key")
    port = free_port()
    with spy_workers(port, [("127.0.0.2", make_key(tmp_path / "other.key"))], tmp_path) as procs:
        async with registry(port, expect=1):
            with pytest.raises(WorkerUnavailable) as info:
                async with open_cluster(
                    workers=0,
                    remote_workers=1,
                    registry=("127.0.0.1", port),
                    auth_key_file=key,
                    discovery_timeout=0.5,
                ):
                    pytest.fail("the cluster opened with a wrong-key worker")
    message = str(info.value)
    assert "1 refused" in message and "did not prove the cluster key" in message
    assert MARKER.encode() not in procs[0][1].read_bytes()


async def test_a_root_without_the_key_cannot_open_a_session(tmp_path):
    """An impostor root talking to a worker directly: refused until it proves the key;
    forged and replayed proofs fail; only the worker's entry points are exposed."""
    key = make_key(tmp_path / "cluster.key")
    port = free_port()
    config = b"not even unpickled"
    with spy_workers(port, [("127.0.0.2", key)], tmp_path):
        async with registry(port, expect=1):
            ((name, addr),) = (await registered(port)).items()
            uuid = name.rpartition(".")[2]

            @asynccontextmanager
            async def connect() -> AsyncIterator[Any]:
                async with tractor.find_actor(uuid, arbiter_sockaddr=("127.0.0.1", port)) as p:
                    yield p

            def challenge(portal: Any) -> _auth.Challenge:
                chan = portal.channel
                return _auth.Challenge(_auth.read_key(key), _auth.identity(chan.uid, addr))

            async def handshake(portal: Any, hello: Any, proof: Any) -> Any:
                """Run the worker's handshake: its verdict on ``proof`` (or ``proof(reply)``)."""
                async with portal.open_context(authenticate, hello=hello) as (ctx, reply):
                    async with ctx.open_stream() as stream:
                        await stream.send(proof(reply) if callable(proof) else proof)
                        verdict = await stream.receive()
                    if verdict is not True:
                        raise tractor.RemoteActorError(f"ClusterAuthError: {verdict}")
                    return verdict

            async def refused(call: Any, why: str) -> None:
                with pytest.raises(tractor.RemoteActorError) as info:
                    await call
                assert "ClusterAuthError" in str(info.value) and why in str(info.value)

            async def session(portal: Any) -> None:
                async with portal.open_context(parse_session, config=config):
                    pass

            # No handshake: no session.
            async with connect() as portal:
                await refused(session(portal), "refused a session")
            # A forged proof, then still no session on that connection.
            async with connect() as portal:
                hello = challenge(portal).hello()
                await refused(handshake(portal, hello, secrets.token_bytes(32)), "did not prove")
                await refused(session(portal), "refused a session")
            # A genuine handshake, recorded ...
            async with connect() as portal:
                c = challenge(portal)
                old_hello = c.hello()
                old_proof: list[bytes] = []

                def right(reply: Any) -> bytes:
                    old_proof.append(c.verify(reply))
                    return old_proof[0]

                assert await handshake(portal, old_hello, right) is True
            # ... and replayed on a new connection: the worker's new nonce defeats it.
            async with connect() as portal:
                await refused(handshake(portal, old_hello, old_proof[0]), "did not prove")
            # The worker's own answer sent back as the root's proof (reflection) fails too.
            async with connect() as portal:
                hello = challenge(portal).hello()
                await refused(handshake(portal, hello, lambda r: r["proof"]), "did not prove")
            # A hello that names another worker (a relay) is refused before any proof.
            async with connect() as portal:
                chan = portal.channel
                k = _auth.read_key(key)
                wrong = _auth.Challenge(k, _auth.identity(chan.uid, ("127.0.0.9", addr[1])))
                await refused(handshake(portal, wrong.hello(), b""), "but this is")
            # Functions of the worker module other than its entry points are not exposed.
            async with connect() as portal:
                with pytest.raises(tractor.RemoteActorError, match="AttributeError"):
                    await portal.run_from_ns(
                        "jsonvisor.cluster.worker",
                        "_registry_up",
                        registry=("127.0.0.1", port),
                        timeout=0.1,
                    )
            # With the right proof, the same worker opens sessions (the configuration is
            # checked then: ours is not a pickle).
            async with connect() as portal:
                c = challenge(portal)
                assert await handshake(portal, c.hello(), c.verify) is True
                with pytest.raises(tractor.RemoteActorError) as info:
                    await session(portal)
                assert "ClusterAuthError" not in str(info.value)
                assert "UnpicklingError" in str(info.value)


# ====================================================================== local workers


async def test_local_workers_prove_the_key_too(tmp_path, monkeypatch):
    key = make_key(tmp_path / "cluster.key")
    calls: list[str] = []
    real = Link._authenticate

    async def counting(self: Link, portal: Any, k: Any) -> None:
        await real(self, portal, k)
        calls.append(self.name)

    monkeypatch.setattr(Link, "_authenticate", counting)
    async with open_cluster(workers=2, auth_key_file=key) as cluster:
        values = await send_with_marker(cluster, 4)
        assert cluster.stats().workers_refused == 0
    assert values == {f"m{i}": {"id": i, "note": MARKER} for i in range(4)}
    assert len(calls) == 2
    assert _auth.KEY_FILE_ENV not in os.environ  # only the children got it
    assert child_pids() == []


async def test_a_local_worker_with_another_key_is_refused(tmp_path, monkeypatch):
    """The root hands its key file to the workers it spawns; one that reads another key
    (here: the root names its variable differently, the child reads ours) is refused."""
    key = make_key(tmp_path / "cluster.key")
    monkeypatch.setenv(_auth.KEY_FILE_ENV, str(make_key(tmp_path / "other.key")))
    monkeypatch.setattr(_auth, "KEY_FILE_ENV", "JSONVISOR_TEST_UNUSED")
    with pytest.raises(WorkerUnavailable, match="did not prove the cluster key"):
        async with open_cluster(workers=1, auth_key_file=key, spawn_timeout=10):
            pytest.fail("the cluster opened with a wrong-key worker")
    assert child_pids() == []


# ====================================================================== refused at start


@pytest.mark.parametrize("registry", ["192.0.2.10:1616", ("0.0.0.0", 1616), "[2001:db8::1]:1616"])
async def test_a_registry_off_loopback_needs_a_key(registry, monkeypatch):
    monkeypatch.delenv(_auth.KEY_FILE_ENV, raising=False)
    with pytest.raises(ClusterAuthError) as info:
        async with open_cluster(workers=1, registry=registry):
            pytest.fail("opened")
    message = str(info.value)
    assert "is not a loopback address" in message
    assert "auth_key_file" in message and "docs/cluster-trust.md" in message
    assert child_pids() == []


async def test_an_unusable_key_file_fails_at_open(tmp_path):
    short = tmp_path / "short.key"
    short.write_text("too short")
    short.chmod(0o600)
    with pytest.raises(ClusterAuthError, match="needs at least 32"):
        async with open_cluster(workers=1, auth_key_file=short):
            pytest.fail("opened")
    shared = make_key(tmp_path / "shared.key")
    shared.chmod(0o644)
    with pytest.raises(ClusterAuthError, match="chmod 600"):
        async with open_cluster(workers=1, auth_key_file=shared):
            pytest.fail("opened")
    assert child_pids() == []


@pytest.mark.parametrize(
    "args",
    [["--registry", "192.0.2.10:1616"], ["--registry", "127.0.0.1:1616", "--host", "0.0.0.0"]],
)
def test_a_worker_off_loopback_needs_a_key(args, capsys, monkeypatch):
    monkeypatch.delenv(_auth.KEY_FILE_ENV, raising=False)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "is not a loopback address" in err and "--auth-key-file" in err


def test_the_worker_reads_the_key_file_from_the_environment(tmp_path, capsys, monkeypatch):
    missing = tmp_path / "missing.key"
    monkeypatch.setenv(_auth.KEY_FILE_ENV, str(missing))
    assert main(["--registry", "127.0.0.1:1616"]) == 2
    assert f"cannot read the cluster key file {str(missing)!r}" in capsys.readouterr().err


@pytest.mark.parametrize("extra", [[], ["--"]])
def test_the_jsonvisor_worker_command_checks_too(extra, capsys, monkeypatch):
    from jsonvisor.cli import main as jsonvisor

    monkeypatch.delenv(_auth.KEY_FILE_ENV, raising=False)
    assert jsonvisor(["worker", *extra, "--registry", "192.0.2.10:1616"]) == 2
    err = capsys.readouterr().err
    assert "is not a loopback address" in err and "--auth-key-file" in err
