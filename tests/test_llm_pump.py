"""Trio glue (drive, aiter_items), format detection, adapter_for, recordings, plain input."""

from __future__ import annotations

import itertools
import json
import random
import time
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
import trio

from jsonvisor.llm import (
    FORMATS,
    Delta,
    MessageEnd,
    MessageStart,
    PlainAdapter,
    StreamError,
    adapter_for,
    aiter_items,
    detect_format,
    drive,
    load_recording,
    recording_names,
)
from llm_backends import sse_backend  # noqa: F401 -- the fixture pytestmark uses
from test_llm_adapters import EXPECTED, RECORDINGS, sdk_dicts

pytestmark = pytest.mark.usefixtures("sse_backend")


class FakeSupervisor:
    """Records ``send``/``end`` calls and checks no message is used after its end."""

    def __init__(self) -> None:
        self.text: dict[str, str] = {}
        self.ended: list[str] = []

    async def send(self, msg_id: str, chunk: str) -> None:
        assert msg_id not in self.ended
        await trio.lowlevel.checkpoint()
        self.text[msg_id] = self.text.get(msg_id, "") + chunk

    async def end(self, msg_id: str) -> None:
        assert msg_id in self.text and msg_id not in self.ended
        self.ended.append(msg_id)


class ChunkedStream(trio.abc.ReceiveStream):
    """A ReceiveStream over ``data`` that returns random-sized pieces, then maybe fails."""

    def __init__(self, data: bytes, seed: int, fail: Exception | None = None) -> None:
        self.data, self.rng, self.fail = data, random.Random(seed), fail

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        await trio.lowlevel.checkpoint()
        if not self.data and self.fail is not None:
            raise self.fail
        n = min(self.rng.randint(1, 300), max_bytes or 300)
        piece, self.data = self.data[:n], self.data[n:]
        return piece

    async def aclose(self) -> None:
        pass


@pytest.mark.parametrize("name", sorted(RECORDINGS))
async def test_drive_feeds_the_supervisor_every_message(name: str) -> None:
    sup = FakeSupervisor()
    seen: list[object] = []
    adapter = adapter_for(RECORDINGS[name])
    errors = await drive(adapter, ChunkedStream(load_recording(name), 1), sup, on_item=seen.append)
    assert errors == []
    want = EXPECTED[name]
    assert sup.text == {k: v["text"] for k, v in want.items()}
    assert sorted(sup.ended) == sorted(want)
    assert any(isinstance(i, MessageStart) for i in seen)
    for msg_id, value in want.items():
        if value["kind"] == "tool_call":
            assert json.loads(sup.text[msg_id]) == json.loads(value["text"])


async def test_drive_ends_open_messages_when_the_stream_is_cut() -> None:
    data = load_recording("openai_chat_parallel_tools")
    sup = FakeSupervisor()
    errors = await drive(adapter_for("openai-chat"), ChunkedStream(data[:20_000], 2), sup)
    assert sorted(sup.ended) == sorted(sup.text) and len(sup.text) == 3
    assert all(e.truncated for e in errors)
    assert [e.msg_id for e in errors][-1] is None


async def test_drive_ends_open_messages_then_reraises_a_source_error() -> None:
    data = load_recording("anthropic_tool_use")[:6000]
    sup = FakeSupervisor()
    boom = trio.BrokenResourceError("connection reset")
    with pytest.raises(trio.BrokenResourceError):
        await drive(adapter_for("anthropic"), ChunkedStream(data, 3, fail=boom), sup)
    assert sup.ended and sorted(sup.ended) == sorted(sup.text)


async def test_drive_takes_an_async_iterator_of_sdk_chunks() -> None:
    chunks = sdk_dicts(load_recording("openai_responses_function_call"))

    async def sdk_stream() -> AsyncIterator[dict[str, object]]:
        for chunk in chunks:
            await trio.lowlevel.checkpoint()
            yield chunk

    sup = FakeSupervisor()
    assert await drive(adapter_for("openai-responses"), sdk_stream(), sup) == []
    want = EXPECTED["openai_responses_function_call"]
    assert sup.text == {k: v["text"] for k, v in want.items()}


class NowaitSupervisor(FakeSupervisor):
    """Has ``send_nowait``, which refuses every third chunk as a full mailbox would."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = {"nowait": 0, "refused": 0, "send": 0}

    def send_nowait(self, msg_id: str, chunk: str) -> None:
        self.calls["nowait"] += 1
        if self.calls["nowait"] % 3 == 0:
            self.calls["refused"] += 1
            raise trio.WouldBlock
        assert msg_id not in self.ended
        self.text[msg_id] = self.text.get(msg_id, "") + chunk

    async def send(self, msg_id: str, chunk: str) -> None:
        self.calls["send"] += 1
        await super().send(msg_id, chunk)


@pytest.mark.parametrize("name", sorted(RECORDINGS))
async def test_drive_uses_send_nowait_and_waits_only_when_refused(name: str) -> None:
    sup = NowaitSupervisor()
    errors = await drive(adapter_for(RECORDINGS[name]), ChunkedStream(load_recording(name), 4), sup)
    assert errors == []
    want = EXPECTED[name]
    assert sup.text == {k: v["text"] for k, v in want.items()}  # in order, nothing lost
    assert sorted(sup.ended) == sorted(want)
    assert sup.calls["send"] == sup.calls["refused"] > 0


class CountingSupervisor(FakeSupervisor):
    def __init__(self) -> None:
        super().__init__()
        self.sends = 0

    def send_nowait(self, msg_id: str, chunk: str) -> None:
        self.sends += 1
        self.text[msg_id] = self.text.get(msg_id, "") + chunk


@pytest.mark.parametrize("name", sorted(RECORDINGS))
async def test_drive_sends_a_run_of_one_messages_deltas_as_one_chunk(name: str) -> None:
    # Deltas of one message read together go as one chunk (the parser's outcome is the
    # same for every chunking): far fewer sends, the same text in the same order, and
    # on_item still sees every delta.
    data = load_recording(name)
    pieces = [data[i : i + 4096] for i in range(0, len(data), 4096)]

    async def reads() -> AsyncIterator[bytes]:
        for piece in pieces:
            await trio.lowlevel.checkpoint()
            yield piece

    sup = CountingSupervisor()
    seen: list[object] = []
    adapter = adapter_for(RECORDINGS[name])
    assert await drive(adapter, reads(), sup, on_item=seen.append) == []
    deltas = [i for i in seen if isinstance(i, Delta)]
    assert sup.text == {k: v["text"] for k, v in EXPECTED[name].items()}
    assert sum(len(d.text) for d in deltas) == sum(map(len, sup.text.values()))
    # At most one send per message per read, plus one per switch between messages.
    switches = sum(a.msg_id != b.msg_id for a, b in itertools.pairwise(deltas))
    assert sup.sends <= min(len(deltas), len(pieces) + switches + len(sup.text))


async def test_drive_into_a_real_supervisor_with_tiny_mailboxes() -> None:
    from jsonvisor.supervisor import Completed, open_supervisor

    name = "openai_chat_parallel_tools"
    async with open_supervisor(mailbox_size=2) as sup:
        async with trio.open_nursery() as nursery:
            results: dict[str, object] = {}

            async def collect() -> None:
                async for event in sup.events():
                    if isinstance(event, Completed):
                        results[event.msg_id] = event.value

            nursery.start_soon(collect)
            data = load_recording(name)
            assert await drive(adapter_for("openai-chat"), ChunkedStream(data, 5), sup) == []
            with trio.fail_after(5):
                while len(results) < len(EXPECTED[name]):
                    await trio.sleep(0.001)
            nursery.cancel_scope.cancel()
    assert results == {k: json.loads(v["text"]) for k, v in EXPECTED[name].items()}


async def test_drive_over_an_async_source_that_never_yields_stays_fair() -> None:
    chunk = {"id": "x", "choices": [{"index": 0, "delta": {"content": "a"}}]}

    async def buffered() -> AsyncIterator[dict[str, object]]:
        for _ in range(30_000):  # no await: an SDK stream of buffered chunks
            yield chunk

    ticks = 0

    async def other_task() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await trio.sleep(0)

    class Sink:
        def send_nowait(self, msg_id: str, chunk: str) -> None:
            pass

        async def send(self, msg_id: str, chunk: str) -> None:
            raise AssertionError("send_nowait never refuses here")

        async def end(self, msg_id: str) -> None:
            pass

    sup = Sink()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(other_task)
        await trio.sleep(0)
        ticks = 0
        start = trio.current_time()
        await drive(adapter_for("openai-chat"), buffered(), sup)
        took = trio.current_time() - start
        nursery.cancel_scope.cancel()
    # the other task ran about once per SCHEDULE_INTERVAL while drive was reading
    assert ticks >= min(3, took / 0.005 / 2), (ticks, took)


async def test_many_drives_share_the_loops_budget_per_round() -> None:
    """Many streams with data at once: unpaced, every drive() would decode a piece in the
    same scheduler batch; they take turns through the loop's pacer, a batch holding about
    ROUND_BUDGET of their work (here 0.5 ms per piece)."""
    batch = 0
    feeds: list[int] = []

    class SlowAdapter(PlainAdapter):
        def feed(self, chunk: object) -> list[Any]:
            feeds.append(batch)
            end = time.perf_counter() + 0.0005
            while time.perf_counter() < end:
                pass
            return super().feed(chunk)

    async def probe() -> None:  # numbers the batches: one schedule point in each
        nonlocal batch
        while True:
            await trio.lowlevel.checkpoint()
            batch += 1

    sups = [FakeSupervisor() for _ in range(100)]
    async with trio.open_nursery() as nursery:
        nursery.start_soon(probe)
        async with trio.open_nursery() as streams:
            for k, sup in enumerate(sups):
                streams.start_soon(drive, SlowAdapter(f"m{k}"), ["[1", ",2", ",3", "]"], sup)
        nursery.cancel_scope.cancel()
    assert all(sup.text == {f"m{k}": "[1,2,3]"} for k, sup in enumerate(sups))
    assert len(feeds) == 400
    # 4 pieces a round at 0.5 ms (8 while the pacer still guesses), a probe interval
    # spanning two rounds: 16; unpaced, 100.
    assert max(Counter(feeds).values()) <= 30, Counter(feeds).most_common(3)


async def test_drive_over_a_never_yielding_source_is_cancellable() -> None:
    async def endless() -> AsyncIterator[dict[str, object]]:
        while True:
            yield {"id": "x", "choices": []}

    with trio.move_on_after(0.02) as scope:
        await drive(adapter_for("openai-chat"), endless(), NowaitSupervisor())
    assert scope.cancelled_caught


async def test_drive_does_not_end_messages_that_got_no_text() -> None:
    chunk = {
        "choices": [
            {
                "index": 0,
                "delta": {
                    "tool_calls": [
                        {"index": 0, "id": "c", "function": {"name": "f", "arguments": ""}}
                    ]
                },
                "finish_reason": "tool_calls",
            }
        ]
    }
    sup = FakeSupervisor()
    assert await drive(adapter_for("openai-chat"), [chunk], sup) == []
    assert sup.ended == [] and sup.text == {}


async def test_aiter_items_over_a_plain_iterable_of_bytes() -> None:
    data = load_recording("gemini_stream")
    chunks = [data[i : i + 1000] for i in range(0, len(data), 1000)]
    adapter = adapter_for("gemini")
    items = [item async for item in aiter_items(adapter, chunks)]
    whole = adapter_for("gemini")
    assert items == whole.feed(data) + whole.close()
    assert isinstance(items[-1], MessageEnd) and items[-1].reason == "STOP"


@pytest.mark.parametrize("name", sorted(RECORDINGS))
def test_detect_format_from_the_first_bytes(name: str) -> None:
    data = load_recording(name)
    assert detect_format(data[:300]) == RECORDINGS[name]
    assert detect_format(data[:300].decode("utf-8", "replace")) == RECORDINGS[name]


@pytest.mark.parametrize(
    ("head", "want"),
    [
        (b'{"a": 1}', "json"),
        (b"\xef\xbb\xbf \n [1, 2", "json"),
        (b'data: {"candidates": [', "gemini"),
        (b": keep-alive\n\nevent: ping\n", "anthropic"),
        (b'data: {"id":"x","choices":[', "openai-chat"),
        (b'data: {"type":"response.created"', "openai-responses"),
        (b'data: {"id', None),
        (b"hello there", None),
        (b"", None),
    ],
)
def test_detect_format_cases(head: bytes, want: str | None) -> None:
    assert detect_format(head) == want


def test_adapter_for_names_and_aliases() -> None:
    assert set(FORMATS) == {"openai-chat", "openai-responses", "anthropic", "gemini", "json"}
    for alias, fmt in [
        ("openai", "openai-chat"),
        ("Claude", "anthropic"),
        ("google", "gemini"),
        ("responses", "openai-responses"),
        ("plain", "json"),
    ]:
        assert adapter_for(alias).format == fmt
    with pytest.raises(ValueError, match="unknown stream format"):
        adapter_for("cohere")


def test_recordings_loader() -> None:
    names = recording_names()
    assert "openai_chat_parallel_tools.sse" in names and len(names) == 5
    assert load_recording("gemini_stream") == load_recording("gemini_stream.sse")
    for bad in ("nope", "../__init__.py", "__init__"):
        with pytest.raises(FileNotFoundError):
            load_recording(bad)


def test_plain_adapter_passes_text_through() -> None:
    doc = '{"city": "Kraków", "emoji": "🎋"}'.encode()
    adapter = PlainAdapter("doc")
    items = [i for k in range(len(doc)) for i in adapter.feed(doc[k : k + 1])]
    items += adapter.close()
    assert items[0] == MessageStart("doc", "text")
    assert "".join(i.text for i in items if isinstance(i, Delta)) == doc.decode()
    assert items[-1] == MessageEnd("doc", "eof")
    assert not any(isinstance(i, StreamError) for i in items)
    assert PlainAdapter().close() == []
