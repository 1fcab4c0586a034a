"""Mutual authentication of a cluster's root and its workers on a shared key.

tractor's transport has no authentication: anything that reaches a registry's port can
register as a worker, and anything that reaches a worker's port can open a session on it.
With a key, before a root sends a worker its session configuration or any message text,
the two prove to each other that they know the same secret, read from a key file:

1. the root sends a *hello*: a fresh 32-byte random nonce ``Nr`` and the identity of the
   worker it means to talk to (its tractor uid, and for a worker found in the registry
   the registered address the root dialled);
2. the worker checks that the identity is its own (a worker relaying another root's
   hello would have to claim someone else's identity), picks its own nonce ``Nw`` and
   answers ``Nw, HMAC(key, "worker" | Nr | Nw | identity)``;
3. the root checks that answer and only then sends ``HMAC(key, "root" | Nr | Nw |
   identity)``, which the worker checks before it lets the connection open a session.

Each side's proof covers a nonce the *other* side has just chosen, so a recorded answer
is useless in a later handshake (replay); the two proofs are labelled by role, so a proof
sent back to its maker is refused (reflection); the identity in both proofs ties the
handshake to one worker and one dialled address, so an impostor cannot pass a real
worker's answers on to a root (a relay).  Proofs are compared with
:func:`hmac.compare_digest`, whose time does not depend on where the bytes differ.

Only the standard library is needed: HMAC-SHA256 (:mod:`hmac`, :mod:`hashlib`) is the
textbook primitive for a challenge-response on a shared key, and :mod:`secrets` gives
the nonces; a library would bring a dependency and no extra guarantee.  What the key
does *not* give (no encryption of the transport, tractor's own runtime calls) is in
``docs/cluster-trust.md``.

This module imports nothing from tractor (its tests run without the ``actors`` extra);
:mod:`jsonvisor.cluster.link` (the root) and :mod:`jsonvisor.cluster.worker` carry its
messages over a tractor context.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._net import is_loopback
from ._errors import ClusterAuthError

__all__ = [
    "KEY_FILE_ENV",
    "MIN_KEY_BYTES",
    "NONCE_BYTES",
    "AuthKey",
    "Challenge",
    "ClusterAuthError",
    "Response",
    "identity",
    "is_loopback",
    "load_key",
    "read_key",
    "require_key",
]

KEY_FILE_ENV = "JSONVISOR_CLUSTER_KEY_FILE"
"""Environment variable naming the key file, used when no key file is given explicitly."""

MIN_KEY_BYTES = 32
"""The shortest key accepted (bytes, after surrounding whitespace is stripped)."""

NONCE_BYTES = 32
"""Length of each side's random nonce."""

_VERSION = 1
_LABEL = b"jsonvisor-cluster-auth/1"
_MAKE_KEY = (
    "python -c 'import secrets; print(secrets.token_urlsafe(32))' > cluster.key "
    "&& chmod 600 cluster.key"
)

Identity = tuple[str, str, "str | None", "int | None"]


# ====================================================================== the key


class AuthKey:
    """A cluster key read from a file.  Its ``repr`` shows the file, never the key."""

    __slots__ = ("_secret", "path")

    def __init__(self, secret: bytes, path: str) -> None:
        self._secret = secret
        self.path = path

    def __repr__(self) -> str:
        return f"AuthKey({self.path!r})"

    def mac(self, role: bytes, root_nonce: bytes, worker_nonce: bytes, ident: Identity) -> bytes:
        """``HMAC-SHA256(key, label | role | Nr | Nw | identity)``, fields length-prefixed."""
        parts = [_LABEL, role, root_nonce, worker_nonce]
        parts.extend(b"" if v is None else str(v).encode() for v in ident)
        msg = b"".join(len(p).to_bytes(4, "big") + p for p in parts)
        return hmac.new(self._secret, msg, hashlib.sha256).digest()


def read_key(path: str | os.PathLike[str]) -> AuthKey:
    """The key in file ``path``: its bytes, surrounding whitespace stripped.

    Raises :class:`ClusterAuthError`, naming the file and the fix, if the file cannot be
    read, can be read or written by other users (``chmod 600`` it; not checked on
    Windows), or holds fewer than :data:`MIN_KEY_BYTES` bytes.
    """
    p = Path(path).expanduser()
    shown = str(p)
    try:
        mode = p.stat().st_mode
        data = p.read_bytes()
    except OSError as exc:
        raise ClusterAuthError(
            f"cannot read the cluster key file {shown!r}: {exc.strerror or exc}; make one with: "
            f"{_MAKE_KEY}"
        ) from None
    if os.name != "nt" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ClusterAuthError(
            f"the cluster key file {shown!r} can be read or written by other users "
            f"(mode {stat.S_IMODE(mode):03o}); chmod 600 {shown}"
        )
    secret = data.strip()
    if not secret:
        raise ClusterAuthError(
            f"the cluster key file {shown!r} is empty; make one with: {_MAKE_KEY}"
        )
    if len(secret) < MIN_KEY_BYTES:
        raise ClusterAuthError(
            f"the key in {shown!r} is {len(secret)} bytes; a cluster key needs at least "
            f"{MIN_KEY_BYTES} (make one with: {_MAKE_KEY})"
        )
    return AuthKey(secret, str(p.resolve()))


def load_key(path: str | os.PathLike[str] | None) -> AuthKey | None:
    """The key in ``path``; if None, in the file named by ``$JSONVISOR_CLUSTER_KEY_FILE``;
    None if neither is set."""
    if path is None:
        path = os.environ.get(KEY_FILE_ENV) or None
    return None if path is None else read_key(path)


def require_key(host: str, key: AuthKey | None, where: str, fix: str) -> None:
    """Refuse ``host`` (not loopback) without a key: other machines could reach it.

    ``where`` names the address (``"the registry 10.0.0.5:1616"``), ``fix`` how to give
    a key.
    """
    if key is None and not is_loopback(host):
        raise ClusterAuthError(
            f"{where} is not a loopback address: other machines could join the "
            f"cluster and read message text.  Give a shared key: {fix}, with the same key "
            f"file on the root and every worker (see docs/cluster-trust.md); make one with: "
            f"{_MAKE_KEY}"
        )


# ====================================================================== the handshake


def identity(uid: Sequence[Any] | None, address: Sequence[Any] | None) -> Identity:
    """A worker's identity in a handshake: its tractor uid ``(name, uuid)`` and, for a
    worker found in the registry, its registered ``(host, port)`` (None for a worker the
    root spawned itself)."""
    if uid is None or len(uid) != 2:
        raise ClusterAuthError(f"a worker's uid must be (name, uuid), not {uid!r}")
    if address is None:
        return (str(uid[0]), str(uid[1]), None, None)
    host, port = address[0], address[1]
    return (str(uid[0]), str(uid[1]), str(host), int(port))


def _nonce(value: Any, whose: str) -> bytes:
    if not isinstance(value, bytes) or len(value) != NONCE_BYTES:
        raise ClusterAuthError(f"malformed handshake: the {whose} nonce is not {NONCE_BYTES} bytes")
    return value


def _proof(value: Any, whose: str) -> bytes:
    if not isinstance(value, bytes) or len(value) != hashlib.sha256().digest_size:
        raise ClusterAuthError(f"malformed handshake: the {whose} proof is not an HMAC-SHA256")
    return value


class Challenge:
    """The root's side of one handshake with one worker (single use)."""

    def __init__(self, key: AuthKey, ident: Identity) -> None:
        self._key = key
        self._identity = ident
        self._nonce = secrets.token_bytes(NONCE_BYTES)
        self._done = False

    def hello(self) -> dict[str, Any]:
        """The first message, to the worker."""
        return {"v": _VERSION, "nonce": self._nonce, "identity": list(self._identity)}

    def verify(self, reply: Any) -> bytes:
        """Check the worker's answer to :meth:`hello`; return the root's proof for it.

        Raises :class:`ClusterAuthError` if the worker did not prove the key.
        """
        if self._done:
            raise ClusterAuthError("a handshake challenge is used once")
        self._done = True
        if not isinstance(reply, dict):
            raise ClusterAuthError("malformed handshake: the worker's answer is not a mapping")
        worker_nonce = _nonce(reply.get("nonce"), "worker's")
        given = _proof(reply.get("proof"), "worker's")
        expected = self._key.mac(b"worker", self._nonce, worker_nonce, self._identity)
        if not hmac.compare_digest(given, expected):
            raise ClusterAuthError(
                "the worker did not prove the cluster key (it has another key file, or it is "
                f"not a worker of this cluster); root key file {self._key.path!r}"
            )
        return self._key.mac(b"root", self._nonce, worker_nonce, self._identity)


class Response:
    """The worker's side of one handshake with one root (single use)."""

    def __init__(self, key: AuthKey, own: Identity) -> None:
        self._key = key
        self._own = own
        self._nonce = secrets.token_bytes(NONCE_BYTES)
        self._root_nonce: bytes | None = None
        self._done = False

    def answer(self, hello: Any) -> dict[str, Any]:
        """The worker's answer to the root's :meth:`Challenge.hello`.

        Raises :class:`ClusterAuthError` if the hello is malformed or names another worker.
        """
        if self._root_nonce is not None:
            raise ClusterAuthError("a handshake response is used once")
        if not isinstance(hello, dict) or hello.get("v") != _VERSION:
            raise ClusterAuthError(
                "malformed handshake: not a version-1 hello (is the root a jsonvisor of the "
                "same version?)"
            )
        root_nonce = _nonce(hello.get("nonce"), "root's")
        claimed = hello.get("identity")
        try:
            ident = identity(claimed[:2], None if claimed[2] is None else claimed[2:4])  # type: ignore[index]
        except (TypeError, ValueError, IndexError):
            raise ClusterAuthError("malformed handshake: bad worker identity") from None
        if ident != self._own:
            raise ClusterAuthError(
                f"the root addressed worker {_show(ident)}, but this is {_show(self._own)} (a "
                "relay, or the worker is reached at another address than it registered: "
                "start it with --host set to the address roots connect to)"
            )
        self._root_nonce = root_nonce
        proof = self._key.mac(b"worker", root_nonce, self._nonce, self._own)
        return {"nonce": self._nonce, "proof": proof}

    def verify(self, proof: Any) -> None:
        """Check the root's proof (after :meth:`answer`); raise :class:`ClusterAuthError`
        if the root did not prove the key."""
        if self._root_nonce is None or self._done:
            raise ClusterAuthError("a handshake response is used once, after its answer")
        self._done = True
        given = _proof(proof, "root's")
        expected = self._key.mac(b"root", self._root_nonce, self._nonce, self._own)
        if not hmac.compare_digest(given, expected):
            raise ClusterAuthError(
                "the root did not prove the cluster key (it has another key file, or it is "
                "not a root of this cluster)"
            )


def _show(ident: Identity) -> str:
    name, uuid, host, port = ident
    where = "(spawned by the root)" if host is None else f"at {host}:{port}"
    return f"{name}.{uuid} {where}"
