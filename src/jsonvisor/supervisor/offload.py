"""Keeping big parses off the event loop's back: slicing, threads, worker processes, GC.

Three ways to feed a large piece of input to a message's parser:

``"inline"``
    In the event-loop thread, in slices of ``slice_size`` characters (or bytes) with a
    checkpoint between slices.  The parser accepts input split anywhere, so slicing
    changes only how many events are emitted, never the value.
``"thread"``
    The same slices, fed by ``anyio.to_thread.run_sync`` in a worker thread (trio's own
    threads on trio).  ``ujson`` holds the GIL, so this adds no parallelism; the loop runs
    between slices.  Cancelling stops the thread at the next slice boundary
    (``anyio.from_thread.check_cancelled``).
``"process"``
    The parser object itself is pickled to a worker process, fed there in one go, and
    pickled back with its events.  Parallel, but unpickling the result is one blocking
    step in the event loop, as long as building the value inline.  Cancelling kills the
    worker.  The parser must be picklable; if it is not, the supervisor feeds inline
    instead.  The workers are ``trio-parallel``'s on trio (the ``parallel`` extra; it is
    trio-only) and ``anyio.to_process``'s on asyncio (no extra needed).  Both re-import
    the ``__main__`` module in each worker: guard scripts with
    ``if __name__ == "__main__":``.

CPython's cyclic garbage collector is the other source of long pauses: a full collection
walks every live container, and a document of several megabytes being built triggers
several of them (over 100 ms each with a 20 MB document alive).  :func:`gc_deferred`
pauses automatic collection while a large input is fed and collects only the young
generations between slices; the full collection CPython then owes happens later, once.
"""

from __future__ import annotations

import gc
import inspect
import pickle
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import anyio
import anyio.from_thread
import anyio.to_process
import anyio.to_thread

from ..hub import OffloadMode
from ..mailboxes import Chunk
from ..mailboxes.lowlevel import Hub
from ..parsers import Event, JsonStreamError

__all__ = [
    "OffloadMode",
    "broken_worker_errors",
    "check_process_offload",
    "feed_in_process",
    "feed_slices",
    "gc_deferred",
    "run_in_process",
    "run_in_thread",
    "split",
    "utf8_len",
    "young_collection",
]

T = TypeVar("T")


def split(data: Chunk, size: int) -> list[Chunk]:
    """``data`` cut into pieces of at most ``size`` (the parser accepts any split)."""
    if len(data) <= size:
        return [data]
    return [data[i : i + size] for i in range(0, len(data), size)]


# ------------------------------------------------------------------ garbage collection

_depth = 0
_disabled_by_us = False


@contextmanager
def gc_deferred(enabled: bool = True) -> Iterator[None]:
    """Pause CPython's automatic garbage collection inside the block.

    Nests, also across tasks: collection resumes when the last block exits, and only if
    it was enabled when the first one entered (an application that disabled it itself
    keeps it disabled).  ``enabled=False`` makes this a no-op.
    """
    global _depth, _disabled_by_us
    if not enabled:
        yield
        return
    if _depth == 0:
        _disabled_by_us = gc.isenabled()
        if _disabled_by_us:
            gc.disable()
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0 and _disabled_by_us:
            _disabled_by_us = False
            gc.enable()


def young_collection() -> None:
    """Collect the two young generations if :func:`gc_deferred` paused collection.

    Cheap (it walks only containers made since the last one) and keeps garbage cycles
    from piling up while automatic collection is paused.
    """
    if _disabled_by_us:
        gc.collect(1)


# ------------------------------------------------------------------ threads

FeedOutcome = tuple[list[Event], int, int, Exception | None]
"""What a sliced feed returns: the events, the offset it got to, the UTF-8 bytes it fed,
and the error that stopped it (None if it fed everything)."""


def utf8_len(data: Chunk) -> int:
    """Length of ``data`` in UTF-8 bytes (``len`` for bytes and ASCII text)."""
    if isinstance(data, bytes) or data.isascii():
        return len(data)
    return len(data.encode("utf-8", "surrogatepass"))


def feed_slices(
    parser: Any,
    data: Chunk,
    start: int,
    size: int,
    between: Callable[[], object] | None = None,
) -> FeedOutcome:
    """Feed ``data[start:]`` in slices of ``size``, calling ``between()`` between them.

    Never raises what the parser raises: it stops at the first error and returns it with
    the offset reached, so the caller knows exactly what the parser has consumed.  Slices
    are cut one at a time (no copy of the whole input at once).
    """
    events: list[Event] = []
    fed = 0
    end = len(data)
    while start < end:
        if fed and between is not None:
            between()
        piece = data[start : start + size]
        try:
            events.extend(parser.feed(piece))
        except Exception as exc:
            return events, start, fed, exc
        fed += utf8_len(piece)
        start += len(piece)
    return events, start, fed, None


def _between_in_thread() -> None:
    anyio.from_thread.check_cancelled()
    young_collection()


async def run_in_thread(parser: Any, data: Chunk, start: int, size: int) -> FeedOutcome:
    """:func:`feed_slices` in a worker thread; cancellable (the thread stops at the next
    slice boundary, its results are discarded)."""
    return await anyio.to_thread.run_sync(
        feed_slices, parser, data, start, size, _between_in_thread, abandon_on_cancel=True
    )


# ------------------------------------------------------------------ processes


def _portable(exc: Exception) -> Exception:
    try:
        pickle.dumps(exc)
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


def feed_in_process(parser: Any, data: Chunk) -> tuple[Any, list[Event], int, Exception | None]:
    """Feed ``data`` to ``parser`` in one go; return the parser, its events, the UTF-8
    length of ``data`` and any error.

    Runs in a worker process (a module-level function, so workers can import it).
    Automatic garbage collection is paused for the feed: the worker is ours.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        events = parser.feed(data)
    except JsonStreamError as exc:
        return None, [], 0, exc
    except Exception as exc:
        return None, [], 0, _portable(exc)
    finally:
        if was_enabled:
            gc.enable()
    return parser, events, utf8_len(data), None


def _process_kwargs(run_sync: Callable[..., Any]) -> dict[str, bool]:
    params = inspect.signature(run_sync).parameters
    if "kill_on_cancel" in params:
        return {"kill_on_cancel": True}
    return {"cancellable": True}  # pragma: no cover - trio-parallel < 1.3


async def run_in_process(hub: Hub, fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in a worker process; cancelling kills the worker.

    On trio, a ``trio-parallel`` worker: it is trio-only, and raises ``RuntimeError`` if
    it is not installed (``pip install "jsonvisor[parallel]"``).  On asyncio, an
    ``anyio.to_process`` worker.
    """
    result: T
    if hub.name != "trio":
        result = await anyio.to_process.run_sync(fn, *args, cancellable=True)
        return result
    try:
        import trio_parallel
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError(
            'offload="process" on trio needs trio-parallel: pip install "jsonvisor[parallel]"'
        ) from exc
    result = await trio_parallel.run_sync(fn, *args, **_process_kwargs(trio_parallel.run_sync))
    return result


def check_process_offload(hub: Hub) -> None:
    """Raise ``RuntimeError`` now if ``offload="process"`` cannot work on this backend
    (trio without trio-parallel), rather than fail the first large message."""
    if hub.name != "trio":
        return
    try:
        import trio_parallel  # noqa: F401
    except ImportError as exc:
        raise RuntimeError(
            'offload="process" on trio needs trio-parallel: pip install "jsonvisor[parallel]" '
            '(or use offload="thread"; on asyncio, anyio.to_process needs nothing more)'
        ) from exc


def broken_worker_errors() -> tuple[type[BaseException], ...]:
    """The exception types that mean a worker process died: ``anyio.BrokenWorkerProcess``,
    and trio-parallel's ``BrokenWorkerError`` where it is installed."""
    try:
        import trio_parallel
    except ImportError:  # pragma: no cover - depends on the environment
        return (anyio.BrokenWorkerProcess,)
    return (trio_parallel.BrokenWorkerError, anyio.BrokenWorkerProcess)
