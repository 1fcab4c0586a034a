"""Trio glue: read a byte stream (or SDK chunks) through an adapter, into a supervisor."""

from __future__ import annotations

import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from typing import Any, Protocol

import trio

from ..mailboxes.pacing import Pacer, current_pacer
from .base import Adapter
from .items import Delta, Item, MessageEnd, StreamError

__all__ = ["Supervisor", "aiter_items", "drive"]

#: What :func:`drive` and :func:`aiter_items` read from.
Source = trio.abc.ReceiveStream | AsyncIterable[Any] | Iterable[Any]


class Supervisor(Protocol):
    """What :func:`drive` needs: ``send(msg_id, chunk)`` and ``end(msg_id)`` coroutines."""

    async def send(self, msg_id: str, chunk: str) -> Any:
        """Route the next chunk of ``msg_id``'s text."""

    async def end(self, msg_id: str) -> Any:
        """Tell that ``msg_id`` has no more text."""

    # Optional, used by :func:`drive` when present (jsonvisor's supervisor has it):
    # ``send_nowait(msg_id, chunk)``, which routes the chunk at once or raises
    # ``trio.WouldBlock`` (then ``send`` waits for room).


#: The longest :func:`drive` goes on reading an async iterable without a schedule point.
SCHEDULE_INTERVAL = 0.005

_now = time.perf_counter


class _Reader:
    """One ``next()`` over a ReceiveStream, an async iterable or a plain iterable.

    Each chunk it returns comes with a turn of the loop's :class:`Pacer`: once the
    scheduler round's budget of work is spent (a thousand streams each handing over a
    piece in the same batch), it waits in the pacer's line before returning the chunk.
    """

    def __init__(self, source: Source, receive_size: int, pacer: Pacer) -> None:
        self._size = receive_size
        self._pacer = pacer
        self._stream: trio.abc.ReceiveStream | None = None
        self._aiter: AsyncIterator[Any] | None = None
        self._iter: Iterator[Any] = iter(())
        self._scheduled = 0.0  # when an async iterable last went through the scheduler
        if isinstance(source, trio.abc.ReceiveStream):
            self._stream = source
        elif hasattr(source, "__aiter__"):
            self._aiter = aiter(source)  # type: ignore[arg-type]
        elif isinstance(source, (bytes, bytearray, memoryview, str)):
            self._iter = iter([source])
        else:
            self._iter = iter(source)  # type: ignore[arg-type]

    async def next(self) -> Any | None:
        """The next chunk, or ``None`` at the end."""
        pacer = self._pacer
        if self._stream is not None:
            data = await self._stream.receive_some(self._size)
            if not data:
                return None
            if not pacer.ready():
                await pacer.wait_turn()
            return data
        if self._aiter is not None:
            # an async iterator need not yield (an SDK's stream of buffered chunks): be a
            # cancellation point each time and a schedule point every few milliseconds
            now = trio.current_time()
            if now - self._scheduled >= SCHEDULE_INTERVAL:
                await trio.lowlevel.checkpoint()
                self._scheduled = now
            else:
                await trio.lowlevel.checkpoint_if_cancelled()
            try:
                chunk = await self._aiter.__anext__()
            except StopAsyncIteration:
                return None
            if not pacer.ready():
                await pacer.wait_turn()
            return chunk
        await pacer.checkpoint()  # (a turn too: it waits in line once the round is spent)
        return next(self._iter, None)


async def aiter_items(
    adapter: Adapter, source: Source, *, receive_size: int = 65536
) -> AsyncIterator[Item]:
    """Yield the adapter's items for everything ``source`` gives, then its ``close()`` items.

    ``source`` is a ``trio.abc.ReceiveStream`` (read ``receive_size`` bytes at a time), an
    async iterable (for example an SDK's stream of chunks, or ``httpx``'s
    ``aiter_bytes()``) or a plain iterable of chunks.
    """
    pacer = current_pacer()
    reader = _Reader(source, receive_size, pacer)
    while (chunk := await reader.next()) is not None:
        started = _now()
        items = adapter.feed(chunk)
        pacer.add_since(started)
        for item in items:
            yield item
    for item in adapter.close():
        yield item


async def drive(
    adapter: Adapter,
    source: Source,
    supervisor: Supervisor,
    *,
    on_item: Callable[[Item], None] | None = None,
    receive_size: int = 65536,
) -> list[StreamError]:
    """Pump ``source`` through ``adapter`` into ``supervisor``; return the errors seen.

    Each run of consecutive ``Delta`` items of one message from one read of ``source``
    becomes one ``supervisor.send_nowait(msg_id, text)`` of their joined text (the parser's
    outcome is the same for every chunking; ``on_item`` still sees each delta) when the
    supervisor has it (jsonvisor's does; ``await supervisor.send(...)`` when its mailbox is
    full), else ``await supervisor.send(msg_id, text)``; every read of ``source`` is a
    checkpoint (an async iterable's at least every :data:`SCHEDULE_INTERVAL`).  A message's
    ``MessageEnd`` or ``StreamError`` becomes ``await supervisor.end(msg_id)`` (only for
    messages that were sent text: the parser's finish marks truncation).  ``on_item`` sees
    every item first.  A malformed provider event is a ``StreamError`` like any other (the
    adapter never raises for what the provider sent).  If reading ``source`` raises (or it
    gives what is no chunk at all, which the adapter refuses with ``TypeError``), the open
    messages are ended as truncated before the exception propagates, so no parser waits
    forever.
    """
    sent: set[str] = set()
    errors: list[StreamError] = []
    send_nowait = getattr(supervisor, "send_nowait", None)
    # Each piece read is a turn of the loop's pacer: its work (the adapter's decoding and
    # the hand-over to the supervisor, not the waits in send/end) is reported to it.
    pacer = current_pacer()
    started = _now()

    async def handle(items: list[Item]) -> None:
        nonlocal started
        n = len(items)
        i = 0
        while i < n:
            item = items[i]
            i += 1
            if on_item is not None:
                on_item(item)
            if isinstance(item, Delta):
                msg_id, text = item.msg_id, item.text
                # A run of one message's deltas from this read goes as one chunk: the
                # parser's outcome is the same for every chunking, and one send per run
                # instead of per delta is most of the hand-over's cost.
                if i < n and items[i].__class__ is Delta and items[i].msg_id == msg_id:
                    texts = [text]
                    while i < n and items[i].__class__ is Delta and items[i].msg_id == msg_id:
                        if on_item is not None:
                            on_item(items[i])
                        texts.append(items[i].text)
                        i += 1
                    text = "".join(texts)
                sent.add(msg_id)
                if send_nowait is not None:
                    try:
                        send_nowait(msg_id, text)
                        continue
                    except trio.WouldBlock:  # a full mailbox: wait for room
                        pass
                pacer.add_since(started, 0)
                await supervisor.send(msg_id, text)
                started = _now()
                continue
            if isinstance(item, StreamError):
                errors.append(item)
            if isinstance(item, (MessageEnd, StreamError)) and item.msg_id in sent:
                sent.discard(item.msg_id)
                pacer.add_since(started, 0)
                await supervisor.end(item.msg_id)
                started = _now()

    reader = _Reader(source, receive_size, pacer)
    while True:
        try:
            chunk = await reader.next()
            if chunk is None:
                break
            started = _now()
            items = adapter.feed(chunk)  # (raises only for what is no chunk at all)
        except Exception:
            started = _now()
            await handle(adapter.close())
            raise
        await handle(items)
        pacer.add_since(started)
    started = _now()
    await handle(adapter.close())
    pacer.add_since(started)
    return errors
