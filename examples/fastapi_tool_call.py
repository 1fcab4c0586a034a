"""A FastAPI endpoint that re-streams an OpenAI tool call's arguments as they are written.

``GET /trip`` asks the model (through the official ``openai`` SDK) for a streamed answer
with tool calls, reads the SDK's chunk objects with ``jsonvisor.stream`` and sends the
browser a server-sent event after each chunk:

    event: partial  data: {"call": "call_Qm4b…", "tool": "get_weather", "value": {"location": "Zü"}}
    event: field    data: {"call": …, "path": "$.location", "value": "Zürich, Switzerland"}
    event: done     data: {"call": …, "tool": …, "value": {…}, "complete": true}

The model here is ``replay_server.py``: a recorded OpenAI stream (three parallel tool calls,
their fragments interleaved) served over HTTP on 127.0.0.1, no network and no key.  Point
``OPENAI_BASE_URL`` and ``OPENAI_API_KEY`` elsewhere and the endpoint is unchanged.

Run: ``python examples/fastapi_tool_call.py``: serves the replay and the app with uvicorn,
calls ``/trip`` with httpx as a browser would, and prints each event it receives.
(Or serve only the app: ``uvicorn fastapi_tool_call:app`` from examples/.)
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from typing import Any

import httpx
import openai
from fastapi import FastAPI
from fastapi.responses import StreamingResponse

import jsonvisor
from jsonvisor.llm import SSEDecoder
from replay_server import replay_app, serve

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {
                "type": "object",
                "properties": {"location": {"type": "string"}, "days": {"type": "integer"}},
            },
        },
    },
    {
        "type": "function",
        "function": {"name": "search_flights", "parameters": {"type": "object"}},
    },
]

app = FastAPI()


def sse(event: str, data: dict[str, Any]) -> str:
    """One server-sent event."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


async def tool_call_events(chunks: Any) -> AsyncIterator[str]:
    """The SDK's stream of chunks, as server-sent events of partial tool arguments."""
    # ``async with``: if the browser goes away, Starlette cancels this generator and the
    # stream closes the SDK's response at once (the model stops spending tokens).
    async with jsonvisor.stream(chunks, watch="$.location") as updates:
        async for u in updates:
            if u.kind != "tool_call":  # (this answer has no text; text would come as raw)
                continue
            call = u.meta.get("tool_call_id")
            for found in u.watched:  # each watched field once, the moment it is complete
                yield sse("field", {"call": call, "path": found.pattern, "value": found.value})
            if u.done:
                data = {"call": call, "tool": u.name, "value": u.value, "complete": u.complete}
                yield sse("done", data)
            else:
                yield sse("partial", {"call": call, "tool": u.name, "value": u.value})


@app.get("/trip")
async def trip() -> StreamingResponse:
    client = openai.AsyncOpenAI(
        base_url=os.environ.get("OPENAI_BASE_URL"),
        api_key=os.environ.get("OPENAI_API_KEY", "sk-replay"),
    )
    chunks = await client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "Weather in Zürich and São Paulo, and flights?"}],
        tools=TOOLS,  # type: ignore[arg-type]
        stream=True,
    )
    return StreamingResponse(tool_call_events(chunks), media_type="text/event-stream")


async def main() -> None:
    async with serve(replay_app) as replay_url:
        os.environ["OPENAI_BASE_URL"] = f"{replay_url}/v1"
        async with serve(app) as app_url, httpx.AsyncClient(timeout=30) as browser:
            decoder = SSEDecoder()  # jsonvisor's own SSE decoder reads our events back
            async with browser.stream("GET", f"{app_url}/trip") as response:
                response.raise_for_status()
                async for data in response.aiter_bytes():
                    for event in decoder.feed(data):
                        print(f"{event.event:8} {event.data}")


if __name__ == "__main__":
    asyncio.run(main())
