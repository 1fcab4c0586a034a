"""The root's record of one open message (:class:`Live`)."""

from __future__ import annotations

from collections.abc import Hashable

from ..hub import MessageRecord
from ..mailboxes import Chunk
from ._slot import Slot

__all__ = ["Live", "join_chunks"]


def join_chunks(chunks: list[Chunk]) -> Chunk:
    """One piece from several (bytes if any piece is bytes: text is UTF-8 encoded)."""
    if len(chunks) == 1:
        return chunks[0]
    cls = chunks[0].__class__
    for chunk in chunks:
        if chunk.__class__ is not cls:
            return b"".join(c if c.__class__ is bytes else c.encode() for c in chunks)  # type: ignore[union-attr]
    return "".join(chunks) if cls is str else b"".join(chunks)  # type: ignore[arg-type]


class Live(MessageRecord):
    """The root's record of one open message.

    ``jsonvisor.hub.MessageRecord`` holds its subscribers and its replay buffer:
    the input already sent to the worker, kept for a replay on a replacement worker (up
    to ``replay_bytes``: beyond, or without replay, ``retained`` is None and a lost worker
    fails the message).  Input still waiting in the slot's pending batch is not in it yet.

    ``queue`` is the message's list of chunks in ``owner``'s pending batch, or None when
    the next chunk must take the slow path (no list in the current batch yet, the message
    has ended, or it finished): ``Cluster.send`` appends to it directly.
    """

    __slots__ = ("ended", "owner", "queue", "replays", "slot")

    def __init__(self, msg_id: Hashable, owner: Slot, retain: bool) -> None:
        super().__init__(msg_id, retain=retain)
        self.owner = owner
        self.slot = owner.index
        self.queue: list[Chunk] | None = None
        self.ended = False
        self.replays = 0
