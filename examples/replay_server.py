"""A local stand-in for the OpenAI and Anthropic APIs, for the asyncio examples.

``replay_app`` (Starlette) answers ``POST /v1/chat/completions`` and ``POST /v1/messages``
with a recorded provider stream shipped with jsonvisor, event by event at token timing, as
the provider would.  ``serve(app)`` runs any ASGI app with uvicorn on a free port of
127.0.0.1 and yields its URL.  No network, no API key.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from jsonvisor.llm import load_recording

RECORDINGS = {
    "/v1/chat/completions": "openai_chat_parallel_tools",  # three parallel tool calls
    "/v1/messages": "anthropic_tool_use",  # a text block, then a tool_use block
}
_EVENT_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")


async def replay(request: Request) -> StreamingResponse:
    """Stream the recording for this path, one server-sent event every millisecond."""
    body = await request.json()
    assert body.get("stream") is True, "the examples ask for streams"
    data = load_recording(RECORDINGS[request.url.path])

    async def events() -> AsyncIterator[bytes]:
        pos = 0
        for m in _EVENT_END.finditer(data):
            yield data[pos : m.end()]
            pos = m.end()
            await asyncio.sleep(0.001)

    return StreamingResponse(events(), media_type="text/event-stream")


replay_app = Starlette(routes=[Route(path, replay, methods=["POST"]) for path in RECORDINGS])


@contextlib.asynccontextmanager
async def serve(app: Any) -> AsyncIterator[str]:
    """Serve the ASGI ``app`` with uvicorn on 127.0.0.1 (a free port); yield its URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()  # (raises what stopped it)
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()
