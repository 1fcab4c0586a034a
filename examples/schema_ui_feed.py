"""A streaming UI feed with a schema skeleton: the layout is stable from the first byte.

A model streams a product card as JSON (prose and a fence around it, token by token).  The
parser, given the card's schema, shows every declared field from the start (null until
known), and each field's state (pending -> partial -> complete), as a UI would render it.

Run: ``python examples/schema_ui_feed.py``.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field

from jsonvisor.parsers import StreamingJsonParser


@dataclass
class Price:
    amount: float
    currency: str


@dataclass
class ProductCard:
    title: str
    summary: str
    price: Price
    tags: list[str] = field(default_factory=list)
    in_stock: bool = True


ANSWER = (
    "Here's the card you asked for:\n```json\n"
    + json.dumps(
        {
            "title": "Trail runner 2",
            "summary": "Light, grippy shoe for muddy trails — 280 g.",
            "price": {"amount": "129.90", "currency": "EUR"},
            "tags": ["running", "trail", "waterproof"],
            "in_stock": True,
        },
        ensure_ascii=False,
        indent=1,
    )
    + "\n```\nAnything else?"
)

MARK = {"pending": "·", "partial": "…", "complete": "✓"}


def render(parser: StreamingJsonParser) -> str:
    """One line per field: state mark, path, value so far."""
    states = parser.field_states()
    value = parser.snapshot()
    lines = []
    for path, state in states.items():
        if path == "$":
            continue
        node = value
        for part in path[2:].replace("[", ".").replace("]", "").split("."):
            node = node[int(part)] if isinstance(node, list) else node[part]
        shown = json.dumps(node, ensure_ascii=False) if not isinstance(node, dict) else "{…}"
        lines.append(f"  {MARK[state]} {path:<16} {shown}")
    return "\n".join(lines)


def main() -> None:
    parser = StreamingJsonParser(schema=ProductCard, lenient=True, coerce=True, validate=True)
    print("before the first token:")
    print(render(parser))
    rng = random.Random(3)
    i = frame = 0
    while i < len(ANSWER):
        k = rng.randint(1, 7)
        parser.feed(ANSWER[i : i + k])
        i += k
        frame += 1
        if frame % 8 == 0:
            print(f"\nafter {i} characters ({parser.document_state()}):")
            print(render(parser))
    result = parser.finish()
    print("\nfinal:")
    print(render(parser))
    print("model:", result.model)
    for w in result.warnings:
        print("warning:", w.message, "at", w.path)


if __name__ == "__main__":
    main()
