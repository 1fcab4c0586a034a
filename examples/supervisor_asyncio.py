"""The supervisor in a plain asyncio program: the same ``open_supervisor`` as under trio.

Run: ``python examples/supervisor_asyncio.py`` (Python 3.11+ for ``asyncio.TaskGroup``;
on 3.10 use ``anyio.create_task_group()``).

Three stand-in "model answers" stream in at once, a few characters at a time: one in
prose around a JSON object (LLM mode copes), one malformed, one cut off.  A task follows
one answer live through a subscription; the main task prints each answer's end as it
happens, and its ``async for`` ends by itself once the producers are done.
"""

from __future__ import annotations

import asyncio
import json

from jsonvisor import open_supervisor
from jsonvisor.supervisor import Completed, Failed, MessageEvent, Supervisor

ANSWERS = {
    "trip": 'Sure! {"city": "Kyoto", "days": 3, "sights": ["Fushimi Inari", "Gion"]} Enjoy!',
    "broken": '{"ok": true, "items": [1, 2,, 3]}',
    "cut-off": '{"summary": "The quick brown fox jumps ov',
}


async def model(sup: Supervisor, msg_id: str, text: str) -> None:
    """A stand-in LLM: three characters a token."""
    for i in range(0, len(text), 3):
        await sup.send(msg_id, text[i : i + 3])
        await asyncio.sleep(0.001)
    await sup.end(msg_id)


async def follow(sup: Supervisor, msg_id: str, shown: list[str]) -> None:
    """A UI widget: the live partial value of one answer, after each of its events (the
    snapshot is the parser's own, growing object: render it, do not keep it)."""
    async with sup.subscribe(msg_id) as stream:
        async for event in stream:
            if isinstance(event, MessageEvent):
                shown.append(json.dumps(sup.snapshot(msg_id)))


async def main() -> None:
    shown: list[str] = []
    async with open_supervisor(parser={"lenient": True}) as sup:

        async def produce() -> None:
            async with asyncio.TaskGroup() as producers:
                for msg_id, text in ANSWERS.items():
                    producers.create_task(model(sup, msg_id, text))
            sup.close_input()  # the producers are done: no new messages

        async with asyncio.TaskGroup() as tg:
            tg.create_task(follow(sup, "trip", shown))
            tg.create_task(produce())
            async for end in sup.results():  # ends once every message has ended
                if isinstance(end, Completed):
                    print(f"{end.msg_id}: {end.value} (complete={end.complete})")
                elif isinstance(end, Failed):
                    print(f"{end.msg_id}: failed: {end.error}")
        stats = sup.stats()
    print(f"'trip' seen in {len(shown)} partial states, first {shown[0]}")
    print(f"completed={stats.messages_completed} failed={stats.messages_failed}")


if __name__ == "__main__":
    asyncio.run(main())
