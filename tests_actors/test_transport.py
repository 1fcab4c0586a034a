"""tractor's frame reader, as patched by jsonvisor: a frame cut by a killed peer closes
the transport instead of raising out of tractor's connection handler."""

from __future__ import annotations

import struct

import pytest
import trio

from jsonvisor.cluster._tractor import import_tractor

import_tractor()  # applies the patch

from tractor._exceptions import TransportClosed  # noqa: E402
from tractor._ipc import MsgpackTCPStream  # noqa: E402


async def _reader_of(data: bytes) -> MsgpackTCPStream:
    """A tractor transport reading ``data`` from a peer that then goes away."""
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listeners[0].socket.getsockname()[1]
    client = await trio.open_tcp_stream("127.0.0.1", port)
    server = await listeners[0].accept()
    await listeners[0].aclose()
    await client.send_all(data)
    await client.aclose()
    return MsgpackTCPStream(server)


def _frame(obj: object) -> bytes:
    import msgspec

    body = msgspec.msgpack.encode(obj)
    return struct.pack("<I", len(body)) + body


@pytest.mark.parametrize("cut", [2, 4 + 3])  # in the header, in the body
async def test_a_cut_frame_closes_the_transport(cut):
    whole = _frame({"cid": "1", "yield": b"x" * 100})
    reader = await _reader_of(_frame({"cid": "0"}) + whole[:cut])
    assert await reader.recv() == {"cid": "0"}
    with pytest.raises(TransportClosed):
        await reader.recv()
    # tractor drains a closed channel before forgetting it: that must end cleanly too.
    assert [msg async for msg in reader.drain()] == []


async def test_whole_frames_are_read():
    frames = [{"cid": str(i), "yield": b"y" * i} for i in range(5)]
    reader = await _reader_of(b"".join(_frame(f) for f in frames))
    assert [await reader.recv() for _ in frames] == frames
    with pytest.raises(TransportClosed):
        await reader.recv()
