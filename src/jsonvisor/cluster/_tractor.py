"""Importing tractor (the optional ``actors`` extra) and small helpers around its spawner.

tractor 0.1.0a5 is AGPL-3.0 licensed and needs trio 0.23.x; jsonvisor's core does not
depend on it.  Install it with ``scripts/actors_env.sh`` (see docs/cluster.md).
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import socket
import warnings
from collections.abc import Iterator
from typing import Any

__all__ = ["free_port", "import_tractor", "patch_transport", "spawn_tweaks"]

_INSTALL_HINT = (
    "jsonvisor.cluster needs the 'actors' extra: tractor 0.1.0a5 with trio 0.23.x "
    "(pip install 'trio==0.23.*' && pip install --no-deps tractor==0.1.0a5 plus its "
    "dependencies msgspec tricycle colorlog wrapt async_generator trio_typing pdbpp; "
    "scripts/actors_env.sh does all of it)"
)

# tractor 0.1.0a5 imports trio.MultiError, deprecated since trio 0.22.
_WARNING_FILTER = "ignore:trio.MultiError is deprecated"


def import_tractor() -> Any:
    """Import and return the ``tractor`` module, or raise ImportError with install help."""
    import trio

    # tractor 0.1.0a5 uses trio.MultiError throughout: silence trio's deprecation
    # warnings raised from tractor's own modules (and only those).
    category = getattr(trio, "TrioDeprecationWarning", DeprecationWarning)
    warnings.filterwarnings("ignore", category=category, module=r"tractor(\.|$)")
    # ... and the one its process reaper triggers inside trio (trio.Process.aclose).
    warnings.filterwarnings(
        "ignore", message="trio.Process.aclose is deprecated", category=category
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category)
        try:
            import tractor
        except ImportError as exc:
            raise ImportError(f"{_INSTALL_HINT}: {exc}") from exc
        except AttributeError as exc:  # trio too new: no trio.MultiError
            raise ImportError(f"{_INSTALL_HINT}: {exc}") from exc
    patch_transport()
    return tractor


_patched = False


def patch_transport() -> None:
    """Make tractor's message reader treat a cut frame as a closed transport.

    tractor 0.1.0a5's ``MsgpackTCPStream._iter_packets`` turns an end of stream in a
    frame's 4-byte header into ``TransportClosed``, but not one in the frame's body: a
    peer killed (SIGKILL) in the middle of writing a frame makes it raise ``ValueError``
    ("unclean EOF"), which escapes tractor's connection handler and brings down the whole
    actor (in a cluster: the root, when a worker is killed while sending).  This replaces
    the reader with one that handles both the same way.  It also skips tractor's
    per-frame debug log lines, which format every frame's bytes into a string even when
    that log level is off.  Done once per process, only for tractor 0.1.0a5 (the version
    this was written against).
    """
    global _patched
    if _patched:
        return
    _patched = True
    import struct

    import msgspec
    import trio
    from tractor import _ipc
    from tractor._exceptions import TransportClosed

    try:
        version = importlib.metadata.version("tractor")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover
        version = None
    if version != "0.1.0a5":  # pragma: no cover
        return
    closed = (ValueError, ConnectionResetError, trio.BrokenResourceError)
    unpack = struct.Struct("<I").unpack
    log = _ipc.log

    async def _iter_packets(self: Any) -> Any:
        decodes_failed = 0
        receive_exactly = self.recv_stream.receive_exactly
        decode = self.decode
        while True:
            try:
                header = await receive_exactly(4)
                if header == b"":
                    raise TransportClosed(f"transport {self} was already closed prior to read")
                (size,) = unpack(header)
                data = await receive_exactly(size)
            except closed as exc:
                raise TransportClosed(f"transport {self} closed while reading: {exc}") from exc
            try:
                yield decode(data)
            except (msgspec.DecodeError, UnicodeDecodeError):
                # as tractor: log and go on a few times (a dropped channel usually
                # shows up as an error on the next read), then give up
                if decodes_failed >= 4:
                    raise
                decodes_failed += 1
                log.error(f"msgspec failed to decode a {size}-byte frame from {self}")

    _ipc.MsgpackTCPStream._iter_packets = _iter_packets  # type: ignore[method-assign]


_tweaks_depth = 0
_saved: dict[str, Any] = {}


@contextlib.contextmanager
def spawn_tweaks(import_main: bool, env: dict[str, str]) -> Iterator[None]:
    """Adjust how tractor starts the next child actors (hold it around ``start_actor``).

    * ``import_main=False``: the child does not re-import the parent's ``__main__``
      (tractor does by default, like multiprocessing's spawn; a script or test runner
      without a ``__main__`` guard would run again in every worker).
    * ``env``: extra environment variables for the child process (the child inherits the
      environment at spawn time); tractor's trio deprecation warning is silenced as well.

    Re-entrant across tasks spawning at the same time: the process-wide changes are made by
    the first holder and undone by the last (all holders of one cluster ask for the same).
    """
    global _tweaks_depth
    from tractor import _mp_fixup_main

    if _tweaks_depth == 0:
        _saved.clear()
        _saved["env"] = {k: os.environ.get(k) for k in [*env, "PYTHONWARNINGS"]}
        _saved["figure"] = _mp_fixup_main._mp_figure_out_main
        if not import_main:
            _mp_fixup_main._mp_figure_out_main = dict  # type: ignore[assignment]
        os.environ.update(env)
        current = os.environ.get("PYTHONWARNINGS")
        os.environ["PYTHONWARNINGS"] = (
            f"{current},{_WARNING_FILTER}" if current else _WARNING_FILTER
        )
    _tweaks_depth += 1
    try:
        yield
    finally:
        _tweaks_depth -= 1
        if _tweaks_depth == 0:
            _mp_fixup_main._mp_figure_out_main = _saved["figure"]  # type: ignore[assignment]
            for k, v in _saved["env"].items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free on ``host`` a moment ago (for a private registry)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])
