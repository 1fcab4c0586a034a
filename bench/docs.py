"""Deterministic LLM-like JSON documents and token-like chunkings for the benchmarks."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator

_WORDS = (
    "the model returns structured output with nested fields and arrays of results "
    "streaming tokens arrive one by one so the client must show partial values "
    "naïve café résumé über straße 東京 数据 模型 ✓ 🚀 😀 — “quoted” tab\there line\nbreak "
    'escape \\ backslash "quote" slash / end'
).split(" ")


def _text(rng: random.Random, lo: int, hi: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(rng.randint(lo, hi)))


def _item(rng: random.Random, i: int) -> dict[str, object]:
    return {
        "id": i,
        "title": _text(rng, 2, 6),
        "summary": _text(rng, 8, 30),
        "score": round(rng.uniform(-1000, 1000), rng.randint(0, 6)),
        "ratio": rng.random() * 10 ** rng.randint(-8, 8),
        "active": rng.random() < 0.5,
        "parent": None if rng.random() < 0.7 else rng.randint(0, i + 1),
        "tags": [_text(rng, 1, 2) for _ in range(rng.randint(0, 4))],
        "meta": {
            "source": _text(rng, 1, 3),
            "rank": rng.randint(-5, 10**6),
            "weights": [rng.randint(0, 100) for _ in range(rng.randint(0, 5))],
        },
    }


def llm_document(size: int, seed: int = 0) -> str:
    """A compact JSON document of about ``size`` characters shaped like model output."""
    rng = random.Random(seed)
    doc: dict[str, object] = {"model": "bench-1", "status": "ok", "results": []}
    results = doc["results"]
    assert isinstance(results, list)
    i = 0
    while True:
        results.append(_item(rng, i))
        i += 1
        if i % 8 == 0 and len(json.dumps(doc, ensure_ascii=False)) >= size:
            break
        if i % 8 != 0 and size < 4096 and len(json.dumps(doc, ensure_ascii=False)) >= size:
            break
    doc["usage"] = {"items": i, "note": _text(rng, 3, 8)}
    return json.dumps(doc, ensure_ascii=False)


def token_chunks(text: str, seed: int = 1, lo: int = 1, hi: int = 8) -> list[str]:
    """Split ``text`` into token-like chunks of ``lo``..``hi`` characters."""
    rng = random.Random(seed)
    out: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        k = rng.randint(lo, hi)
        out.append(text[i : i + k])
        i += k
    return out


def fixed_chunks(data: str | bytes, size: int) -> Iterator[str | bytes]:
    """Split ``data`` into chunks of ``size``."""
    for i in range(0, len(data), size):
        yield data[i : i + size]
