"""Reading ``parse``'s input: the file or stdin, progress, and the format guess."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from ..llm import detect_format
from .options import stderr_line
from .problems import INPUT_ERROR, USAGE_ERROR, Problem

__all__ = ["Input", "sniff_format"]

_READ_SIZE = 65536
_SNIFF = 4096  # enough to tell a provider stream by its first event
_SNIFF_LINE = 1 << 20  # how far to look for the end of the first NDJSON line
_NDJSON_SUFFIXES = (".ndjson", ".jsonl", ".jsonlines", ".ldjson")
_WS = b"\xef\xbb\xbf \t\r\n"
_VALUE_START = b'{["-0123456789tfn'


class Input:
    """The bytes to parse: a file or stdin, read in chunks, with optional progress."""

    def __init__(self, file: str, progress: bool | None) -> None:
        self.name = "stdin" if file == "-" else Path(file).name
        self.suffix = "" if file == "-" else Path(file).suffix.lower()
        self.total: int | None = None
        if file == "-":
            self.stream: IO[bytes] = sys.stdin.buffer
            if sys.stdin.isatty():
                stderr_line("reading stdin from the terminal (end it with Ctrl-D), or name a file")
        else:
            try:
                self.stream = open(file, "rb")
            except OSError as exc:
                raise Problem(
                    f"cannot read {file}: {exc.strerror or exc}; check the file name",
                    USAGE_ERROR,
                ) from None
            size = os.fstat(self.stream.fileno()).st_size
            self.total = size or None
        self._progress = (
            progress if progress is not None else (self.total is not None and sys.stderr.isatty())
        )
        self.head = b""  # the first bytes, read to guess the format
        self._done = 0
        self._last = 0.0
        self._eof = False

    def close(self) -> None:
        """Close the file (never stdin)."""
        if self.stream is not sys.stdin.buffer:
            self.stream.close()

    def _read(self) -> bytes:
        if self._eof:
            return b""
        try:
            read1 = getattr(self.stream, "read1", None)
            data = read1(_READ_SIZE) if read1 is not None else self.stream.read(_READ_SIZE)
        except OSError as exc:
            raise Problem(f"{self.name}: read failed: {exc.strerror or exc}", INPUT_ERROR) from None
        self._eof = not data
        return data

    def read_more(self) -> bool:
        """Read one more piece into :attr:`head`; False at the end of the input."""
        data = self._read()
        self.head += data
        return bool(data)

    @property
    def regular_file(self) -> bool:
        """Whether the input is a file on disk (reading it more never waits)."""
        return self.total is not None

    def chunks(self) -> Iterator[bytes]:
        """The whole input: :attr:`head` first, then the rest, counting progress."""
        head, self.head = self.head, b""
        if head:
            yield head
            self.progress(len(head))
        while data := self._read():
            yield data
            self.progress(len(data))
        self.progress(0, final=True)

    def progress(self, n: int, final: bool = False) -> None:
        """Count ``n`` more bytes; show the count on stderr at most 4 times a second."""
        self._done += n
        now = time.monotonic()
        if not self._progress or (not final and now - self._last < 0.25):
            return
        self._last = now
        pct = f" ({100 * self._done / self.total:.0f}%)" if self.total else ""
        total = f" / {self.total / 1e6:.1f} MB" if self.total else ""
        stderr_line(f"read {self._done / 1e6:.1f} MB{total}{pct}")


def _ndjson(head: bytes, eof: bool, is_value: Callable[[bytes], bool]) -> bool | None:
    """Whether ``head`` starts with a line holding one whole value (``is_value``) and another
    value on a later line; None when more bytes are needed to tell."""
    text = head.lstrip(_WS)
    end = text.find(b"\n")
    if end < 0:
        return False if eof else None
    if not is_value(text[:end]):
        return False
    rest = text[end + 1 :].lstrip(_WS)
    if not rest:
        return False if eof else None
    return rest[:1] in _VALUE_START


def _decide(
    inp: Input, requested: str, is_value: Callable[[bytes], bool] | None, eof: bool
) -> tuple[str, str | None] | None:
    """The format and what the first bytes look like, or None to read more first."""
    head = inp.head
    if not head.lstrip(_WS):
        if not eof:
            return None
        raise Problem(
            f"{inp.name}: the input is empty; pipe JSON, NDJSON or a provider's "
            "event stream into jsonvisor parse, or name a file"
        )
    detected = detect_format(head[:_SNIFF])
    if requested != "auto":
        return requested, detected
    if inp.suffix in _NDJSON_SUFFIXES:
        return "ndjson", detected
    if detected is None:  # prose or garbage (the parser says where), or too little yet
        return ("json", None) if eof or len(head) >= _SNIFF else None
    if detected != "json" or is_value is None:
        return detected, detected  # strict JSON: RawRun switches to NDJSON at a second line
    nd = _ndjson(head, eof, is_value)
    if nd is None:
        first_line_read = b"\n" in head.lstrip(_WS)
        if (first_line_read or inp.regular_file) and len(head) < _SNIFF_LINE:
            return None
        nd = False
    return ("ndjson" if nd else "json"), detected


def sniff_format(
    inp: Input, requested: str, is_value: Callable[[bytes], bool] | None = None
) -> tuple[str, str | None]:
    """The format to parse ``inp`` as, and what its first bytes look like.

    ``requested`` is ``--format``; ``auto`` looks at the file name (``.ndjson``,
    ``.jsonl``) and the first bytes, reading no more than it needs.  With ``is_value``
    (whether a line is one whole value), JSON whose first line is a whole value followed
    by another value is NDJSON; without, the caller finds out.  Raises :class:`Problem`
    for empty input.
    """
    eof = False
    while True:
        eof = eof or not inp.read_more()
        decision = _decide(inp, requested, is_value, eof)
        if decision is not None:
            return decision
