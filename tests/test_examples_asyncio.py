"""The asyncio examples: FastAPI + OpenAI SDK, Starlette + Anthropic SDK (each against a local
replay server over real HTTP on 127.0.0.1), and a plain asyncio script with watchers."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(name: str) -> str:
    proc = subprocess.run([sys.executable, str(EXAMPLES / name)], capture_output=True,
                          text=True, timeout=120, encoding="utf-8")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def events(out: str) -> list[tuple[str, Any]]:
    """The (event, data) lines the examples print."""
    pairs = []
    for line in out.splitlines():
        event, data = line.split(maxsplit=1)
        pairs.append((event, json.loads(data)))
    return pairs


def is_partial_of(part: Any, final: Any) -> bool:
    """Whether ``part`` is what a prefix of ``final``'s JSON may show."""
    if part is None:
        return True
    if isinstance(part, dict):
        return isinstance(final, dict) and all(
            k in final and is_partial_of(v, final[k]) for k, v in part.items()
        )
    if isinstance(part, list):
        return (
            isinstance(final, list)
            and len(part) <= len(final)
            and all(is_partial_of(a, b) for a, b in zip(part, final, strict=False))
        )
    if isinstance(part, str):
        return isinstance(final, str) and final.startswith(part)
    return part == final


def test_fastapi_openai_tool_call_example() -> None:
    got = events(run_example("fastapi_tool_call.py"))
    done = {d["call"]: d for e, d in got if e == "done"}
    assert [d["tool"] for d in done.values()] == ["get_weather", "get_weather", "search_flights"]
    assert all(d["complete"] for d in done.values())
    flights = done["call_Hs1WdZ6tRy8JfA3nCe4VgXbO"]["value"]
    assert flights["preferred_airlines"] == ["LX", "LH", "TP"]
    fields = [(d["call"], d["value"]) for e, d in got if e == "field"]
    assert fields == [
        ("call_Qm4bJ8pVx2TfK7nRzW1sHd3L", "Zürich, Switzerland"),
        ("call_7YcXe0LqNa5GvUo9Bi2MkPrS", "São Paulo, Brazil"),
    ]
    partials = [(d["call"], d["value"]) for e, d in got if e == "partial"]
    assert len(partials) > 50  # re-streamed as the fragments came, interleaved
    assert len({call for call, _ in partials[:6]}) == 3
    for call, value in partials:
        assert is_partial_of(value, done[call]["value"]), (call, value)
    order = [e for e, _ in got]
    assert order.index("field") < order.index("done")  # a field as soon as it is complete


def test_starlette_anthropic_example() -> None:
    got = events(run_example("starlette_anthropic_tool_use.py"))
    text = "".join(d["delta"] for e, d in got if e == "text")
    assert text.startswith("I'll put that on your calendar") and text.endswith("video link.")
    attendees = [d for e, d in got if e == "attendee"]
    assert [(a["index"], a["optional"]) for a in attendees] == [(0, False), (1, False), (2, True)]
    (done,) = [d for e, d in got if e == "done"]
    assert done["complete"] and done["value"]["duration_minutes"] == 45
    assert [a["email"] for a in done["value"]["attendees"]] == [a["email"] for a in attendees]
    partials = [d["value"] for e, d in got if e == "partial"]
    assert partials and all(is_partial_of(p, done["value"]) for p in partials)
    order = [e for e, _ in got]
    assert order.index("attendee") < order.index("done")


def test_asyncio_stream_example() -> None:
    out = run_example("asyncio_stream.py")
    lines = out.splitlines()
    summaries = [line for line in lines if line.startswith("summary: ")]
    assert len(summaries) > 3
    assert summaries[-1] == "summary: Three steps to ship the checkout redesign ✓"
    assert [line for line in lines if line.startswith("step ") and "done" in line] == [
        "step 0 done: Write the spec (30 min)",
        "step 1 done: Build it (240 min)",
        "step 2 done: Review with the team (45 min)",
    ]
    assert "complete=True; fields: ['complete']" in out
    cut = out.split("cut off by a token limit:")[1]
    assert "step 2 complete=False: {'title': 'Review'}" in cut
    assert "complete=False confidence=medium" in cut


def test_fastapi_example_closes_the_sdk_stream_when_the_client_leaves(monkeypatch: Any) -> None:
    monkeypatch.syspath_prepend(str(EXAMPLES))
    example = pytest.importorskip("fastapi_tool_call")
    from openai.types.chat import ChatCompletionChunk

    from jsonvisor.llm import SSEDecoder, load_recording

    chunks = [
        ChatCompletionChunk.model_validate(json.loads(e.data))
        for e in SSEDecoder().feed(load_recording("openai_chat_parallel_tools"))
        if e.data != "[DONE]"
    ]

    class SDKStream:  # what the openai SDK returns: async iterable, async close()
        closed = False

        def __aiter__(self) -> Any:
            return self._chunks()

        async def _chunks(self) -> Any:
            for c in chunks:
                yield c

        async def close(self) -> None:
            self.closed = True

    async def main() -> tuple[str, bool, bool]:
        sdk = SDKStream()
        body = example.tool_call_events(sdk)
        first = await body.__anext__()
        before = sdk.closed
        await body.aclose()  # what Starlette does when the client disconnects
        return first, before, sdk.closed

    first, before, after = asyncio.run(main())
    assert first.startswith("event: partial\n") and not before and after
