"""Fan-in of several concurrent provider streams over real HTTP.

A tiny local server (Trio + h11) replays recorded server-sent-event streams — OpenAI with
parallel tool calls, Anthropic tool use, Gemini, OpenAI Responses — at token timing, with
chunked transfer encoding, exactly as a provider would.  The client reads them concurrently
with httpx, pushes each through its provider adapter into one jsonvisor supervisor, and
prints every message's final value as it completes.  Only 127.0.0.1 is used.

Run: ``python examples/http_fan_in.py``.
"""

from __future__ import annotations

import json
import random
import re
from functools import partial

import h11
import httpx
import trio

from jsonvisor.llm import adapter_for, drive, load_recording
from jsonvisor.supervisor import Completed, Failed, open_supervisor

STREAMS = {
    "openai_chat_parallel_tools": "openai-chat",
    "anthropic_tool_use": "anthropic",
    "gemini_stream": "gemini",
    "openai_responses_function_call": "openai-responses",
}
_EVENT_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")


async def serve_sse(stream: trio.SocketStream) -> None:
    """Answer one HTTP request for ``/stream/<recording>`` with that recording, event by
    event, at token timing."""
    conn = h11.Connection(h11.SERVER)
    target = b""
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            conn.receive_data(await stream.receive_some(65536))
        elif isinstance(event, h11.Request):
            target = event.target
        elif isinstance(event, h11.EndOfMessage):
            break
    name = target.decode().rsplit("/", 1)[-1]
    if name not in STREAMS:
        await stream.send_all(
            conn.send(h11.Response(status_code=404, headers=[("content-length", "0")]))
        )
        await stream.send_all(conn.send(h11.EndOfMessage()))
        return
    data = load_recording(name)
    await stream.send_all(
        conn.send(
            h11.Response(
                status_code=200,
                headers=[("content-type", "text/event-stream"), ("transfer-encoding", "chunked")],
            )
        )
    )
    rng = random.Random(name)
    pos = 0
    for m in _EVENT_END.finditer(data):
        await stream.send_all(conn.send(h11.Data(data=data[pos : m.end()])))
        pos = m.end()
        await trio.sleep(rng.uniform(0.0005, 0.003))
    if pos < len(data):
        await stream.send_all(conn.send(h11.Data(data=data[pos:])))
    await stream.send_all(conn.send(h11.EndOfMessage()))
    await stream.aclose()


async def fetch(client: httpx.AsyncClient, base: str, name: str, sup: object) -> None:
    """Stream one recording over HTTP through its adapter into the supervisor."""
    async with client.stream("GET", f"{base}/stream/{name}") as response:
        response.raise_for_status()
        await drive(adapter_for(STREAMS[name]), response.aiter_bytes(), sup)  # type: ignore[arg-type]


async def main() -> int:
    results: dict[str, object] = {}
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, serve_sse, 0, host="127.0.0.1"))
        port = listeners[0].socket.getsockname()[1]
        base = f"http://127.0.0.1:{port}"
        # LLM mode (lenient): text answers come wrapped in prose.
        async with open_supervisor(parser={"lenient": True}) as sup:
            async with httpx.AsyncClient(timeout=30) as client:

                async def fetch_all() -> None:
                    async with trio.open_nursery() as fetchers:
                        for name in STREAMS:
                            fetchers.start_soon(fetch, client, base, name, sup)
                    sup.close_input()  # every stream was read: no new messages

                async with trio.open_nursery() as inner:
                    inner.start_soon(fetch_all)
                    # Each message's end as it happens; ends once input is closed and
                    # every message has ended.
                    async for ev in sup.results():
                        if isinstance(ev, Completed):
                            results[str(ev.msg_id)] = ev.value
                            if ev.value is None:
                                print(f"{ev.msg_id}: prose, no JSON")
                            else:
                                shown = json.dumps(ev.value, ensure_ascii=False)
                                print(
                                    f"{ev.msg_id}: complete={ev.complete} "
                                    f"{shown[:90]}{'…' if len(shown) > 90 else ''}"
                                )
                        elif isinstance(ev, Failed):
                            results[str(ev.msg_id)] = ev.error
                            print(f"{ev.msg_id}: FAILED {ev.error}")
            stats = sup.stats()
        nursery.cancel_scope.cancel()
    print(
        f"{len(results)} messages over HTTP, {stats.chunks_in} chunks, "
        f"{stats.bytes_in} bytes, open mailboxes {stats.open_mailboxes}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(trio.run(main))
