"""What went wrong, in one line: the problem and the fix."""

from __future__ import annotations

from ..parsers import JsonStreamError

__all__ = [
    "INPUT_ERROR",
    "USAGE_ERROR",
    "Problem",
    "describe_error",
    "error_record",
    "format_fix",
]

INPUT_ERROR = 1
USAGE_ERROR = 2

_LIMIT_FIX = {
    "max_bytes": "raise --max-bytes (e.g. --max-bytes 100MB)",
    "max_depth": "raise --max-depth",
    "max_number_length": "raise --max-number-length",
}
_ONE_VALUE = "multiple_values=False allows one top-level value"


class Problem(Exception):
    """A failure the command reports as one line on stderr and exit status ``code``."""

    def __init__(self, message: str, code: int = INPUT_ERROR) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def format_fix(detected: str | None, fmt: str) -> str | None:
    """The fix when the first bytes look like another format than ``fmt``."""
    if detected and detected not in ("json", fmt):
        return f"the input looks like {detected}: use --format {detected}, or --format auto"
    return None


def _where(err: JsonStreamError) -> str:
    text = f"at byte {err.offset} (line {err.line}, column {err.column})"
    return f"{text}: {err.excerpt!r}" if err.excerpt else text


def _message(err: JsonStreamError) -> str:
    """The parser's message in command-line words (no Python keyword arguments)."""
    expected = err.expected.replace(f" ({_ONE_VALUE})", "").replace(_ONE_VALUE, "one value")
    parts = [f"expected {expected}"] if expected else []
    if err.found:
        parts.append(f"found {err.found}")
    details = f"; {', '.join(parts)}" if parts else ""
    return f"{err.reason}{details} {_where(err)}"


def _starts_with_prose(err: JsonStreamError, documents: int) -> bool:
    """A word or a backtick where the first value should start (only blanks before it).

    ``found`` shows a printable character quoted, others by code point (``U+FEFF``)."""
    if err.found[:1] not in ("'", '"'):
        return False
    found = err.found.strip("'\"")
    # (the excerpt starts at the input's start when the error is in its first 20 characters)
    at_start = err.offset <= 20 and not err.excerpt[: err.offset].strip()
    return (
        documents == 0
        and at_start
        and err.expected == "a value"
        and (found[:1].isalpha() or found == "`")
    )


def _fix(
    err: JsonStreamError, *, lenient: bool, documents: int, detected: str | None, fmt: str
) -> str:
    """How to get past ``err``."""
    if err.limit in _LIMIT_FIX:
        return _LIMIT_FIX[err.limit]
    if err.offset == 0 and (fix := format_fix(detected, fmt)):
        return fix
    if _ONE_VALUE in err.expected:
        return "use --multiple for several values, or --format ndjson for one value per line"
    if err.offset == 0 and err.found == "U+FEFF":
        return "the input starts with a byte-order mark (U+FEFF): remove it"
    if not lenient and _starts_with_prose(err, documents):
        return "the input starts with prose: use --lenient to find the JSON in it"
    if err.reason == "invalid UTF-8":
        return "the input must be UTF-8 text"
    if not lenient:
        return "fix the input, or use --lenient if it is an LLM's loose JSON"
    return "fix the input"


def describe_error(
    err: JsonStreamError,
    *,
    lenient: bool,
    documents: int = 0,
    detected: str | None = None,
    fmt: str = "json",
) -> str:
    """One line for a parse error: what, where, and the fix."""
    fix = _fix(err, lenient=lenient, documents=documents, detected=detected, fmt=fmt)
    return f"{_message(err)}; {fix}"


def error_record(err: JsonStreamError) -> dict[str, object]:
    """The ``error`` member of a record: message and position."""
    return {
        "message": _message(err),
        "offset": err.offset,
        "line": err.line,
        "column": err.column,
    }
