"""Stream an LLM-style JSON answer through the parser, token by token, and print the
partial value after every few tokens, then the final result.

Run: ``make demo`` or ``python examples/stream_demo.py``.
"""

from __future__ import annotations

import json
import random

from jsonvisor.parsers import StreamingJsonParser, StringGrew, ValueCompleted

ANSWER = {
    "title": "Trip plan: Kyoto in 3 days",
    "days": [
        {"day": 1, "theme": "Temples", "stops": ["Kiyomizu-dera", "Gion"], "budget_eur": 45.5},
        {"day": 2, "theme": "Bamboo & monkeys", "stops": ["Arashiyama"], "budget_eur": 30},
        {"day": 3, "theme": "Food ✓ 🍜", "stops": ["Nishiki Market"], "budget_eur": 60.25},
    ],
    "confidence": 0.92,
    "done": True,
}


def tokens(text: str, seed: int = 7) -> list[str]:
    """Cut ``text`` like a model's tokenizer might: 1 to 6 characters at a time."""
    rng = random.Random(seed)
    out, i = [], 0
    while i < len(text):
        k = rng.randint(1, 6)
        out.append(text[i : i + k])
        i += k
    return out


def main() -> None:
    doc = json.dumps(ANSWER, ensure_ascii=False)
    parser = StreamingJsonParser()
    chunks = tokens(doc)
    print(f"streaming {len(doc)} characters in {len(chunks)} tokens\n")
    for n, chunk in enumerate(chunks, 1):
        events = parser.feed(chunk)
        for ev in events:
            if isinstance(ev, ValueCompleted) and ev.path and isinstance(ev.path[-1], str):
                print(f"  completed {ev.path}: {ev.value!r}"[:100])
        if n % 25 == 0 or any(isinstance(e, StringGrew) and e.path == ("title",) for e in events):
            print(f"[{n:3}] {json.dumps(parser.snapshot(), ensure_ascii=False)}"[:110])
    result = parser.finish()
    print(f"\nfinal (complete={result.complete}, confidence={result.confidence}):")
    print(json.dumps(result.value, ensure_ascii=False, indent=1)[:400])

    print("\nthe same answer cut off by a token limit:")
    cut = StreamingJsonParser()
    cut.feed(doc[: len(doc) // 2])
    r = cut.finish()
    print(json.dumps(r.value, ensure_ascii=False)[:200])
    print("repairs:", [str(x) for x in r.repairs], "confidence:", r.confidence)


if __name__ == "__main__":
    main()
