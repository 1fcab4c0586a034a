"""Incremental JSON parsers benchmarked against jsonvisor, behind one small interface.

Each peer has ``stream(chunks)`` (feed every chunk and read the partial value after each one,
then end the input and return the final value) and ``whole(doc)`` (one feed, then the final
value).  A peer that only takes ``str`` is given ``bytes`` input through an incremental UTF-8
decoder (the decoding is part of its time), which is what a caller holding bytes would do.

- ``streaming-json-parser`` (with its Rust backend ``streaming-json-parser-native``):
  ``StreamingJsonParser()`` returns the native ``IncrementalJsonParser`` when the backend is
  installed; ``feed(chunk)`` returns a ``ParseResult`` whose ``.value`` is the partial value.
  It takes ``str`` and ``bytes``.
- ``jsonriver`` (Python port of the TypeScript library): ``parse(async_iterator_of_str)`` is an
  async generator yielding an increasingly complete value after each chunk that made progress.
  Its source never suspends here, so it is driven without an event loop (``_drive``).  ``str``
  only; numbers become ``float``.
- ``partial-json-stream``: ``JsonStreamParser(lenient=False)``, ``push(str)``,
  ``snapshot().value`` (a deep copy of the whole tree on every snapshot), ``end()``.
  ``str`` only.
"""

from __future__ import annotations

import codecs
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Any

Chunk = str | bytes


@dataclass
class Peer:
    name: str
    version: str
    takes_bytes: bool
    stream: Callable[[Sequence[Chunk]], Any]
    whole: Callable[[Chunk], Any]
    note: str = ""
    backend: str = ""


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:  # pragma: no cover
        return "?"


def _as_text(chunks: Sequence[Chunk]) -> Iterable[str]:
    """``str`` chunks as they are; ``bytes`` chunks through an incremental UTF-8 decoder."""
    if not chunks or isinstance(chunks[0], str):
        return chunks  # type: ignore[return-value]
    decode = codecs.getincrementaldecoder("utf-8")().decode
    return (decode(c) for c in chunks)  # type: ignore[arg-type]


# -- streaming-json-parser ------------------------------------------------------------------


def _sjp_peer() -> Peer | None:
    try:
        import streaming_json_parser as sjp
    except ImportError:
        return None
    try:
        import streaming_json_parser_native as native
    except ImportError:
        native = None
    probe = sjp.StreamingJsonParser()
    native_type = getattr(native, "IncrementalJsonParser", None)
    if native_type is not None and type(probe) is native_type:
        version = _version("streaming-json-parser-native")
        backend = f"native backend streaming-json-parser-native {version}"
    else:
        kind = f"{type(probe).__module__}.{type(probe).__qualname__}"
        backend = f"NOT NATIVE: Python fallback {kind}"
    new = sjp.StreamingJsonParser

    def stream(chunks: Sequence[Chunk]) -> Any:
        p = new()
        feed = p.feed
        for c in chunks:
            feed(c).value  # noqa: B018 - the partial value after the chunk
        return p.finish().value

    def whole(doc: Chunk) -> Any:
        p = new()
        p.feed(doc)
        return p.finish().value

    return Peer(
        "streaming-json-parser",
        _version("streaming-json-parser"),
        True,
        stream,
        whole,
        f"`StreamingJsonParser()` -> `{type(probe).__name__}` ({backend}); "
        "`feed(chunk).value` after each chunk, `finish().value`",
        backend,
    )


# -- jsonriver ------------------------------------------------------------------------------


async def _source(chunks: Iterable[str]) -> AsyncIterator[str]:
    for c in chunks:
        yield c


def _drive(agen: AsyncIterator[Any]) -> Any:
    """Run an async generator that never suspends to the end; return its last value."""
    value = None
    anext_ = agen.__anext__
    while True:
        step = anext_()
        try:
            step.send(None)
        except StopIteration as e:  # the generator yielded e.value
            value = e.value
        except StopAsyncIteration:
            return value
        else:  # pragma: no cover - the source never awaits anything
            step.close()
            raise RuntimeError("jsonriver suspended; it needs an event loop")


def _jsonriver_peer() -> Peer | None:
    try:
        import jsonriver
    except ImportError:  # jsonriver needs Python >= 3.11
        return None
    parse = jsonriver.parse

    def stream(chunks: Sequence[Chunk]) -> Any:
        return _drive(parse(_source(_as_text(chunks))))

    def whole(doc: Chunk) -> Any:
        text = doc.decode() if isinstance(doc, bytes) else doc
        return _drive(parse(_source((text,))))

    return Peer(
        "jsonriver",
        _version("jsonriver"),
        False,
        stream,
        whole,
        "`parse(async iterator of str)` driven without an event loop; each yielded value read",
    )


# -- partial-json-stream --------------------------------------------------------------------


def _pjs_peer() -> Peer | None:
    try:
        import partial_json_stream as pjs
    except ImportError:
        return None
    new = pjs.JsonStreamParser

    def stream(chunks: Sequence[Chunk]) -> Any:
        p = new(lenient=False)
        push = p.push
        snap = p.snapshot
        for c in _as_text(chunks):
            push(c)
            snap().value  # noqa: B018 - the partial value after the chunk
        p.end()
        return p.snapshot().value

    def whole(doc: Chunk) -> Any:
        p = new(lenient=False)
        p.push(doc.decode() if isinstance(doc, bytes) else doc)
        p.end()
        return p.snapshot().value

    return Peer(
        "partial-json-stream",
        _version("partial-json-stream"),
        False,
        stream,
        whole,
        "`JsonStreamParser(lenient=False)`, `push(str)`, `snapshot().value` (deep-copies the "
        "tree), `end()`",
    )


def load_peers() -> tuple[list[Peer], list[str]]:
    """The installed peers, and a line for each one that is not installed."""
    peers: list[Peer] = []
    missing: list[str] = []
    for name, make in (
        ("streaming-json-parser", _sjp_peer),
        ("jsonriver", _jsonriver_peer),
        ("partial-json-stream", _pjs_peer),
    ):
        peer = make()
        if peer is None:
            missing.append(f"{name}: not installed (`pip install -e '.[dev]'`), left out")
        else:
            peers.append(peer)
    return peers, missing


# -- final values compared with json.loads, types included -------------------------------------


def differences(
    got: Any, want: Any, limit: int = 100_000
) -> tuple[int, dict[str, tuple[int, str]]]:
    """Differences between ``got`` and ``want`` where types count (``1.0`` is not ``1``).

    Returns (count, {kind: (count, first path)}); ``kind`` is e.g. ``int -> float``.
    """
    kinds: dict[str, tuple[int, str]] = {}
    total = 0

    def note(kind: str, path: str) -> None:
        nonlocal total
        total += 1
        n, first = kinds.get(kind, (0, path))
        kinds[kind] = (n + 1, first)

    stack: list[tuple[Any, Any, str]] = [(got, want, "$")]
    while stack and total < limit:
        g, w, path = stack.pop()
        if type(g) is not type(w):
            note(f"{type(w).__name__} -> {type(g).__name__}", path)
        elif isinstance(w, dict):
            for k, wv in reversed(list(w.items())):
                if k in g:
                    stack.append((g[k], wv, f"{path}.{k}"))
                else:
                    note("missing key", f"{path}.{k}")
            for k in g:
                if k not in w:
                    note("extra key", f"{path}.{k}")
        elif isinstance(w, list):
            if len(g) != len(w):
                note(f"list length {len(w)} -> {len(g)}", path)
            for i in range(min(len(g), len(w)) - 1, -1, -1):
                stack.append((g[i], w[i], f"{path}[{i}]"))
        elif g != w and not (isinstance(w, float) and w != w and g != g):
            note(f"different {type(w).__name__}", path)
    return total, kinds


def describe_differences(got: Any, want: Any) -> str:
    """``""`` when equal (types included), else a short description."""
    total, kinds = differences(got, want)
    if not total:
        return ""
    parts = [f"{kind} x{n} (first at {first})" for kind, (n, first) in kinds.items()]
    return "; ".join(parts)
