"""A Starlette endpoint that re-streams Claude's text and tool input as they are written.

``POST /calendar`` asks the model (through the official ``anthropic`` SDK) for a streamed
answer; the SDK gives event objects (``RawMessageStartEvent``, ``RawContentBlockDeltaEvent``
...), which ``jsonvisor.stream`` reads as they come.  Every content block is a message of its
own: the text block passes through as text, the ``tool_use`` block's JSON input is parsed.
The browser gets a server-sent event after each SDK event:

    event: text      data: {"block": "…:block0", "delta": " put that"}
    event: partial   data: {"block": "…:block1", "tool": "create_calendar_event", "value": {…}}
    event: attendee  data: {"index": 0, "email": "amelie.durand@example.com", "optional": false}
    event: done      data: {"block": "…:block1", "value": {…}, "complete": true}

The model here is ``replay_server.py``: a recorded Anthropic stream served over HTTP on
127.0.0.1, no network and no key.  ``ANTHROPIC_BASE_URL`` / ``ANTHROPIC_API_KEY`` point the
same endpoint at the real API.

Run: ``python examples/starlette_anthropic_tool_use.py``: serves the replay and the app with
uvicorn, calls ``/calendar`` with httpx as a browser would, and prints the events received.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import anthropic
import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

import jsonvisor
from jsonvisor.llm import SSEDecoder
from replay_server import replay_app, serve


@dataclass
class Attendee:
    email: str
    optional: bool = False


@dataclass
class CalendarEvent:  # the tool's input, as the app wants it
    title: str
    start: str
    duration_minutes: int
    attendees: list[Attendee]


TOOL = {
    "name": "create_calendar_event",
    "input_schema": {"type": "object", "properties": {"title": {"type": "string"}}},
}


def sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


async def claude_events(events: Any) -> AsyncIterator[str]:
    """The SDK's event objects as server-sent events: text deltas, partial tool input, and
    each attendee (a typed ``Attendee``) the moment its object closes."""
    updates = jsonvisor.stream(events, schema=CalendarEvent, watch="$.attendees[*]")
    async with updates:  # closes the SDK stream if the client leaves
        async for u in updates:
            if u.raw:  # the text block
                if u.text:
                    yield sse("text", {"block": u.msg_id, "delta": u.text})
                continue
            for found in u.watched:
                who: Attendee = found.model
                data = {"index": found.path[-1], "email": who.email, "optional": who.optional}
                yield sse("attendee", data)
            if u.done:
                yield sse("done", {"block": u.msg_id, "value": u.value, "complete": u.complete})
            else:
                yield sse("partial", {"block": u.msg_id, "tool": u.name, "value": u.value})


async def calendar(request: Request) -> StreamingResponse:
    ask = (await request.json())["ask"]
    client = anthropic.AsyncAnthropic(
        base_url=os.environ.get("ANTHROPIC_BASE_URL"),
        api_key=os.environ.get("ANTHROPIC_API_KEY", "sk-ant-replay"),
    )
    events = await client.messages.create(
        model="claude-sonnet-4-20250514",
        max_tokens=1024,
        tools=[TOOL],  # type: ignore[list-item]
        messages=[{"role": "user", "content": ask}],
        stream=True,
    )
    return StreamingResponse(claude_events(events), media_type="text/event-stream")


app = Starlette(routes=[Route("/calendar", calendar, methods=["POST"])])


async def main() -> None:
    async with serve(replay_app) as replay_url:
        os.environ["ANTHROPIC_BASE_URL"] = replay_url
        async with serve(app) as app_url, httpx.AsyncClient(timeout=30) as browser:
            ask = {"ask": "Design review of the checkout redesign next Tuesday, 45 minutes."}
            decoder = SSEDecoder()
            async with browser.stream("POST", f"{app_url}/calendar", json=ask) as response:
                response.raise_for_status()
                async for data in response.aiter_bytes():
                    for event in decoder.feed(data):
                        print(f"{event.event:8} {event.data}")


if __name__ == "__main__":
    asyncio.run(main())
