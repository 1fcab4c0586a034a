"""jsonvisor: streamed, incomplete JSON into live partial values, deltas and final values.

- :mod:`jsonvisor.parsers`: the sans-IO incremental parser (``StreamingJsonParser``).
- :mod:`jsonvisor.supervisor`: the Trio supervisor (``open_supervisor``).
- :mod:`jsonvisor.llm`: provider stream adapters (OpenAI, Anthropic, Gemini, SSE).
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

if TYPE_CHECKING:
    from .parsers.schema import compile_schema

__version__ = "0.1.0"

__all__ = [
    "DocumentCompleted",
    "JsonStreamError",
    "ParseResult",
    "Repair",
    "StreamingJsonParser",
    "StringGrew",
    "Supervisor",
    "ValueBuilder",
    "ValueCompleted",
    "ValueStarted",
    "__version__",
    "compile_schema",
    "open_cluster",
    "open_supervisor",
]


def __getattr__(name: str) -> Any:
    # open_cluster needs tractor (the ``actors`` extra): import it only when asked for.
    if name == "open_cluster":
        from .cluster import open_cluster

        return open_cluster
    if name == "compile_schema":  # the schema module too is imported on first use
        from .parsers.schema import compile_schema

        return compile_schema
    raise AttributeError(f"module 'jsonvisor' has no attribute {name!r}")
