"""One stream, one loop, on plain asyncio: partial values, field watchers, typed items.

A stand-in model writes a JSON plan a few characters at a time (any async iterable of
``str`` or ``bytes`` works the same: ``httpx``'s ``aiter_text()``, an SDK stream...).
``jsonvisor.stream`` turns it into an update after each chunk; its watchers deliver the
summary's text as it is written and each step, typed as a ``Step``, the moment its object
closes.  Then the same answer cut off by a token limit: it ends with ``complete=False`` and
its repairs, not an exception.

Run: ``python examples/asyncio_stream.py``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import jsonvisor

ANSWER = json.dumps(
    {
        "summary": "Three steps to ship the checkout redesign ✓",
        "steps": [
            {"title": "Write the spec", "minutes": 30},
            {"title": "Build it", "minutes": 240},
            {"title": "Review with the team", "minutes": 45},
        ],
        "confidence": 0.8,
    },
    ensure_ascii=False,
)


@dataclass
class Step:
    title: str
    minutes: int


@dataclass
class Plan:
    summary: str
    steps: list[Step]
    confidence: float


async def model(text: str, stop_at: int | None = None) -> AsyncIterator[str]:
    """A stand-in LLM: 4 characters a token, a millisecond apart (cut at ``stop_at``)."""
    end = len(text) if stop_at is None else stop_at
    for i in range(0, end, 4):
        await asyncio.sleep(0.001)
        yield text[i : min(i + 4, end)]


async def main() -> None:
    updates, summary = 0, ""
    async with jsonvisor.stream(
        model(ANSWER), schema=Plan, watch=["$.summary", "$.steps[*]"], watch_text=True
    ) as stream:
        async for update in stream:
            updates += 1
            for found in update.watched:
                if isinstance(found, jsonvisor.WatchedText):  # the summary, growing
                    summary += found.text
                    print(f"summary: {summary}")
                elif found.pattern == "$.steps[*]":
                    step: Step = found.model
                    print(f"step {found.path[-1]} done: {step.title} ({step.minutes} min)")
            if update.done:
                result = update.result
                print(f"{updates} updates; complete={result.complete}; fields:",
                      sorted(set(update.fields.values())))  # fmt: skip
                print("final:", json.dumps(update.value, ensure_ascii=False))

    print("\nthe same answer cut off by a token limit:")
    cut = ANSWER.index("Review") + 6
    async for update in jsonvisor.stream(model(ANSWER, stop_at=cut), watch="$.steps[*]"):
        for found in update.watched:
            print(f"step {found.path[-1]} complete={found.complete}: {found.value}")
        if update.done:
            result = update.result
            print(f"complete={result.complete} confidence={result.confidence}")
            print("repairs:", [str(r) for r in result.repairs])


if __name__ == "__main__":
    asyncio.run(main())
