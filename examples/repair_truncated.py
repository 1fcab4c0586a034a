"""Stream a model answer that a token limit cut short, and repair it.

The model was asked for the action items of a meeting as JSON.  It answered the way chat
models do (a sentence, then a ```json fence) but hit ``max_tokens`` in the middle of the
third item.  ``StreamingJsonParser(lenient=True)`` skips the prose and the fence, shows
the partial value as it grows (it only ever grows), and ``finish()`` closes what was left
open, saying what it repaired and how far to trust the result.

Run: ``python examples/repair_truncated.py``.
"""

from __future__ import annotations

import json
import re

from jsonvisor.parsers import StreamingJsonParser

GENERATION = """Sure! Here are the action items from the meeting:

```json
{
  "meeting": "Q3 planning",
  "date": "2024-07-02",
  "action_items": [
    {"owner": "Priya", "task": "Draft the hiring plan", "due": "2024-07-09", "done": false},
    {"owner": "Tomás", "task": "Benchmark the new parser", "due": "2024-07-12", "done": true},
    {"owner": "Mei", "task": "Write the migration guide for the 2.0 release", "due": "2024-07-20"}
  ],
  "next_meeting": "2024-07-16"
}
```

Let me know if you want them as a table instead."""

MAX_TOKENS = 117  # the generation stops here: finish_reason == "length"

WIDTH = 96  # show the growing end of the partial value on one line
MEANING = {
    "high": "nothing was repaired",
    "medium": "only strings and containers were closed: nothing was dropped or guessed",
    "low": "something was dropped or guessed, or there was no value at all",
}

_TOKEN = re.compile(r" ?\w+| ?[^\w\s]+|\s+")


def tokenize(text: str) -> list[str]:
    """Split ``text`` roughly like a BPE tokenizer: words and punctuation runs, each with
    the space before it, and runs of other whitespace."""
    return _TOKEN.findall(text)


def one_line(value: object) -> str:
    """The partial value as compact JSON, only its end if it is long."""
    if value is None:
        return "(no JSON yet: skipping the prose)"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= WIDTH else "…" + text[-(WIDTH - 1) :]


def main() -> None:
    """Stream the cut generation, print the partial value as it grows, then the repairs."""
    tokens = tokenize(GENERATION)[:MAX_TOKENS]
    print(f"streaming {len(tokens)} tokens (max_tokens reached, finish_reason='length')\n")
    parser = StreamingJsonParser(lenient=True)
    shown = None
    for n, token in enumerate(tokens, 1):
        parser.feed(token)
        now = one_line(parser.snapshot())
        if now != shown and (n % 8 == 0 or n == len(tokens)):
            print(f"[{n:3}] {now}")
            shown = now
    result = parser.finish()
    print("\nfinal value:")
    print(json.dumps(result.value, ensure_ascii=False, indent=2))
    print("\nrepairs:")
    for repair in result.repairs:
        print(f"  - {repair.kind}: {repair}")
    print(f"confidence: {result.confidence} ({MEANING[result.confidence]})")
    print(f"complete: {result.complete}")


if __name__ == "__main__":
    main()
