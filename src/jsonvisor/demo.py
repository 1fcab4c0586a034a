"""``jsonvisor demo``: recorded LLM streams, replayed at token timing through the supervisor.

Three recorded provider streams run at once — an OpenAI response with three parallel tool
calls, an Anthropic tool-use stream and a fenced JSON answer wrapped in prose — each through
its adapter into one supervisor.  The live partial values are rebuilt from the supervisor's
events alone (as a client across a wire would) and shown updating in the terminal with
``rich`` when it is installed and stdout is a terminal, else as plain lines.  No network, no
API key.
"""

from __future__ import annotations

import random
import re
import sys
from collections.abc import AsyncIterator, Hashable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import trio

from .llm import Delta, MessageStart, adapter_for, drive, load_recording
from .parsers import ValueBuilder

__all__ = ["STREAMS", "run_demo"]

#: (recording, format, label) of the streams the demo replays.
STREAMS = (
    ("openai_chat_parallel_tools", "openai-chat", "OpenAI: 3 parallel tool calls"),
    ("anthropic_tool_use", "anthropic", "Anthropic: tool use"),
    ("openai_chat_fenced_json", "openai-chat", "OpenAI: fenced JSON in prose"),
)

_EVENT_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")


@dataclass
class _Message:
    label: str
    builder: ValueBuilder = field(default_factory=ValueBuilder)
    status: str = "streaming"
    detail: str = ""
    events: int = 0
    text: list[str] = field(default_factory=list)  # raw text of prose answers


async def _replay(data: bytes, seed: int, speed: float) -> AsyncIterator[bytes]:
    """Yield the recording one server-sent event at a time, at model-like token timing."""
    rng = random.Random(seed)
    pos = 0
    for m in _EVENT_END.finditer(data):
        yield data[pos : m.end()]
        pos = m.end()
        await trio.sleep(rng.uniform(0.004, 0.03) / max(speed, 1e-6))
    if pos < len(data):
        yield data[pos:]


def _short(value: Any, width: int) -> str:
    import json

    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= width else text[: width - 1] + "…"


async def _run(speed: float, plain: bool, out: Any) -> int:
    from .supervisor import open_supervisor

    messages: dict[Hashable, _Message] = {}
    labels: dict[Hashable, str] = {}
    texts: dict[Hashable, list[str]] = {}  # text messages' raw deltas
    use_rich = not plain and out.isatty()
    live: Any = None
    if use_rich:
        try:
            from rich.console import Console
            from rich.live import Live
            from rich.table import Table
        except ImportError:
            use_rich = False

    def table() -> Any:
        t = Table(title="jsonvisor demo: live partial values", expand=True)
        t.add_column("message", no_wrap=True, max_width=36)
        t.add_column("status", no_wrap=True)
        t.add_column("value so far")
        for msg in messages.values():
            t.add_row(msg.label, msg.status, _short(msg.builder.value, 400))
        return t

    # LLM mode: text answers come wrapped in prose.
    async with open_supervisor(parser={"lenient": True}) as sup:
        if use_rich:
            live = Live(table(), console=Console(file=out), refresh_per_second=12)
            live.start()
        try:

            async def produce() -> None:
                async with trio.open_nursery() as producers:
                    for i, (name, fmt, label) in enumerate(STREAMS):

                        def on_item(item: Any, label: str = label) -> None:
                            if isinstance(item, MessageStart):
                                labels[item.msg_id] = f"{label} · {item.name or item.kind}"
                                if item.kind == "text":
                                    texts[item.msg_id] = []
                            elif isinstance(item, Delta) and item.msg_id in texts:
                                texts[item.msg_id].append(item.text)

                        source = _replay(load_recording(name), i, speed)
                        producers.start_soon(
                            partial(drive, adapter_for(fmt), source, sup, on_item=on_item)
                        )
                sup.close_input()  # every stream has been read: no new messages

            async with trio.open_nursery() as nursery:
                nursery.start_soon(produce)
                # Ends by itself once input is closed and every message has ended.
                async for ev in sup.events():
                    msg = messages.get(ev.msg_id)
                    if msg is None:
                        label = labels.get(ev.msg_id, str(ev.msg_id))
                        msg = messages[ev.msg_id] = _Message(label)
                        msg.text = texts.get(ev.msg_id, [])
                    _update(msg, ev, use_rich, out)
                    if use_rich:
                        live.update(table())
        finally:
            if live is not None:
                live.stop()
        stats = sup.stats()
    print("\nfinal values:", file=out)
    for msg in messages.values():
        print(f"- {msg.label}: {msg.status}", file=out)
        print(f"  {_short(msg.builder.value, 300)}", file=out)
        if msg.detail:
            print(f"  {msg.detail}", file=out)
    print(f"\nstats: {_format_stats(stats)}", file=out)
    ok = all(m.status in ("complete", "prose (no JSON)") for m in messages.values())
    return 0 if ok and messages else 1


def _update(msg: _Message, ev: Any, use_rich: bool, out: Any) -> None:
    from .supervisor import Cancelled, Completed, Expired, Failed, MessageEvent

    if isinstance(ev, MessageEvent):
        msg.builder.apply([ev.event])
        msg.events += 1
        if not use_rich and msg.events % 40 == 0:
            print(f"  {msg.label}: {_short(msg.builder.value, 100)}", file=out)
    elif isinstance(ev, Completed):
        if ev.value is None and msg.text and any(r.kind == "no_value" for r in ev.repairs):
            msg.status = "prose (no JSON)"
            msg.builder.value = "".join(msg.text)
        else:
            msg.status = "complete" if ev.complete else f"repaired ({ev.confidence})"
            msg.builder.value = ev.value
    elif isinstance(ev, Failed):
        msg.status, msg.detail = "failed", str(ev.error)
    elif isinstance(ev, (Expired, Cancelled)):
        msg.status = type(ev).__name__.lower()


def _format_stats(stats: Any) -> str:
    fields = getattr(stats, "__dataclass_fields__", None)
    items = {name: getattr(stats, name) for name in fields} if fields else dict(vars(stats))
    return ", ".join(f"{k}={v}" for k, v in items.items())


def run_demo(speed: float = 1.0, plain: bool = False, out: Any = None) -> int:
    """Run the demo; return 0 when every message completed."""
    return trio.run(_run, speed, plain, out or sys.stdout)
