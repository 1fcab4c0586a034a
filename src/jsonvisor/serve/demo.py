"""``jsonvisor serve --demo``: the recorded provider streams, replayed through the service in
a loop at token timing, so the web view has something to show a newcomer.

Each round replays every recording shipped in :mod:`jsonvisor.llm.recordings` at once
through its adapter and :func:`jsonvisor.llm.drive` into the service's messages
(``demo{round}:{the adapter's id}``), exactly as a proxied upstream answer would come in.
The tool calls are parsed with the demo's schemas (``demo_schemas.json``, by tool name),
so the page shows both views: a schema's skeleton filling in, and a plain tree.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import AsyncIterator
from importlib import resources

import trio

from ..llm import adapter_for, drive, load_recording
from .config import Schema, schema_from
from .registry import Registry
from .upstream import FanIn

__all__ = ["RECORDINGS", "demo_schemas", "run_demo"]

#: (recording, format) of every stream the demo replays.
RECORDINGS = (
    ("openai_chat_parallel_tools", "openai-chat"),
    ("anthropic_tool_use", "anthropic"),
    ("openai_chat_fenced_json", "openai-chat"),
    ("openai_responses_function_call", "openai-responses"),
    ("gemini_stream", "gemini"),
)
_EVENT_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")


def demo_schemas() -> dict[str, Schema]:
    """The JSON Schemas of the recorded tool calls, by tool name."""
    text = (resources.files("jsonvisor.serve") / "demo_schemas.json").read_text("utf-8")
    return {name: schema_from(name, source) for name, source in json.loads(text).items()}


async def _paced(data: bytes, seed: int, speed: float) -> AsyncIterator[bytes]:
    """The recording one server-sent event at a time, at model-like token timing."""
    rng = random.Random(seed)
    pos = 0
    for m in _EVENT_END.finditer(data):
        yield data[pos : m.end()]
        pos = m.end()
        await trio.sleep(rng.uniform(0.01, 0.06) / speed)
    if pos < len(data):
        yield data[pos:]


async def _replay(registry: Registry, prefix: str, name: str, fmt: str, seed: int, speed: float):
    fan_in = FanIn(registry, prefix, origin="demo")
    try:
        await drive(
            adapter_for(fmt),
            _paced(load_recording(name), seed, speed),
            fan_in,
            on_item=fan_in.on_item,
        )
    finally:
        with trio.CancelScope(shield=True):
            await fan_in.end_all()


async def run_demo(registry: Registry, *, speed: float = 1.0, rounds: int | None = None) -> None:
    """Replay every recording, round after round (``rounds`` times; None: until shutdown)."""
    speed = max(speed, 1e-3)
    n = 0
    while rounds is None or n < rounds:
        n += 1
        if registry.draining:
            return
        with registry.input_scope():
            async with trio.open_nursery() as nursery:
                for i, (name, fmt) in enumerate(RECORDINGS):
                    nursery.start_soon(_replay, registry, f"demo{n}", name, fmt, n * 10 + i, speed)
            await trio.sleep(4.0 / speed)
