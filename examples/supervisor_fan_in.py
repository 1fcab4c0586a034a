"""Embed the jsonvisor supervisor in a Trio app: many LLM-like streams, one fan-in.

Run: ``python examples/supervisor_fan_in.py``

Five "model responses" stream in concurrently, token by token, each under its own message
ID.  One of them is malformed and one is cut off early.  The app

* feeds every token to the supervisor as it arrives (``await sup.send``), and says when
  every stream is done (``sup.close_input()``),
* follows one response live through a subscription (a UI showing a title as it grows),
* reads the fan-in of all events, counting them and collecting each message's end (the
  ``async for`` ends by itself once input is closed and every message has ended),
* and prints a summary.

The same program runs under asyncio: replace ``trio.open_nursery()`` with
``anyio.create_task_group()``, ``trio.sleep`` with ``anyio.sleep`` (or asyncio's), and
``trio.run(main)`` with ``asyncio.run(main())``.
"""

from __future__ import annotations

import json
import random
from collections import Counter

import trio

from jsonvisor.parsers import StreamingJsonParser, StringGrew, ValueCompleted
from jsonvisor.supervisor import (
    Completed,
    Failed,
    MessageEvent,
    Supervisor,
    is_terminal,
    open_supervisor,
)

RESPONSES = {
    "weather": {"city": "Lyon", "forecast": [{"day": "mon", "high": 21}, {"day": "tue"}]},
    "recipe": {"title": "Crêpes", "steps": ["mix", "rest 30 min", "cook"], "serves": 4},
    "summary": {"title": "Streaming JSON, supervised", "words": 1234, "tags": ["trio"]},
}


def tokens(text: str, rng: random.Random) -> list[str]:
    """Cut ``text`` into token-sized pieces, like a model's output stream."""
    out, i = [], 0
    while i < len(text):
        k = rng.randint(1, 6)
        out.append(text[i : i + k])
        i += k
    return out


async def stream_response(sup: Supervisor, msg_id: str, text: str, seed: int) -> None:
    """One model response arriving token by token."""
    rng = random.Random(seed)
    for token in tokens(text, rng):
        await trio.sleep(rng.uniform(0, 0.002))
        await sup.send(msg_id, token)
    await sup.end(msg_id)


async def follow_title(sup: Supervisor, msg_id: str, shown: list[str]) -> None:
    """A UI widget: show the title of one response as it grows (each state in ``shown``)."""
    title = ""
    async with sup.subscribe(msg_id) as stream:
        async for event in stream:
            if not isinstance(event, MessageEvent) or event.event[0] != ("title",):
                continue
            if isinstance(event.event, StringGrew):
                title += event.event.text  # a delta of the open string
            elif isinstance(event.event, ValueCompleted):
                title = event.event.value  # the string closed: its final value
            shown.append(title)


async def main() -> None:
    streams = {name: json.dumps(doc, ensure_ascii=False) for name, doc in RESPONSES.items()}
    streams["broken"] = '{"ok": true, "items": [1, 2,, 3]}'  # malformed: fails alone
    streams["cut-off"] = '{"answer": "The quick brown fox jumps ov'  # truncated stream

    endings = {}
    counts: Counter[str] = Counter()
    title_states: list[str] = []
    async with open_supervisor(
        parser=StreamingJsonParser, mailbox_size=16, idle_timeout=5.0
    ) as sup:

        async def produce_all() -> None:
            async with trio.open_nursery() as producers:
                for seed, (msg_id, text) in enumerate(streams.items()):
                    producers.start_soon(stream_response, sup, msg_id, text, seed)
            sup.close_input()  # the producers are done: no new messages

        async with trio.open_nursery() as nursery:
            nursery.start_soon(follow_title, sup, "summary", title_states)
            nursery.start_soon(produce_all)
            # Ends once input is closed and every message has ended: no counting.
            async for event in sup.events():
                counts[type(event).__name__] += 1
                if is_terminal(event):
                    endings[event.msg_id] = event
        # A late token for a finished message is a dead letter, never a new message.
        await sup.send("weather", "}")
        stats = sup.stats()

    for msg_id in sorted(endings):
        end = endings[msg_id]
        if isinstance(end, Completed):
            value = json.dumps(end.value, ensure_ascii=False)
            print(f"completed {msg_id}: confidence={end.confidence} value={value}")
        elif isinstance(end, Failed):
            print(f"failed {msg_id}: {type(end.error).__name__} at byte {end.error.offset}")
        else:
            print(f"{type(end).__name__.lower()} {msg_id}")
    print(f"title seen growing in {len(title_states)} steps, last {title_states[-1]!r}")
    print(
        f"stats: started={stats.messages_started} completed={stats.messages_completed} "
        f"failed={stats.messages_failed} open={stats.open_mailboxes} "
        f"dead_letters={stats.dead_letters} events={sum(counts.values())}"
    )


if __name__ == "__main__":
    trio.run(main)
