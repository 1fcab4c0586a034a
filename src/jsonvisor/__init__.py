"""jsonvisor: streamed, incomplete JSON into live partial values, deltas and final values."""

from .parsers import (
    DocumentCompleted,
    JsonStreamError,
    ParseResult,
    Repair,
    StreamingJsonParser,
    StringGrew,
    ValueCompleted,
    ValueStarted,
)

__version__ = "0.1.0"

__all__ = [
    "DocumentCompleted",
    "JsonStreamError",
    "ParseResult",
    "Repair",
    "StreamingJsonParser",
    "StringGrew",
    "ValueCompleted",
    "ValueStarted",
    "__version__",
]
