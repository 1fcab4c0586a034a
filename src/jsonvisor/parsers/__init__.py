"""Sans-IO incremental JSON parsing: no Trio, no threads, no I/O.

>>> p = StreamingJsonParser()
>>> _ = p.feed('{"title": "Hel')
>>> p.snapshot()
{'title': 'Hel'}
>>> _ = p.feed('lo", "n": 4')
>>> p.snapshot()
{'title': 'Hello'}
>>> p.finish().value
{'title': 'Hello', 'n': 4}

``compile_schema`` (from :mod:`jsonvisor.parsers.schema`, imported on first use) compiles a
schema once for any number of ``StreamingJsonParser(schema=...)``.
"""

from typing import TYPE_CHECKING, Any

from .builder import ValueBuilder
from .errors import JsonStreamError
from .events import DocumentCompleted, Event, Path, StringGrew, ValueCompleted, ValueStarted
from .options import ParserOptions, Tolerances
from .result import ParseResult, Repair, format_path
from .streaming import PurePythonParser, StreamingJsonParser

if TYPE_CHECKING:
    from .schema import CompiledSchema, compile_schema

__all__ = [
    "CompiledSchema",
    "DocumentCompleted",
    "Event",
    "JsonStreamError",
    "ParseResult",
    "ParserOptions",
    "Path",
    "PurePythonParser",
    "Repair",
    "StreamingJsonParser",
    "StringGrew",
    "Tolerances",
    "ValueBuilder",
    "ValueCompleted",
    "ValueStarted",
    "compile_schema",
    "format_path",
]


def __getattr__(name: str) -> Any:
    # The schema module is imported only when asked for (parsers given a schema import it too).
    if name in ("CompiledSchema", "compile_schema"):
        from . import schema

        return getattr(schema, name)
    raise AttributeError(f"module 'jsonvisor.parsers' has no attribute {name!r}")
