"""Shared helpers for the cluster tests."""

from __future__ import annotations

import json
import random
from collections.abc import Hashable
from typing import Any

import trio

from jsonvisor.supervisor import TERMINAL_EVENTS


def make_docs(n: int, size: int = 400, seed: int = 0) -> dict[str, str]:
    """``n`` JSON documents of roughly ``size`` characters, keyed by message ID."""
    rng = random.Random(seed)
    docs = {}
    for i in range(n):
        items = []
        while len(json.dumps(items)) < size:
            items.append({"k": rng.randint(0, 10**6), "s": "tok " * rng.randint(1, 8)})
        docs[f"m{i}"] = json.dumps({"id": i, "items": items, "ok": True})
    return docs


def token_pieces(text: str, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    out, i = [], 0
    while i < len(text):
        k = rng.randint(1, 8)
        out.append(text[i : i + k])
        i += k
    return out


async def send_interleaved(
    cluster: Any,
    docs: dict[str, str],
    *,
    pause: float = 0.0,
    on_round: Any = None,
    end: bool = True,
) -> None:
    """Send every document token by token, round-robin across messages."""
    pieces = {mid: token_pieces(text) for mid, text in docs.items()}
    rounds = max(map(len, pieces.values()))
    for r in range(rounds):
        for mid, ps in pieces.items():
            if r < len(ps):
                await cluster.send(mid, ps[r])
        if on_round is not None:
            on_round(r)
        if pause:
            await trio.sleep(pause)
    if end:
        for mid in docs:
            await cluster.end(mid)


async def collect_terminals(
    cluster: Any, expected: int, into: dict[Hashable, Any], others: list[Any] | None = None
) -> None:
    """Read the fan-in until ``expected`` terminal events have been seen."""
    async for event in cluster.events():
        if isinstance(event, TERMINAL_EVENTS):
            into[event.msg_id] = event
            if len(into) >= expected:
                return
        elif others is not None:
            others.append(event)
