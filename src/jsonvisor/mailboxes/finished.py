"""A bounded memory of finished message IDs.

A chunk for a message that finished recently must become a dead letter, not open a new
message with the same ID.  Remembering every ID ever seen would grow without bound, so
:class:`FinishedIds` keeps the last ``remember`` to finish (the oldest forgotten first):
after any number of messages it holds at most ``remember`` IDs.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable

__all__ = ["FinishedIds"]


class FinishedIds:
    """The last ``remember`` finished message IDs (``remember=0``: none)."""

    __slots__ = ("_ids", "remember")

    def __init__(self, remember: int) -> None:
        self.remember = max(0, remember)
        self._ids: OrderedDict[Hashable, None] = OrderedDict()

    def __contains__(self, msg_id: Hashable) -> bool:
        return msg_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, msg_id: Hashable) -> None:
        """Remember that ``msg_id`` finished (as the most recent)."""
        if not self.remember:
            return
        ids = self._ids
        ids[msg_id] = None
        ids.move_to_end(msg_id)
        if len(ids) > self.remember:
            ids.popitem(last=False)

    def discard(self, msg_id: Hashable) -> bool:
        """Forget ``msg_id`` (it may be used again); True if it was remembered."""
        return self._ids.pop(msg_id, 0) is None
