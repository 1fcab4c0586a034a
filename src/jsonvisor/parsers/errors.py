"""The one exception type the parser raises for bad input."""

from __future__ import annotations

__all__ = ["JsonStreamError"]


class JsonStreamError(ValueError):
    """Malformed, oversized or otherwise unacceptable JSON input.

    Attributes:
        reason: what is wrong, in a few words.
        expected: what the parser expected at that point (may be empty).
        found: what it found instead (a quoted character, ``"end of input"``...).
        offset: byte offset of the problem in the UTF-8 stream, counted from 0.
        line: line number, counted from 1.
        column: column (characters since the last newline), counted from 1.
        excerpt: a short piece of input around the problem.
        truncated: True when the input was merely cut off (more input could have fixed it).
        limit: the name of the limit that was exceeded (``"max_bytes"``...), or None.
    """

    def __init__(
        self,
        reason: str,
        *,
        expected: str = "",
        found: str = "",
        offset: int = 0,
        line: int = 1,
        column: int = 1,
        excerpt: str = "",
        truncated: bool = False,
        limit: str | None = None,
    ) -> None:
        self.reason = reason
        self.expected = expected
        self.found = found
        self.offset = offset
        self.line = line
        self.column = column
        self.excerpt = excerpt
        self.truncated = truncated
        self.limit = limit
        super().__init__(self._message())

    def _message(self) -> str:
        parts = [self.reason]
        if self.expected:
            parts.append(f"expected {self.expected}")
        if self.found:
            parts.append(f"found {self.found}")
        where = f"at byte {self.offset} (line {self.line}, column {self.column})"
        text = ": ".join(parts[:1]) + ("; " + ", ".join(parts[1:]) if parts[1:] else "")
        text = f"{text} {where}"
        if self.excerpt:
            text += f": {self.excerpt!r}"
        return text

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword-only arguments: rebuild through a helper so the error pickles (offload).
        return (_rebuild, (self.reason, self.__dict__.copy()))


def _rebuild(reason: str, state: dict[str, object]) -> JsonStreamError:
    err = JsonStreamError.__new__(JsonStreamError)
    err.__dict__.update(state)
    ValueError.__init__(err, err._message())
    return err
