"""The NDJSON records ``jsonvisor parse`` writes, and the writer.

The ``final`` record's keys are a stable interface (documented in the README): new keys
may be added, none is renamed or changes meaning.
"""

from __future__ import annotations

import json
from typing import IO, Any

from ..parsers import (
    DocumentCompleted,
    Event,
    ParseResult,
    StringGrew,
    ValueCompleted,
    ValueStarted,
)

__all__ = ["Writer", "document_record", "event_record", "result_record"]


def event_record(msg_id: str, ev: Event) -> dict[str, Any]:
    """One parser event as a JSON-ready dict (one NDJSON line of ``parse --emit events``)."""
    if isinstance(ev, StringGrew):
        return {"msg": msg_id, "type": "string_grew", "path": list(ev.path), "text": ev.text}
    if isinstance(ev, ValueStarted):
        return {"msg": msg_id, "type": "value_started", "path": list(ev.path), "kind": ev.kind}
    if isinstance(ev, ValueCompleted):
        return {"msg": msg_id, "type": "value_completed", "path": list(ev.path), "value": ev.value}
    assert isinstance(ev, DocumentCompleted)
    return {"msg": msg_id, "type": "document_completed", "index": ev.index, "value": ev.value}


def document_record(msg_id: str, index: int, value: Any) -> dict[str, Any]:
    """One complete document of a multi-value input (NDJSON)."""
    return {"msg": msg_id, "type": "document", "index": index, "value": value}


def result_record(
    msg_id: str,
    result: ParseResult,
    *,
    kind: str = "json",
    finish_reason: str | None = None,
) -> dict[str, Any]:
    """A ``final`` record for a parsed value (``kind`` ``"json"``: raw input)."""
    out: dict[str, Any] = {
        "msg": msg_id,
        "type": "final",
        "kind": kind,
        "finish_reason": finish_reason,
        "complete": result.complete,
        "confidence": result.confidence,
        "repairs": [str(r) for r in result.repairs],
        "value": result.value,
    }
    if result.warnings:
        out["warnings"] = [getattr(w, "message", str(w)) for w in result.warnings]
    return out


class Writer:
    """Writes records (one JSON per line, or indented with ``pretty``) and raw text, as UTF-8."""

    def __init__(self, stream: IO[bytes], *, pretty: bool = False) -> None:
        self.stream = stream
        self.indent = 2 if pretty else None

    def dumps(self, value: Any) -> str:
        """``value`` as JSON text (non-ASCII kept, unless it holds a lone surrogate)."""
        text = json.dumps(value, ensure_ascii=False, indent=self.indent)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = json.dumps(value, indent=self.indent)
        return text

    def record(self, record: dict[str, Any]) -> None:
        """Write one record and a newline."""
        self.stream.write((self.dumps(record) + "\n").encode("utf-8"))

    def text(self, text: str) -> None:
        """Write raw text (``--follow``); a lone surrogate becomes U+FFFD."""
        self.stream.write(text.encode("utf-8", "replace"))

    def flush(self) -> None:
        """Push what was written to the reader."""
        self.stream.flush()
