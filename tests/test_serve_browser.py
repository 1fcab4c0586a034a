"""The web view in a real headless Chromium, driven over the DevTools protocol.

It loads; with a schema, the skeleton is there before the first value byte; fields fill
in and complete in document order, strings grow in place; no row moves as values arrive;
without a schema the partial value is a tree.  Screenshots are saved under
build/artifacts/.  Where Chromium is missing the tests skip, except under CI (CI=true),
where ``.ci/run`` installs it and a missing browser is a failure.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import trio

from cdp import find_browser, launch
from jsonvisor.serve.config import schema_from
from serve_support import client, service

ARTIFACTS = Path(__file__).resolve().parents[1] / "build" / "artifacts"
BROWSER = find_browser()

if BROWSER is None:
    if os.environ.get("CI"):
        pytest.fail(
            "the browser tests need Chromium and CI must run them: .ci/run installs Debian's "
            "chromium package (apt-get install chromium); install it",
            pytrace=False,
        )
    pytestmark = pytest.mark.skip(reason="no chromium installed (apt-get install chromium)")

CARD = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "maxLength": 60},
        "summary": {"type": "string"},
        "price": {"type": "number"},
        "in_stock": {"type": "boolean"},
        "seller": {
            "type": "object",
            "properties": {
                "name": {"type": "string", "maxLength": 40},
                "rating": {"type": "number"},
            },
        },
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 20}, "maxItems": 3},
        "variants": {
            "type": "array",
            "maxItems": 2,
            "items": {
                "type": "object",
                "properties": {
                    "sku": {"type": "string", "maxLength": 12},
                    "qty": {"type": "integer"},
                },
            },
        },
    },
}
VALUE = {
    "title": "Stoneware teapot",
    "summary": "A hand-thrown teapot with a matte glaze; holds 1.2 litres and keeps tea warm. "
    "Dishwasher safe, made in a small studio.",
    "price": 42.5,
    "in_stock": True,
    "seller": {"name": "Kiln & Co", "rating": 4.8},
    "tags": ["tea", "ceramics", "gift"],
    "variants": [{"sku": "TP-ASH", "qty": 3}, {"sku": "TP-MOSS", "qty": 0}],
}
DECLARED = [
    ["title"],
    ["summary"],
    ["price"],
    ["in_stock"],
    ["seller"],
    ["seller", "name"],
    ["seller", "rating"],
    ["tags"],
    ["variants"],
]

ROWS = """[...document.querySelectorAll('#view [data-path]')].map(e => {
  const r = e.getBoundingClientRect();
  return [e.dataset.path, e.dataset.state, Math.round(r.left), Math.round(r.top),
          Math.round(r.width), Math.round(r.height)];
})"""

# Records, in the page, every change of a row's state (a MutationObserver): a row's last
# change is its completion (complete is final), so the order of the last changes is the
# order in which rows completed.
WATCH_COMPLETIONS = """(() => {
  window.__changes = [];
  new MutationObserver((records) => {
    for (const r of records) if (r.target.dataset) window.__changes.push(r.target.dataset.path);
  }).observe(document.getElementById('view'),
             {subtree: true, attributes: true, attributeFilter: ['data-state']});
  return true;
})()"""


def rows_by_path(rows: list[list[Any]]) -> dict[str, list[Any]]:
    return {r[0]: r for r in rows}


async def test_the_page_follows_a_schema_message_without_moving() -> None:
    assert BROWSER is not None
    schemas = {"card": schema_from("card", CARD)}
    async with service(schemas=schemas) as svc, client(svc) as http, launch(BROWSER) as browser:
        r = await http.post("/messages/card-1/chunks?schema=card", content=b"")  # declared
        assert r.status_code == 202
        page = await browser.new_page(f"{svc.url}/#m=card-1")
        # it loads: the list shows the message, the view its skeleton
        await page.wait_for("document.querySelector('#live li[data-id=\"card-1\"]') !== null")
        await page.wait_for("document.getElementById('view').dataset.view === 'ready'")
        assert await page.eval("document.title") == "jsonvisor"
        await page.eval(WATCH_COMPLETIONS)
        before = rows_by_path(await page.eval(ROWS))
        # the whole shape before the first value byte, every field pending
        for path in DECLARED:
            key = json.dumps(path, separators=(",", ":"))
            assert key in before, (key, sorted(before))
            assert before[key][1] == "pending"
        assert svc.registry.get("card-1").bytes_in == 0
        await page.screenshot(ARTIFACTS / "serve-skeleton.png")

        text = json.dumps(VALUE)
        title_at = text.index("Stoneware") + 5
        positions = {k: v[2:] for k, v in before.items()}
        seen_partial_title = False
        step = 7
        for i in range(0, len(text), step):
            await http.post("/messages/card-1/chunks", content=text[i : i + step].encode())
            if i <= title_at < i + step:  # the title is being written: it grows in place
                shown = await page.wait_for(
                    "(() => { const e = document.querySelector('[data-path=\\'[\"title\"]\\']');"
                    " return e.dataset.state === 'partial'"
                    " && e.querySelector('.val').textContent; })()"
                )
                assert VALUE["title"].startswith(shown) and shown != VALUE["title"]
                seen_partial_title = True
            if i % (step * 6) == 0:
                now = rows_by_path(await page.eval(ROWS))
                for key, pos in positions.items():  # the declared rows never move
                    assert now[key][2:] == pos, (key, now[key], pos)
        await http.post("/messages/card-1/end")
        await page.wait_for("document.getElementById('view').dataset.stream === 'completed'")
        assert seen_partial_title
        after = rows_by_path(await page.eval(ROWS))
        for key, pos in positions.items():
            assert after[key][2:] == pos, (key, after[key], pos)
        # every row complete; the items appeared inside their reserved boxes
        assert {r[1] for r in after.values()} == {"complete"}
        for path in (["tags", 2], ["variants", 1, "sku"]):
            assert json.dumps(path, separators=(",", ":")) in after
        # fields completed in document order (each row once)
        changes = await page.eval("window.__changes")
        last = {path: i for i, path in enumerate(changes)}
        order = sorted(last, key=last.__getitem__)
        top = [json.loads(p)[0] for p in order if len(json.loads(p)) == 1]
        assert top == list(VALUE)
        shown = await page.eval(
            "document.querySelector('[data-path=\\'[\"summary\"]\\'] .body').textContent"
        )
        assert shown == VALUE["summary"]
        assert "complete" in await page.eval("document.querySelector('.outcome').textContent")
        await page.screenshot(ARTIFACTS / "serve-view.png")


async def test_without_a_schema_the_page_shows_a_tree() -> None:
    assert BROWSER is not None
    doc = {"answer": "forty-two", "steps": [{"n": 1, "ok": True}, {"n": 2, "ok": None}]}
    async with service() as svc, client(svc) as http, launch(BROWSER) as browser:
        text = json.dumps(doc)
        half = len(text) // 2
        await http.post("/messages/tree-1/chunks", content=text[:half].encode())
        page = await browser.new_page(f"{svc.url}/#m=tree-1")  # it joins in the middle
        await page.wait_for("document.getElementById('view').dataset.view === 'ready'")
        assert await page.eval("document.querySelector('.doc').classList.contains('tree')")
        await http.post("/messages/tree-1/chunks?end=1", content=text[half:].encode())
        await page.wait_for("document.getElementById('view').dataset.stream === 'completed'")
        rows = rows_by_path(await page.eval(ROWS))
        assert '["steps",1,"ok"]' in rows and {r[1] for r in rows.values()} == {"complete"}
        assert (
            await page.eval(
                "document.querySelector('[data-path=\\'[\"answer\"]\\'] .val').textContent"
            )
            == "forty-two"
        )
        await page.screenshot(ARTIFACTS / "serve-tree.png")
        # a finished message opened afterwards: its final value at once
        page2 = await browser.new_page(f"{svc.url}/#m=tree-1")
        await page2.wait_for("document.getElementById('view').dataset.stream === 'completed'")
        assert await page2.eval("document.querySelectorAll('#view [data-path]').length") == len(
            rows
        )
    assert trio  # (trio runs the test)
