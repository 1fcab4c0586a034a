"""The workload ``scripts/pgo.py`` profiles the C accelerator on.

Every path a real stream takes, in the proportions LLM output has: model-like documents
(the benchmark's generator, with other seeds) as token chunks of str and of bytes with a
snapshot after each and without, 4 KiB and 64 KiB reads, whole documents, arrays of small
scalars, JSON in prose and in fences, lenient text (single quotes, comments, unquoted
keys, trailing commas, Python literals), several documents in one stream, a schema, and
truncated and malformed input.  Run by ``scripts/pgo.py`` with the instrumented build
first on the path; it takes a few seconds.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from docs import fixed_chunks, llm_document, scalar_array, token_chunks
from jsonvisor.parsers import JsonStreamError, StreamingJsonParser

LENIENT = """// the settings
{
  name: 'jsonvisor', "version": 2, /* a comment */ 'flags': [True, False, None,],
  "ratio": NaN, "hex": 0x1F, 'quote': 'it\\'s', "nested": {"a": [1, 2.5e3, -7,], },
}"""

SCHEMA = {
    "type": "object",
    "properties": {
        "model": {"type": "string"},
        "status": {"type": "string"},
        "results": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "title": {"type": "string"},
                    "score": {"type": "number"},
                    "tags": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
}


def run(chunks: list[Any], snapshot: bool = True, **options: Any) -> None:
    """Feed ``chunks`` (a snapshot after each), then finish(); errors are part of it."""
    p = StreamingJsonParser(**options)
    try:
        for c in chunks:
            p.feed(c)
            if snapshot:
                p.snapshot()
        p.finish()
    except JsonStreamError:
        pass


def main() -> None:
    for seed in range(101, 105):
        doc = llm_document(40_000, seed=seed)
        toks = token_chunks(doc, seed=seed)
        run(toks)
        run(toks, snapshot=False)
        run([t.encode() for t in toks])
        run([doc])
        run(list(fixed_chunks(doc, 4096)))
        run(list(fixed_chunks(doc.encode(), 65536)), snapshot=False)
        run(toks[: len(toks) // 2])  # cut short: finish() repairs
        run([*toks[: len(toks) // 3], "}}}]"])  # malformed
        run(toks, schema=SCHEMA)
        prose = f"Sure! Here is the JSON:\n```json\n{doc}\n```\nHope this helps."
        run(token_chunks(prose, seed=seed), lenient=True)
        run(token_chunks("The answer is " + doc + " as asked.", seed=seed), lenient=True)
        lines = "\n".join(llm_document(2_000, seed=seed + k) for k in range(8))
        run(token_chunks(lines, seed=seed), multiple_values=True)
    arr = scalar_array(300_000)
    run(list(fixed_chunks(arr, 65536)), snapshot=False)
    run(token_chunks(arr[:40_000]))
    for _ in range(200):
        run(token_chunks(LENIENT, seed=_), lenient=True)


if __name__ == "__main__":
    main()
