"""The NDJSON records ``jsonvisor parse`` writes, and the writer.

The ``final`` record's keys are a stable interface (documented in docs/adapters.md): new keys
may be added, none is renamed or changes meaning.

Everything written is strict JSON (RFC 8259), which has no NaN and no infinities: a
``NaN``, ``Infinity`` or ``-Infinity`` (read with ``--lenient``, or a number too large for
a double such as ``1e999``) is written as ``null``, and the record gets a warning per
such value, with its path, in ``warnings``.
"""

from __future__ import annotations

import json
import math
from typing import IO, Any

from ..parsers import (
    DocumentCompleted,
    Event,
    ParseResult,
    StringGrew,
    ValueCompleted,
    ValueStarted,
    format_path,
)

__all__ = ["Writer", "document_record", "event_record", "finite", "result_record"]


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


def _non_finite(x: float) -> str:
    return "NaN" if math.isnan(x) else ("Infinity" if x > 0 else "-Infinity")


def finite(value: Any, path: list[str | int] | None = None, notes: list[str] | None = None) -> Any:
    """``value`` with every NaN and infinity replaced by ``None`` (containers copied only
    where something changed); ``notes`` gets one warning per replacement, naming its path
    (``path``: where ``value`` is in the document)."""
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        if notes is not None:
            where = format_path(tuple(path or ()))
            notes.append(f"{_non_finite(value)} at {where} is not valid JSON: written as null")
        return None
    if isinstance(value, (dict, list)):
        here = list(path or ())
        pairs = value.items() if isinstance(value, dict) else enumerate(value)
        out: list[tuple[Any, Any]] = []
        changed = False
        for k, v in pairs:
            here.append(k)
            new = finite(v, here, notes)
            here.pop()
            changed = changed or new is not v
            out.append((k, new))
        if not changed:
            return value
        return dict(out) if isinstance(value, dict) else [v for _, v in out]
    return value


def _finite_record(record: dict[str, Any]) -> dict[str, Any]:
    """``record`` with its value's NaN and infinities as null, and a warning for each."""
    out = dict(record)
    notes: list[str] = []
    if "value" in out:
        base = list(out["path"]) if isinstance(out.get("path"), list) else []
        out["value"] = finite(out["value"], base, notes)
    for key, v in out.items():  # (nothing else holds numbers from the input: a safety net)
        if key != "value":
            out[key] = finite(v)
    if notes:
        out["warnings"] = [*out.get("warnings", ()), *notes]
    return out


class Writer:
    """Writes records (one JSON per line, or indented with ``pretty``) and raw text, as UTF-8.

    The JSON is strict: NaN and infinities are written as ``null`` (see the module
    docstring)."""

    def __init__(self, stream: IO[bytes], *, pretty: bool = False) -> None:
        self.stream = stream
        self.indent = 2 if pretty else None

    def _encode(self, value: Any) -> str:
        """Strict JSON text (non-ASCII kept, unless it holds a lone surrogate); raises
        ``ValueError`` for a NaN or an infinity."""
        text = json.dumps(value, ensure_ascii=False, indent=self.indent, allow_nan=False)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = json.dumps(value, indent=self.indent, allow_nan=False)
        return text

    def dumps(self, value: Any) -> str:
        """``value`` as strict JSON text: NaN and infinities as ``null``."""
        try:
            return self._encode(value)
        except ValueError:
            return self._encode(finite(value))

    def record(self, record: dict[str, Any]) -> None:
        """Write one record and a newline (a NaN or infinity in its value: ``null``, and a
        warning in ``warnings``)."""
        try:
            text = self._encode(record)
        except ValueError:
            text = self._encode(_finite_record(record))
        self.stream.write((text + "\n").encode("utf-8"))

    def text(self, text: str) -> None:
        """Write raw text (``--follow``); a lone surrogate becomes U+FFFD."""
        self.stream.write(text.encode("utf-8", "replace"))

    def flush(self) -> None:
        """Push what was written to the reader."""
        self.stream.flush()
