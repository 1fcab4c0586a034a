"""jsonvisor: streamed, incomplete JSON into live partial values, deltas and final values.

- :mod:`jsonvisor.parsers`: the sans-IO incremental parser (``StreamingJsonParser``).
- :mod:`jsonvisor.supervisor`: the supervisor (``open_supervisor``), on trio or asyncio.
- ``jsonvisor.hub``: the message hub under the supervisor and the cluster (events,
  results, subscriptions, dead letters), their one ``Options`` and ``FrontEnd`` protocol.
- :mod:`jsonvisor.llm`: provider stream adapters (OpenAI, Anthropic, Gemini, SSE).
- :mod:`jsonvisor.streams`: one stream, one loop (``stream``, ``stream_sync``: an update
  after each chunk; asyncio, Trio or plain iteration; imported on first use).
- :mod:`jsonvisor.watch`: field watchers (``Watcher``: each value at ``$.items[*]``...
  exactly once as it completes); :mod:`jsonvisor.paths` their JSONPath subset.
- :mod:`jsonvisor.cluster`: parse workers as tractor actors (``open_cluster``; the
  ``actors`` extra, imported on first use).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .parsers import (
    DocumentCompleted,
    JsonStreamError,
    ParseResult,
    Repair,
    StreamingJsonParser,
    StringGrew,
    ValueBuilder,
    ValueCompleted,
    ValueStarted,
)
from .supervisor import Supervisor, open_supervisor
from .watch import Watched, WatchedText, WatchedValue, Watcher

if TYPE_CHECKING:
    from .parsers.schema import compile_schema
    from .streams import Stream, Streamer, SyncStream, Update, stream, stream_sync

# imported on first use (they bring in the provider adapters of jsonvisor.llm)
_STREAMS = frozenset({"Stream", "Streamer", "SyncStream", "Update", "stream", "stream_sync"})

__version__ = "0.1.0"

__all__ = [
    "DocumentCompleted",
    "JsonStreamError",
    "ParseResult",
    "Repair",
    "Stream",
    "Streamer",
    "StreamingJsonParser",
    "StringGrew",
    "Supervisor",
    "SyncStream",
    "Update",
    "ValueBuilder",
    "ValueCompleted",
    "ValueStarted",
    "Watched",
    "WatchedText",
    "WatchedValue",
    "Watcher",
    "__version__",
    "compile_schema",
    "open_cluster",
    "open_supervisor",
    "stream",
    "stream_sync",
]


def __getattr__(name: str) -> Any:
    # open_cluster needs tractor (the ``actors`` extra): import it only when asked for.
    if name == "open_cluster":
        from .cluster import open_cluster

        return open_cluster
    if name == "compile_schema":  # the schema module too is imported on first use
        from .parsers.schema import compile_schema

        return compile_schema
    if name in _STREAMS:
        from . import streams

        value = getattr(streams, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'jsonvisor' has no attribute {name!r}")
