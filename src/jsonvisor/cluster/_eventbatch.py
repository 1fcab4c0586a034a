"""A worker's events in columns: cheap to pickle in the worker, cheap to rebuild in the root.

Pickling a ``MessageEvent(msg_id, StringGrew(path, text))`` goes through the pickle
protocol's reduce machinery twice (a named tuple and an event): a few microseconds per
event, more than parsing costs per event.  So a worker sends the parser events of its
batch as columns of plain data instead, and the root rebuilds the events in C
(``_speedups.make_events``) and the ``MessageEvent`` tuples with C-level ``map`` calls:

* ``kinds``: one byte per event, the parser event class (:data:`KINDS`);
* ``mids``: the message IDs;
* ``fields``: each parser event's fields as a plain tuple;
* ``others``: every other event (terminal events, ``Restarted``, a parser event of a
  class of a custom parser), as ``(position, event)``: it comes after the first
  ``position`` column events.

:class:`EventBatch` also *coalesces*: a ``StringGrew`` that directly follows another
``StringGrew`` of the same message and path (no event of that message in between) is
merged into it, its text appended.  A ``StringGrew`` carries only the new text, so the
merged event carries exactly the text of both, and rebuilding a value from the events
(``ValueBuilder``) gives the same result.  Events of one message keep their order;
events of different messages may interleave differently (the fan-in promises no order
across messages).
"""

from __future__ import annotations

from collections.abc import Hashable
from itertools import repeat
from typing import Any

from ..hub import MessageEvent, SupervisorEvent
from ..parsers import DocumentCompleted, Event, StringGrew, ValueCompleted, ValueStarted
from ..parsers._native import native

__all__ = ["KINDS", "EventBatch", "Packed", "message_events"]

KINDS: tuple[type, ...] = (ValueStarted, StringGrew, ValueCompleted, DocumentCompleted)
"""Parser event classes by their code in ``kinds``."""

_CODES = {cls: code for code, cls in enumerate(KINDS)}
_GREW = _CODES[StringGrew]
_new = tuple.__new__

Packed = tuple[bytes, list[Hashable], list[tuple[Any, ...]], list[tuple[int, SupervisorEvent]]]
"""``(kinds, mids, fields, others)``: see the module docstring."""


class EventBatch:
    """The events a worker gathers for its next batch to the root (see the module docstring)."""

    __slots__ = ("_last", "_texts", "fields", "kinds", "merged", "mids", "others")

    def __init__(self) -> None:
        self.kinds = bytearray()
        self.mids: list[Hashable] = []
        self.fields: list[tuple[Any, ...]] = []
        self.others: list[tuple[int, SupervisorEvent]] = []
        self.merged = 0  # StringGrew events folded into an earlier one
        self._last: dict[Hashable, int] = {}  # msg_id -> column of its latest event
        self._texts: dict[int, list[str]] = {}  # column -> texts of a merged StringGrew

    def __len__(self) -> int:
        return len(self.kinds) + len(self.others)

    def add(self, event: SupervisorEvent) -> None:
        """Append one supervisor event."""
        if event.__class__ is MessageEvent:
            msg_id, inner = event  # type: ignore[misc]
            code = _CODES.get(inner.__class__)
            if code is not None:
                kinds = self.kinds
                last = self._last
                if code == _GREW:
                    j = last.get(msg_id)
                    if j is not None and kinds[j] == _GREW and self.fields[j][0] == inner[0]:
                        texts = self._texts.get(j)
                        if texts is None:
                            self._texts[j] = [self.fields[j][1], inner[1]]
                        else:
                            texts.append(inner[1])
                        self.merged += 1
                        return
                last[msg_id] = len(kinds)
                kinds.append(code)
                self.mids.append(msg_id)
                self.fields.append(tuple(inner))
                return
        self._last.pop(getattr(event, "msg_id", None), None)
        self.others.append((len(self.kinds), event))

    def pack(self) -> Packed:
        """The batch as plain data for the wire (the batch is not used afterwards)."""
        fields = self.fields
        for j, texts in self._texts.items():
            fields[j] = (fields[j][0], "".join(texts))
        return bytes(self.kinds), self.mids, fields, self.others


def _make_events(kinds: bytes, fields: list[tuple[Any, ...]]) -> list[Event]:
    """The parser events of columns (pure Python; the C accelerator has its own)."""
    return [KINDS[k](*f) for k, f in zip(kinds, fields, strict=True)]


make_events = _make_events if native is None else native.make_events


def message_events(
    kinds: bytes, mids: list[Hashable], fields: list[tuple[Any, ...]]
) -> list[MessageEvent]:
    """Rebuild ``MessageEvent`` objects from columns (the root's side)."""
    inner = make_events(kinds, fields)
    return list(map(_new, repeat(MessageEvent), zip(mids, inner, strict=True)))


def unpack(packed: Packed) -> list[SupervisorEvent]:
    """Every event of a packed batch, in order (for tests and tools; the root rebuilds
    the runs between ``others`` itself)."""
    kinds, mids, fields, others = packed
    out: list[SupervisorEvent] = []
    start = 0
    for position, event in [*others, (len(kinds), None)]:
        out.extend(
            message_events(kinds[start:position], mids[start:position], fields[start:position])
        )
        if event is not None:
            out.append(event)
        start = position
    return out
