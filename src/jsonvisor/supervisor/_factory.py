"""What the supervisor needs from a parser, and ``open_supervisor(parser=...)`` made into
a factory of them (checked at open: a wrong one is a configuration error)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Hashable, Mapping
from typing import Any, Protocol

from ..mailboxes import Chunk
from ..parsers import Event, ParseResult, StreamingJsonParser
from ._errors import ParserFactoryError

__all__ = [
    "PARSER_METHODS",
    "Parser",
    "ParserFactory",
    "ParserSpec",
    "as_factory",
    "default_parser",
    "describe",
    "missing_methods",
]

PARSER_METHODS = ("feed", "finish", "snapshot")


class Parser(Protocol):
    """What the supervisor needs from a parser (``StreamingJsonParser`` has it)."""

    def feed(self, chunk: Chunk) -> list[Event]:
        """Consume input; return the events it caused."""

    def finish(self) -> ParseResult:
        """End of input: the final result."""

    def snapshot(self) -> Any:
        """The partial value so far."""


ParserFactory = Callable[[Hashable], Parser]
"""Makes the parser of one message, given its ID (called again on every restart)."""

ParserSpec = ParserFactory | type | Mapping[str, Any] | None
"""What ``open_supervisor(parser=...)`` takes: a :data:`ParserFactory`, a parser class
(called with no arguments), a mapping of ``StreamingJsonParser`` options, or None
(``StreamingJsonParser()``)."""


def default_parser(msg_id: Hashable) -> StreamingJsonParser:
    return StreamingJsonParser()


def describe(obj: object) -> str:
    name = getattr(obj, "__qualname__", None) or type(obj).__qualname__
    return f"{getattr(obj, '__module__', '?')}.{name}"


def missing_methods(obj: object) -> list[str]:
    return [m for m in PARSER_METHODS if not callable(getattr(obj, m, None))]


def as_factory(parser: ParserSpec) -> ParserFactory:
    """``parser=`` as a factory, checked now: a wrong one is a configuration error.

    A class is called with no arguments, a mapping builds ``StreamingJsonParser(**it)``
    (one is built here, so wrong options fail at once), and a factory must accept the
    message ID as its one positional argument.
    """
    if parser is None:
        return default_parser
    if isinstance(parser, Mapping):
        options = dict(parser)
        try:
            StreamingJsonParser(**options)
        except (TypeError, ValueError) as exc:
            error = ParserFactoryError(f"the options {options!r} are not valid: {exc}")
            raise error from exc

        def from_options(msg_id: Hashable) -> StreamingJsonParser:
            return StreamingJsonParser(**options)

        return from_options
    if isinstance(parser, type):
        missing = missing_methods(parser)
        if missing:
            raise ParserFactoryError(
                f"the class {describe(parser)} has no {'/'.join(missing)} method"
            )
        cls = parser

        def from_class(msg_id: Hashable) -> Parser:
            return cls()  # type: ignore[no-any-return]

        return from_class
    if not callable(parser):
        raise ParserFactoryError(f"{parser!r} is not callable")
    try:
        signature = inspect.signature(parser)
    except (TypeError, ValueError):  # a builtin without a signature: trust it
        return parser
    try:
        signature.bind(object())
    except TypeError as exc:
        raise ParserFactoryError(
            f"the factory {describe(parser)}{signature} cannot be called with the "
            f"message ID ({exc})"
        ) from None
    return parser
