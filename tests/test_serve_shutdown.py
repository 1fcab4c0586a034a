"""SIGTERM with open messages: ``jsonvisor serve`` in a subprocess stops taking input, ends
every open message with its terminal event, flushes its subscribers and exits within its
grace period."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from typing import Any

import httpx
import trio

from serve_support import parse_sse

GRACE = 5.0


async def _start() -> tuple[trio.Process, str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = await trio.lowlevel.open_process(
        [sys.executable, "-m", "jsonvisor", "serve", "--port", "0", "--grace", str(GRACE)],
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stderr is not None
    text = b""
    with trio.fail_after(30):
        while b"listening on" not in text:
            data = await proc.stderr.receive_some(4096)
            assert data, text
            text += data
    url = re.search(rb"listening on (http://127\.0\.0\.1:\d+)", text)
    assert url is not None, text
    return proc, url.group(1).decode()


async def test_sigterm_ends_open_messages_and_exits_in_time() -> None:
    proc, url = await _start()
    stderr = b""
    try:
        async with httpx.AsyncClient(base_url=url, trust_env=False, timeout=30) as http:
            streams: dict[str, str] = {}
            posted: dict[str, Any] = {}
            async with trio.open_nursery() as nursery:

                async def subscribe(msg_id: str) -> None:
                    text = ""
                    async with http.stream("GET", f"/messages/{msg_id}/events") as r:
                        async for chunk in r.aiter_text():
                            text += chunk
                    streams[msg_id] = text

                slow_scope = trio.CancelScope()

                async def slow_body() -> None:  # a request still sending when SIGTERM comes
                    async def body():
                        yield b'{"slow": "st'
                        await trio.sleep(60)  # (httpx sends all of the body before it reads)
                        yield b'ill"}'

                    with slow_scope:
                        try:
                            r = await http.post("/messages/slow/chunks", content=body())
                            posted["slow"] = (r.status_code, r.json())
                        except httpx.HTTPError as exc:
                            posted["slow"] = exc

                for msg_id in ("a", "b", "c"):
                    nursery.start_soon(subscribe, msg_id)
                await trio.sleep(0.2)
                for msg_id in ("a", "b", "c"):
                    r = await http.post(
                        f"/messages/{msg_id}/chunks",
                        content=b'{"id": "' + msg_id.encode() + b'", "list": [1, 2',
                    )
                    assert r.status_code == 202
                nursery.start_soon(slow_body)
                with trio.fail_after(10):
                    while (await http.get("/messages/slow")).status_code != 200:
                        await trio.sleep(0.02)
                await trio.sleep(0.1)
                began = trio.current_time()
                proc.send_signal(signal.SIGTERM)
                with trio.fail_after(GRACE + 15):  # (a hang guard, not a timing assertion)
                    code = await proc.wait()
                elapsed = trio.current_time() - began
                slow_scope.cancel()
        assert proc.stderr is not None
        stderr = await proc.stderr.receive_some(65536)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert code == 0, stderr
    assert elapsed < GRACE + 5, elapsed
    assert b"stopped in" in stderr, stderr
    for msg_id in ("a", "b", "c"):
        events = parse_sse(streams[msg_id])
        assert events[0][0] == "snapshot"
        name, data = events[-1]  # every subscriber got its message's terminal event
        assert name == "completed", events[-3:]
        assert data["value"] == {"id": msg_id, "list": [1, 2]}
        assert data["complete"] is False and data["repairs"]
    # the request that was still sending: cut off (its client may still be sending)
    status = posted.get("slow")
    if isinstance(status, tuple):
        assert status[0] == 503 and status[1]["error"]["code"] == "shutting_down"
    assert b"slow" not in stderr  # (no traceback)
