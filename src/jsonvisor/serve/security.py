"""Who may talk to the service: the bind address, the bearer token, IDs, paths and origins.

* The service binds to 127.0.0.1 by default; any address that is not loopback needs a
  bearer token read from a file (:func:`check_bind`).
* The token is compared in constant time (:func:`hmac.compare_digest`).
* Without a token, only loopback ``Host`` names are answered (a web page elsewhere cannot
  reach the service through DNS rebinding), and a request that changes state from a browser
  page of another origin is refused (``Origin`` must match ``Host``).
* Message IDs, schema and upstream names are short, plain ASCII (:data:`ID_PATTERN`);
  watched paths are parsed by :func:`jsonvisor.paths.parse_path` and bounded in length and
  number.
"""

from __future__ import annotations

import hmac
import os
import re
import stat
from pathlib import Path

from .._net import is_loopback
from ..paths import parse_path
from ..watch import Watcher
from .errors import ConfigError, HTTPError

__all__ = [
    "ID_PATTERN",
    "MAX_ID_LENGTH",
    "check_bind",
    "check_id",
    "is_loopback",
    "read_token",
    "token_matches",
    "watcher_for",
]

MAX_ID_LENGTH = 200
#: A message ID (also a schema or upstream name): 1 to 200 of ``A-Z a-z 0-9 _ . ~ : @ + -``,
#: starting with a letter, a digit or ``_`` (the ids of every provider adapter fit).
ID_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.~:@+\-]{0,199}")
MIN_TOKEN_LENGTH = 16
MAX_WATCH_PATH = 256


def read_token(path: str | os.PathLike[str]) -> str:
    """The bearer token in file ``path`` (surrounding whitespace ignored).

    Raises :class:`ConfigError` if it cannot be read or is shorter than 16 characters;
    a token file others can read is refused too (``chmod 600`` it).
    """
    p = Path(path)
    try:
        mode = p.stat().st_mode
        text = p.read_text("utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the token file {str(p)!r}: {exc}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"the token file {str(p)!r} can be read by other users; chmod 600 it")
    if len(text) < MIN_TOKEN_LENGTH or any(c.isspace() or not c.isprintable() for c in text):
        raise ConfigError(
            f"the token in {str(p)!r} must be at least {MIN_TOKEN_LENGTH} printable characters "
            "without spaces (e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    return text


def check_bind(host: str, token: str | None) -> None:
    """Refuse to bind a non-loopback address without a token."""
    if token is None and not is_loopback(host):
        raise ConfigError(
            f"--host {host} is reachable from other machines: give a bearer token with "
            "--token-file FILE (or bind 127.0.0.1)"
        )


def token_matches(header: bytes | None, token: bytes) -> bool:
    """True if ``header`` is ``Bearer <token>``; the comparison takes the same time
    whatever the bytes sent."""
    if header is None:
        return False
    scheme, _, given = header.strip().partition(b" ")
    ok_scheme = hmac.compare_digest(scheme.lower(), b"bearer")
    return hmac.compare_digest(given.strip(), token) and ok_scheme


def check_id(text: str, what: str = "message ID") -> str:
    """``text`` if it is a valid ID, else a 400."""
    if not ID_PATTERN.fullmatch(text):
        shown = text if len(text) <= 60 else text[:57] + "..."
        raise HTTPError(
            400,
            "invalid_id",
            f"invalid {what} {shown!r}: use 1 to {MAX_ID_LENGTH} of A-Z a-z 0-9 _ . ~ : @ + - "
            "(starting with a letter, digit or _)",
        )
    return text


def watcher_for(paths: list[str], *, text: bool, limit: int) -> Watcher | None:
    """A :class:`Watcher` for the ``watch`` query parameters, or None; a 400 if bad."""
    if not paths:
        return None
    if len(paths) > limit:
        raise HTTPError(400, "too_many_paths", f"at most {limit} watch paths per request")
    for path in paths:
        if len(path) > MAX_WATCH_PATH:
            raise HTTPError(400, "invalid_path", f"a watch path is at most {MAX_WATCH_PATH} chars")
        try:
            parse_path(path)
        except ValueError as exc:
            raise HTTPError(400, "invalid_path", str(exc)) from None
    return Watcher(paths, text=text)
