"""A small Chrome DevTools Protocol client for the browser tests: a headless Chromium
(Debian's ``chromium``), driven over its DevTools websocket with trio-websocket."""

from __future__ import annotations

import base64
import itertools
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import trio
from trio_websocket import open_websocket_url

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chrome")


def find_browser() -> str | None:
    """The Chromium executable, if one is installed."""
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


class CDPError(Exception):
    """A DevTools command failed."""


class Browser:
    """One browser over one DevTools connection (flat sessions, one per page)."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.ids = itertools.count(1)
        self.waiting: dict[int, trio.MemorySendChannel[Any]] = {}

    async def _reader(self) -> None:
        while True:
            message = json.loads(await self.ws.get_message())
            channel = self.waiting.pop(message.get("id", -1), None)
            if channel is not None:
                channel.send_nowait(message)

    async def send(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None
    ) -> Any:
        """Run one command; its result."""
        ident = next(self.ids)
        send, receive = trio.open_memory_channel[Any](1)
        self.waiting[ident] = send
        message: dict[str, Any] = {"id": ident, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        await self.ws.send_message(json.dumps(message))
        with trio.fail_after(30):
            reply = await receive.receive()
        if "error" in reply:
            raise CDPError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    async def new_page(self, url: str, width: int = 1280, height: int = 900) -> Page:
        """A new tab at ``url``."""
        target = await self.send("Target.createTarget", {"url": "about:blank"})
        attached = await self.send(
            "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}
        )
        page = Page(self, attached["sessionId"])
        await page.send("Page.enable")
        await page.send("Runtime.enable")
        await page.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )
        await page.send("Page.navigate", {"url": url})
        return page


class Page:
    """One tab."""

    def __init__(self, browser: Browser, session: str) -> None:
        self.browser = browser
        self.session = session

    async def send(self, method: str, params: dict[str, Any] | None = None) -> Any:
        return await self.browser.send(method, params, self.session)

    async def eval(self, expression: str) -> Any:
        """The value of a JavaScript expression (awaited if it is a promise)."""
        result = await self.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
        )
        if "exceptionDetails" in result:
            raise CDPError(f"{expression!r}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def wait_for(self, expression: str, timeout: float = 30) -> Any:
        """Poll ``expression`` until it is truthy; its value (a hang guard, not a timing
        assertion: ``TooSlowError`` after ``timeout`` seconds)."""
        with trio.fail_after(timeout):
            while True:
                try:
                    value = await self.eval(expression)
                except CDPError:  # (the page is still loading)
                    value = None
                if value:
                    return value
                await trio.sleep(0.02)

    async def screenshot(self, path: Path) -> Path:
        """A PNG of the page, saved at ``path``."""
        data = await self.send("Page.captureScreenshot", {"format": "png"})
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data["data"]))
        return path


@asynccontextmanager
async def launch(executable: str) -> AsyncIterator[Browser]:
    """A headless Chromium for the duration of the block."""
    profile = tempfile.mkdtemp(prefix="jsonvisor-chromium-")
    args = [
        executable,
        "--headless=new",
        "--no-sandbox",  # (CI runs as root)
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--no-default-browser-check",
        "--remote-debugging-address=127.0.0.1",
        "--remote-debugging-port=0",
        f"--user-data-dir={profile}",
        "about:blank",
    ]
    env = {**os.environ, "HOME": profile}
    proc = await trio.lowlevel.open_process(
        args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env
    )
    try:
        assert proc.stderr is not None
        text = b""
        with trio.fail_after(60):
            while (m := re.search(rb"DevTools listening on (ws://\S+)", text)) is None:
                data = await proc.stderr.receive_some(4096)
                if not data:
                    raise RuntimeError(f"chromium exited: {text.decode(errors='replace')}")
                text += data
        async with trio.open_nursery() as nursery:

            async def drain() -> None:  # keep reading its stderr so it never blocks
                while await proc.stderr.receive_some(65536):  # type: ignore[union-attr]
                    pass

            nursery.start_soon(drain)
            async with open_websocket_url(m.group(1).decode(), max_message_size=64 << 20) as ws:
                browser = Browser(ws)
                nursery.start_soon(browser._reader)
                try:
                    yield browser
                finally:
                    nursery.cancel_scope.cancel()
    finally:
        proc.kill()
        with trio.move_on_after(10):
            await proc.wait()
        shutil.rmtree(profile, ignore_errors=True)
