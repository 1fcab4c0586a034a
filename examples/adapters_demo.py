"""Feed a recorded LLM provider stream through an adapter, offline.

First the sans-IO way: raw server-sent-event bytes, cut into random socket-sized reads, go
into ``adapter.feed``; the ``(msg_id, text)`` pairs and the start/end events are printed.
Then the Trio way: ``drive`` pumps the same bytes into a tiny supervisor that keeps one
incremental JSON parser per tool call and prints each call's arguments when it ends.

Run: ``python examples/adapters_demo.py [RECORDING] [--pairs N]``; RECORDING is one of
the shipped recordings (default ``openai_chat_parallel_tools``) or ``all``.
"""

from __future__ import annotations

import argparse
import json
import random

import trio
import trio.testing

from jsonvisor.llm import (
    Delta,
    Item,
    MessageEnd,
    MessageStart,
    adapter_for,
    detect_format,
    drive,
    load_recording,
    recording_names,
)
from jsonvisor.parsers import StreamingJsonParser


def socket_reads(data: bytes, seed: int = 3) -> list[bytes]:
    """Cut ``data`` like reads from a socket: 1 to 512 bytes, anywhere (even mid-UTF-8)."""
    rng = random.Random(seed)
    out, i = [], 0
    while i < len(data):
        k = rng.randint(1, 512)
        out.append(data[i : i + k])
        i += k
    return out


def show(item: Item) -> str:
    """One line for an item."""
    if isinstance(item, Delta):
        return f"  {(item.msg_id, item.text)!r}"
    if isinstance(item, MessageStart):
        name = f" {item.name}" if item.name else ""
        return f"start  {item.msg_id}  {item.kind}{name}"
    if isinstance(item, MessageEnd):
        return f"end    {item.msg_id}  reason={item.reason}"
    cut = " (truncated)" if item.truncated else ""
    return f"ERROR  {item.msg_id}: {item.message}{cut}"


def sans_io(name: str, max_pairs: int) -> str:
    """Print the items of one recording; return its format name."""
    data = load_recording(name)
    fmt = detect_format(data[:300]) or "json"
    print(f"== {name}: {len(data)} bytes, detected format {fmt!r}")
    adapter = adapter_for(fmt)
    pairs = 0
    for chunk in socket_reads(data):
        for item in adapter.feed(chunk):
            if isinstance(item, Delta):
                pairs += 1
                if pairs > max_pairs:
                    continue
            print(show(item))
    for item in adapter.close():
        print(show(item))
    if pairs > max_pairs:
        print(f"  ... {pairs - max_pairs} more (msg_id, text) pairs not shown")
    return fmt


class ToolCallParsers:
    """A stand-in supervisor: one ``StreamingJsonParser`` per tool-call message."""

    def __init__(self) -> None:
        self.tool_calls: set[str] = set()
        self.names: dict[str, str | None] = {}
        self.parsers: dict[str, StreamingJsonParser] = {}
        self.texts: dict[str, list[str]] = {}

    def on_item(self, item: Item) -> None:
        """Remember which messages are tool calls (``drive`` shows us every item)."""
        if isinstance(item, MessageStart) and item.kind == "tool_call":
            self.tool_calls.add(item.msg_id)
            self.names[item.msg_id] = item.name

    async def send(self, msg_id: str, chunk: str) -> None:
        """Feed a tool call's next argument fragment to its parser."""
        if msg_id in self.tool_calls:
            self.parsers.setdefault(msg_id, StreamingJsonParser()).feed(chunk)
        else:
            self.texts.setdefault(msg_id, []).append(chunk)
        await trio.lowlevel.checkpoint()

    async def end(self, msg_id: str) -> None:
        """Finish a tool call's parser and print the arguments (or show the text)."""
        if msg_id in self.texts:
            text = "".join(self.texts.pop(msg_id))
            print(f"  text, {len(text)} characters: {text[:70]!r}...")
        parser = self.parsers.pop(msg_id, None)
        if parser is not None:
            result = parser.finish()
            args = json.dumps(result.value, ensure_ascii=False)
            print(f"  {self.names[msg_id]}({args[:90]}{'...' if len(args) > 90 else ''})")
            print(f"    complete={result.complete} confidence={result.confidence}")


async def with_trio(name: str, fmt: str) -> None:
    """Drive the recording through the adapter into the stand-in supervisor."""
    send_stream, receive_stream = trio.testing.memory_stream_one_way_pair()
    sup = ToolCallParsers()

    async def network() -> None:
        for chunk in socket_reads(load_recording(name), seed=11):
            await send_stream.send_all(chunk)
        await send_stream.aclose()

    print("-- driven into a supervisor with trio (tool calls parsed as they stream):")
    async with trio.open_nursery() as nursery:
        nursery.start_soon(network)
        errors = await drive(adapter_for(fmt), receive_stream, sup, on_item=sup.on_item)
    print(f"  errors: {errors}")


def main() -> None:
    """Parse the arguments and run the demo."""
    names = [n.removesuffix(".sse") for n in recording_names()]
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument(
        "recording", nargs="?", default="openai_chat_parallel_tools", choices=[*names, "all"]
    )
    cli.add_argument("--pairs", type=int, default=30, help="(msg_id, text) pairs to print")
    args = cli.parse_args()
    for name in names if args.recording == "all" else [args.recording]:
        fmt = sans_io(name, args.pairs)
        trio.run(with_trio, name, fmt)
        print()


if __name__ == "__main__":
    main()
