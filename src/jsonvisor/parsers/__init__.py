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
"""

from .builder import ValueBuilder
from .errors import JsonStreamError
from .events import DocumentCompleted, Event, Path, StringGrew, ValueCompleted, ValueStarted
from .result import ParseResult, Repair, format_path
from .streaming import PurePythonParser, StreamingJsonParser

__all__ = [
    "DocumentCompleted",
    "Event",
    "JsonStreamError",
    "ParseResult",
    "Path",
    "PurePythonParser",
    "Repair",
    "StreamingJsonParser",
    "StringGrew",
    "ValueBuilder",
    "ValueCompleted",
    "ValueStarted",
    "format_path",
]
