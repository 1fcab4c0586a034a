"""Deterministic JSON documents and chunkings for the benchmarks.

``llm_document`` makes LLM-like output (nested objects and arrays, unicode, escapes, numbers);
``scalar_array`` an array of small scalars; ``card_document`` a document matching the
benchmark's pydantic ``Card`` model; ``token_chunks`` splits text into token-sized chunks.
"""

from __future__ import annotations

import functools
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


# len(json.dumps({"model": "bench-1", "status": "ok", "results": []}, ensure_ascii=False))
_EMPTY_LEN = 51


@functools.lru_cache(maxsize=32)
def llm_document(size: int, seed: int = 0) -> str:
    """A compact JSON document of about ``size`` characters shaped like model output.

    The length of the growing document is kept as a running sum instead of re-serialising it
    after every few items (which made a 1 MB document take seconds); the output is the same.
    """
    rng = random.Random(seed)
    doc: dict[str, object] = {"model": "bench-1", "status": "ok", "results": []}
    results = doc["results"]
    assert isinstance(results, list)
    length = _EMPTY_LEN  # len(json.dumps(doc, ensure_ascii=False)), kept up to date
    i = 0
    while True:
        item = _item(rng, i)
        results.append(item)
        length += len(json.dumps(item, ensure_ascii=False)) + (2 if i else 0)  # ", "
        i += 1
        if i % 8 == 0 and length >= size:
            break
        if i % 8 != 0 and size < 4096 and length >= size:
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


_SCALARS = ("1", "2.5", "true", "null", '"ab"', "-17", "3e5", "false", '"x\\n"', "0", "-0.25", '""')


def scalar_array(size: int) -> str:
    """``[1, 2.5, true, null, "ab", ...]``: about ``size`` characters of small scalars."""
    parts: list[str] = []
    length = 2
    i = 0
    while length < size:
        s = _SCALARS[i % len(_SCALARS)]
        parts.append(s)
        length += len(s) + 2
        i += 1
    return "[" + ", ".join(parts) + "]"


def card_document(size: int, seed: int = 7) -> str:
    """About ``size`` characters of JSON matching the benchmark's pydantic ``Card`` model:
    ``{"title", "price", "tags", "items": [{"name", "qty", "price", "note", "tags"}, ...]}``."""
    rng = random.Random(seed)
    card: dict[str, object] = {
        "title": _text(rng, 3, 8),
        "price": round(rng.uniform(1, 500), 2),
        "tags": [_text(rng, 1, 2) for _ in range(4)],
        "items": [],
    }
    items = card["items"]
    assert isinstance(items, list)
    length = len(json.dumps(card, ensure_ascii=False))
    while length < size:
        item = {
            "name": _text(rng, 1, 4),
            "qty": rng.randint(0, 1000),
            "price": round(rng.uniform(0, 1000), rng.randint(0, 3)) + 0.5,
            "note": None if rng.random() < 0.4 else _text(rng, 4, 16),
            "tags": [_text(rng, 1, 1) for _ in range(rng.randint(0, 3))],
        }
        items.append(item)
        length += len(json.dumps(item, ensure_ascii=False)) + (2 if len(items) > 1 else 0)
    return json.dumps(card, ensure_ascii=False)
