"""The cluster key handshake (``jsonvisor.cluster._auth``) on its own, without tractor.

End-to-end tests with real workers are in ``tests_actors/test_cluster_auth.py``.
"""

from __future__ import annotations

import hmac
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from jsonvisor.cluster import ClusterAuthError, ClusterError, _auth

WORKER = _auth.identity(("jsonvisor-worker@10.0.0.7:41", "uuid-1"), ("10.0.0.7", 5001))
LOCAL = _auth.identity(("jsonvisor-local-0-g1", "uuid-2"), None)


def key_file(tmp_path: Path, text: str | bytes | None = None, mode: int = 0o600) -> Path:
    path = tmp_path / f"k{secrets.token_hex(4)}"
    data = text if text is not None else secrets.token_urlsafe(32) + "\n"
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    path.chmod(mode)
    return path


@pytest.fixture
def key(tmp_path: Path) -> _auth.AuthKey:
    return _auth.read_key(key_file(tmp_path))


def run(root_key: _auth.AuthKey, worker_key: _auth.AuthKey, ident=WORKER) -> None:
    """One whole handshake between a root and a worker, in memory."""
    root = _auth.Challenge(root_key, ident)
    worker = _auth.Response(worker_key, ident)
    proof = root.verify(worker.answer(root.hello()))
    worker.verify(proof)


# ====================================================================== the handshake


def test_the_same_key_passes_both_ways(key):
    run(key, key)
    run(key, key, LOCAL)


def test_the_same_key_from_another_file_passes(tmp_path):
    text = secrets.token_urlsafe(32)
    a = _auth.read_key(key_file(tmp_path, text + "\n"))
    b = _auth.read_key(key_file(tmp_path, "  " + text))  # surrounding whitespace ignored
    run(a, b)


def test_a_worker_with_another_key_is_refused_by_the_root(tmp_path, key):
    other = _auth.read_key(key_file(tmp_path))
    root = _auth.Challenge(key, WORKER)
    reply = _auth.Response(other, WORKER).answer(root.hello())
    with pytest.raises(ClusterAuthError, match="the worker did not prove the cluster key"):
        root.verify(reply)


def test_a_root_with_another_key_is_refused_by_the_worker(tmp_path, key):
    other = _auth.read_key(key_file(tmp_path))
    worker = _auth.Response(key, WORKER)
    reply = worker.answer(_auth.Challenge(other, WORKER).hello())
    # The impostor root cannot check the answer, so it sends its own proof anyway.
    forged = other.mac(b"root", b"\0" * 32, reply["nonce"], WORKER)
    with pytest.raises(ClusterAuthError, match="the root did not prove the cluster key"):
        worker.verify(forged)


def test_a_replayed_worker_answer_fails(key):
    first = _auth.Challenge(key, WORKER)
    recorded = _auth.Response(key, WORKER).answer(first.hello())
    first.verify(recorded)
    again = _auth.Challenge(key, WORKER)  # a new root nonce
    with pytest.raises(ClusterAuthError, match="did not prove"):
        again.verify(recorded)


def test_a_replayed_root_proof_fails(key):
    root = _auth.Challenge(key, WORKER)
    hello = root.hello()
    recorded = root.verify(_auth.Response(key, WORKER).answer(hello))
    worker = _auth.Response(key, WORKER)  # a new worker nonce
    worker.answer(hello)  # the same hello replayed too
    with pytest.raises(ClusterAuthError, match="did not prove"):
        worker.verify(recorded)


def test_a_reflected_proof_fails(key):
    """The worker's own proof sent back as the root's: the roles are in the MAC."""
    worker = _auth.Response(key, WORKER)
    reply = worker.answer(_auth.Challenge(key, WORKER).hello())
    with pytest.raises(ClusterAuthError, match="did not prove"):
        worker.verify(reply["proof"])


def test_forged_proofs_fail(key):
    root = _auth.Challenge(key, WORKER)
    reply = _auth.Response(key, WORKER).answer(root.hello())
    flipped = bytes([reply["proof"][0] ^ 1]) + reply["proof"][1:]
    with pytest.raises(ClusterAuthError, match="did not prove"):
        root.verify({**reply, "proof": flipped})
    worker = _auth.Response(key, WORKER)
    worker.answer(_auth.Challenge(key, WORKER).hello())
    with pytest.raises(ClusterAuthError, match="did not prove"):
        worker.verify(secrets.token_bytes(32))


def test_a_relayed_handshake_fails(key):
    """An impostor registered at another address passes a real worker's answers on: the
    real worker refuses a hello for another identity, and if the impostor rewrites the
    hello, the answer no longer matches what the root asked."""
    impostor = _auth.identity(("jsonvisor-worker@10.0.0.66:9", "uuid-9"), ("10.0.0.66", 5001))
    root = _auth.Challenge(key, impostor)
    real = _auth.Response(key, WORKER)
    with pytest.raises(ClusterAuthError, match=r"but this is jsonvisor-worker@10\.0\.0\.7"):
        real.answer(root.hello())
    rewritten = {**root.hello(), "identity": list(WORKER)}
    reply = _auth.Response(key, WORKER).answer(rewritten)
    with pytest.raises(ClusterAuthError, match="did not prove"):
        root.verify(reply)
    # A registered worker does not take a hello meant for a spawned one either.
    with pytest.raises(ClusterAuthError, match="spawned by the root"):
        _auth.Response(key, WORKER).answer({**root.hello(), "identity": list(LOCAL)})


@pytest.mark.parametrize(
    "reply",
    [
        None,
        [],
        {},
        {"nonce": b"short", "proof": b"\0" * 32},
        {"nonce": b"\0" * 32, "proof": b"\0" * 31},
        {"nonce": b"\0" * 32, "proof": "text, not bytes"},
    ],
)
def test_malformed_answers_are_refused(key, reply):
    with pytest.raises(ClusterAuthError, match="malformed handshake"):
        _auth.Challenge(key, WORKER).verify(reply)


@pytest.mark.parametrize(
    "change",
    [{"v": 2}, {"nonce": b"x" * 31}, {"nonce": None}, {"identity": None}, {"identity": [1]}],
)
def test_malformed_hellos_are_refused(key, change):
    hello = {**_auth.Challenge(key, WORKER).hello(), **change}
    with pytest.raises(ClusterAuthError, match="malformed handshake"):
        _auth.Response(key, WORKER).answer(hello)


def test_each_side_is_single_use(key):
    root = _auth.Challenge(key, WORKER)
    worker = _auth.Response(key, WORKER)
    with pytest.raises(ClusterAuthError, match="after its answer"):
        worker.verify(b"\0" * 32)
    reply = worker.answer(root.hello())
    with pytest.raises(ClusterAuthError, match="used once"):
        worker.answer(root.hello())
    proof = root.verify(reply)
    with pytest.raises(ClusterAuthError, match="used once"):
        root.verify(reply)
    worker.verify(proof)
    with pytest.raises(ClusterAuthError, match="used once"):
        worker.verify(proof)


def test_nonces_are_fresh_and_random(key):
    hellos = [_auth.Challenge(key, WORKER).hello()["nonce"] for _ in range(50)]
    answers = [_auth.Response(key, WORKER).answer(h) for h in _hellos(key, 50)]
    assert len(set(hellos)) == 50 and all(len(n) == _auth.NONCE_BYTES for n in hellos)
    assert len({a["nonce"] for a in answers}) == 50


def _hellos(key: _auth.AuthKey, n: int) -> list[dict]:
    return [_auth.Challenge(key, WORKER).hello() for _ in range(n)]


def test_proofs_are_compared_in_constant_time(key, monkeypatch):
    """Both checks go through hmac.compare_digest (never ``==`` on the proofs)."""
    calls = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(_auth.hmac, "compare_digest", spy)
    run(key, key)
    assert len(calls) == 2
    assert all(isinstance(a, bytes) and len(a) == len(b) == 32 for a, b in calls)


def test_the_mac_is_hmac_sha256_over_length_prefixed_fields(tmp_path):
    secret = secrets.token_bytes(40)
    k = _auth.read_key(key_file(tmp_path, secret.hex()))
    fields = [b"jsonvisor-cluster-auth/1", b"root", b"r" * 32, b"w" * 32]
    fields += [b"name", b"uuid", b"", b""]
    msg = b"".join(len(f).to_bytes(4, "big") + f for f in fields)
    expected = hmac.new(secret.hex().encode(), msg, "sha256").digest()
    assert k.mac(b"root", b"r" * 32, b"w" * 32, ("name", "uuid", None, None)) == expected


# ====================================================================== the key file


def test_key_file_errors_name_the_file_and_the_fix(tmp_path):
    missing = tmp_path / "nope.key"
    with pytest.raises(ClusterAuthError) as info:
        _auth.read_key(missing)
    assert str(missing) in str(info.value) and "secrets.token_urlsafe" in str(info.value)
    with pytest.raises(ClusterAuthError, match="is empty"):
        _auth.read_key(key_file(tmp_path, " \n"))
    with pytest.raises(ClusterAuthError, match="is 31 bytes; a cluster key needs at least 32"):
        _auth.read_key(key_file(tmp_path, "x" * 31))
    assert _auth.read_key(key_file(tmp_path, b"\x00\xff" * 16))  # binary keys are fine
    with pytest.raises(ClusterAuthError, match="cannot read"):
        _auth.read_key(tmp_path)  # a directory


@pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620, 0o602])
def test_a_key_file_others_can_read_or_write_is_refused(tmp_path, mode):
    path = key_file(tmp_path, mode=mode)
    with pytest.raises(ClusterAuthError, match=f"mode {mode:03o}.*chmod 600"):
        _auth.read_key(path)
    path.chmod(0o400)
    assert _auth.read_key(path)


def test_the_key_never_shows(tmp_path):
    text = secrets.token_urlsafe(32)
    k = _auth.read_key(key_file(tmp_path, text))
    assert text not in repr(k) and text not in str(k)


def test_load_key_falls_back_to_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv(_auth.KEY_FILE_ENV, raising=False)
    assert _auth.load_key(None) is None
    path = key_file(tmp_path)
    monkeypatch.setenv(_auth.KEY_FILE_ENV, str(path))
    assert _auth.load_key(None).path == str(path.resolve())
    explicit = key_file(tmp_path)
    assert _auth.load_key(explicit).path == str(explicit.resolve())  # explicit first


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.3", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("10.0.0.5", False),
        ("2001:db8::1", False),
        ("example.com", False),
    ],
)
def test_require_key_off_loopback(key, host, loopback):
    _auth.require_key(host, key, "x", "fix")
    if loopback:
        _auth.require_key(host, None, "x", "fix")
    else:
        with pytest.raises(ClusterAuthError, match=r"not a loopback address.*fix"):
            _auth.require_key(host, None, f"the registry {host}:1", "fix")


def test_the_error_is_a_cluster_error():
    assert issubclass(ClusterAuthError, ClusterError)


def test_importable_without_tractor():
    code = (
        "import sys; sys.modules['tractor'] = None\n"
        "import jsonvisor.cluster._auth, jsonvisor.cluster\n"
        "print(jsonvisor.cluster.ClusterAuthError.__name__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ClusterAuthError"
