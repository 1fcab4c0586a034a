"""Stable sharding of message IDs over worker slots."""

from __future__ import annotations

import zlib
from collections.abc import Hashable

__all__ = ["shard", "stable_hash"]


def stable_hash(msg_id: Hashable) -> int:
    """A hash of ``msg_id`` that is the same in every process and every run.

    ``hash()`` is salted per process for ``str`` and ``bytes``; this is not.  Strings,
    bytes and integers hash by value; anything else by its ``repr`` (stable for tuples of
    those).
    """
    if isinstance(msg_id, str):
        data = msg_id.encode("utf-8", "surrogatepass")
    elif isinstance(msg_id, (bytes, bytearray)):
        data = bytes(msg_id)
    elif isinstance(msg_id, int):
        data = str(int(msg_id)).encode()
    else:
        data = repr(msg_id).encode("utf-8", "surrogatepass")
    return zlib.crc32(data)


def shard(msg_id: Hashable, slots: int) -> int:
    """The slot (0 .. slots-1) that message ``msg_id`` goes to."""
    return stable_hash(msg_id) % slots
