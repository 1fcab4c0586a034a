"""What :meth:`StreamingJsonParser.finish` returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .events import Event, Path

__all__ = ["ParseResult", "Repair", "format_path"]


def format_path(path: Path) -> str:
    """Render a path as a JSONPath-like string: ``$.results[3]["a b"]``."""
    out = ["$"]
    for part in path:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif part.isidentifier():
            out.append(f".{part}")
        else:
            out.append(f"[{part!r}]".replace("'", '"') if '"' not in part else f"[{part!r}]")
    return "".join(out)


@dataclass(frozen=True)
class Repair:
    """One thing :meth:`finish` did to turn truncated input into a value.

    ``kind`` is one of ``"closed_string"``, ``"closed_array"``, ``"closed_object"``,
    ``"dropped_comma"`` (these four: ``confidence="medium"``), ``"dropped_key"``,
    ``"dropped_value"``, ``"dropped_escape"``, ``"dropped_bytes"`` (``bytes`` input that
    ends inside a UTF-8 character), ``"kept_number"`` (a number cut off by the end of
    input, kept though it may have had more digits), ``"completed_literal"`` (LLM mode),
    ``"no_value"`` (these: ``"low"``) or ``"stripped_fence"`` (not counted);
    ``path`` is where it happened; ``detail`` says it in words.
    """

    kind: str
    path: Path
    detail: str

    def __str__(self) -> str:
        return f"{self.detail} at {format_path(self.path)}"


@dataclass(frozen=True)
class ParseResult:
    """The end of a stream.

    ``value`` is the complete value, or for truncated input the partial value closed off.
    ``complete`` is True when the input held a whole value and nothing was repaired.
    ``confidence`` is ``"high"`` (nothing repaired), ``"medium"`` (only strings and
    containers closed) or ``"low"`` (something dropped, or no value at all).
    ``events`` are the events the end of input caused (a number completed by it, strings
    and containers closed).  With a schema, ``warnings`` lists type problems, coercions
    and unknown keys, and ``model`` is the validated instance (``validate=True``).
    A ``stripped_fence`` repair does not count against ``complete`` or ``confidence``.
    """

    value: Any
    complete: bool
    repairs: tuple[Repair, ...] = field(default=())
    confidence: str = "high"
    events: tuple[Event, ...] = field(default=(), repr=False)
    warnings: tuple[Any, ...] = ()
    model: Any = None

    @classmethod
    def _complete(cls, value: Any) -> ParseResult:
        """``ParseResult(value, True)`` built in a fraction of the dataclass's time (a
        parser that took a whole value returns one per message)."""
        self = object.__new__(cls)
        self.__dict__.update(
            value=value, complete=True, repairs=(), confidence="high", events=(),
            warnings=(), model=None,
        )  # fmt: skip
        return self
