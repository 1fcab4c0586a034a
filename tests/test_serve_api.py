"""``jsonvisor serve`` over real sockets: ingest, subscribe, results, watchers, schemas,
the token and every refusal (each an HTTP error with a JSON body)."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
import trio

from jsonvisor.cli import main
from jsonvisor.serve import ConfigError, ServeConfig, ServerLimits
from jsonvisor.serve.config import schema_from
from jsonvisor.serve.security import read_token, token_matches
from serve_support import RawConnection, client, parse_sse, read_events, service

DOC = {
    "title": 'Streaming "JSON" \u00e9t\u00e9 \U0001f600',
    "items": [{"n": 1, "tags": ["a", "b"]}, {"n": 2, "tags": []}, {"n": 3.5, "tags": ["c"]}],
    "done": True,
    "note": None,
}
TEXT = json.dumps(DOC, ensure_ascii=False).encode()


def pieces(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def rebuild(events: list[tuple[str, Any]]) -> Any:
    """The value a client builds from a stream: the snapshot, then each event."""
    value: Any = None

    def parent(path: list[Any]) -> Any:
        node = value
        for part in path[:-1]:
            node = node[part]
        return node

    def put(path: list[Any], v: Any) -> None:
        nonlocal value
        if not path:
            value = v
            return
        node = parent(path)
        if isinstance(node, list) and path[-1] == len(node):
            node.append(v)
        else:
            node[path[-1]] = v

    for name, data in events:
        if name == "snapshot":
            value = data["value"]
        elif name == "value_started":
            put(data["path"], {"object": {}, "array": [], "string": ""}[data["kind"]])
        elif name == "string_grew":
            path = data["path"]
            if path:
                parent(path)[path[-1]] += data["text"]
            else:
                value += data["text"]
        elif name == "value_completed" and not data.get("same"):
            put(data["path"], data["value"])
    return value


async def test_ingest_subscribe_result() -> None:
    async with service() as svc, client(svc) as http:
        async with trio.open_nursery() as nursery:
            got: list[Any] = []

            async def subscriber() -> None:
                got.extend(await read_events(http, "/messages/m-1/events"))

            nursery.start_soon(subscriber)
            await trio.sleep(0.05)  # the stream is open before the first chunk

            async def body():  # a chunked request body, streamed chunk by chunk
                for part in pieces(TEXT[:60], 7):
                    yield part
                    await trio.sleep(0)

            r = await http.post("/messages/m-1/chunks", content=body())
            assert r.status_code == 202, r.text
            assert r.json()["accepted"] == 60 and r.json()["state"] == "open"
            r = await http.post("/messages/m-1/chunks?end=1", content=TEXT[60:])
            assert r.status_code == 202 and r.json()["state"] in ("ending", "completed")
        names = [n for n, _ in got]
        assert names[0] == "snapshot" and names[-1] == "completed"
        assert {"value_started", "string_grew", "value_completed"} <= set(names)
        assert got[-1][1]["value"] == DOC and got[-1][1]["complete"] is True
        assert rebuild(got) == DOC
        r = await http.get("/messages/m-1")
        body = r.json()
        assert body["state"] == "completed" and body["result"]["value"] == DOC
        assert body["bytes"] == len(TEXT)
        listing = (await http.get("/messages")).json()
        assert [m["id"] for m in listing["recent"]] == ["m-1"] and listing["live"] == []
        stats = (await http.get("/stats")).json()
        assert stats["supervisor"]["messages_completed"] == 1
        assert stats["service"]["bytes_ingested"] == len(TEXT)


async def test_several_posts_append_in_order_and_end_waits() -> None:
    async with service() as svc, client(svc) as http:
        for part in pieces(TEXT, 5):
            assert (await http.post("/messages/seq/chunks", content=part)).status_code == 202
        r = await http.post("/messages/seq/end?wait=10")
        assert r.status_code == 200
        assert r.json()["result"]["value"] == DOC


async def test_a_late_subscriber_starts_from_a_consistent_snapshot() -> None:
    async with service() as svc, client(svc) as http:
        half = len(TEXT) // 2
        for part in pieces(TEXT[:half], 9):
            await http.post("/messages/late/chunks", content=part)
        for compact in ("", "?compact=1"):
            async with trio.open_nursery() as nursery:
                got: list[Any] = []

                async def sub(url: str = "/messages/late/events" + compact, got=got) -> None:
                    got.extend(await read_events(http, url))

                nursery.start_soon(sub)
                await trio.sleep(0.05)
                if compact:
                    for part in pieces(TEXT[half:], 9):
                        await http.post("/messages/late/chunks", content=part)
                    await http.post("/messages/late/end")
                else:
                    nursery.cancel_scope.cancel()
            if compact:
                assert got[0][0] == "snapshot" and got[0][1]["value"] not in (None, DOC)
                assert rebuild(got) == DOC
                assert any(d.get("same") for n, d in got if n == "value_completed")
        # after the end, a subscriber gets the final value and the terminal event at once
        final = await read_events(http, "/messages/late/events")
        assert [n for n, _ in final] == ["snapshot", "completed"]
        assert final[0][1]["value"] == DOC


async def test_watch_paths_in_the_stream_and_the_snapshot() -> None:
    async with service() as svc, client(svc) as http:
        async with trio.open_nursery() as nursery:
            got: list[Any] = []

            async def sub() -> None:
                url = "/messages/w/events?watch=$.items[*].n&watch=$.title&watch_text=1"
                got.extend(await read_events(http, url))

            nursery.start_soon(sub)
            await trio.sleep(0.05)
            for part in pieces(TEXT, 4):
                await http.post("/messages/w/chunks", content=part)
            await http.post("/messages/w/end")
        watched = [d for n, d in got if n == "watched"]
        assert [(d["path"], d["value"]) for d in watched] == [
            (["title"], DOC["title"]),
            (["items", 0, "n"], 1),
            (["items", 1, "n"], 2),
            (["items", 2, "n"], 3.5),
        ]
        assert "".join(d["text"] for n, d in got if n == "watched_text") == DOC["title"]
        r = await http.get("/messages/w?watch=$.items[*].tags")
        assert [w["value"] for w in r.json()["watched"]] == [["a", "b"], [], ["c"]]
        # a stream cut inside a watched value: it comes with complete false
        async with trio.open_nursery() as nursery:
            cut: list[Any] = []

            async def sub2() -> None:
                cut.extend(await read_events(http, "/messages/cut/events?watch=$.a[*]"))

            nursery.start_soon(sub2)
            await trio.sleep(0.05)
            await http.post("/messages/cut/chunks", content=b'{"a": ["x", "y')
            await http.post("/messages/cut/end")
        found = [(d["value"], d["complete"]) for n, d in cut if n == "watched"]
        assert found == [("x", True), ("y", False)]
        assert cut[-1][0] == "completed" and cut[-1][1]["complete"] is False


async def test_bad_input_fails_its_message_only() -> None:
    async with service(lenient=False) as svc, client(svc) as http:
        await http.post("/messages/bad/chunks?end=1", content=b'{"a": [1 2]}')
        await http.post("/messages/good/chunks?end=1", content=b'{"a": [1, 2]}')
        bad = (await http.get("/messages/bad?wait=10")).json()
        good = (await http.get("/messages/good?wait=10")).json()
        assert bad["state"] == "failed" and bad["error"]["offset"] == 9
        assert good["result"]["value"] == {"a": [1, 2]}


async def test_a_schema_gives_the_whole_shape() -> None:
    schema = {
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
    }
    async with service(schemas={"card": schema_from("card", schema)}) as svc, client(svc) as http:
        r = await http.post("/messages/c/chunks?schema=card", content=b"")  # declared, no byte
        assert r.status_code == 202 and r.json()["schema"] == "card"
        first = await read_events(http, "/messages/c/events?compact=1", until="snapshot")
        assert first[0][1]["schema_source"] == schema and first[0][1]["value"] is None
        await http.post("/messages/c/chunks", content=b'{"title": "Te')
        snap = (await http.get("/messages/c")).json()
        assert snap["value"] == {"title": "Te", "tags": []}  # the parser's skeleton
        r = await http.post("/messages/c/chunks?schema=other", content=b"")
        assert r.status_code == 400 and r.json()["error"]["code"] == "unknown_schema"
        assert (await http.get("/schemas")).json() == {"schemas": ["card"]}
        assert (await http.get("/schemas/card")).json() == schema


async def test_the_token_is_required_and_checked(tmp_path: Any) -> None:
    token = "s3cret-token-0123456789"
    path = tmp_path / "token"
    path.write_text(token + "\n")
    os.chmod(path, 0o600)
    assert read_token(path) == token
    async with service(token=token) as svc, client(svc) as http:
        for headers in (
            {},
            {"Authorization": "Bearer wrong-token-0123456789"},
            {"Authorization": "Basic " + token},
            {"Authorization": token},
        ):
            r = await http.get("/messages", headers=headers)
            assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
            assert r.headers["www-authenticate"].startswith("Bearer")
        ok = {"Authorization": f"Bearer {token}"}
        assert (await http.get("/messages", headers=ok)).status_code == 200
        r = await http.post("/messages/t/chunks?end=1", content=b"[1]", headers=ok)
        assert r.status_code == 202
        assert (await http.get("/")).status_code == 200  # the page asks for the token
        assert (await http.get("/openapi.json")).status_code == 200
    assert token_matches(b"Bearer " + token.encode(), token.encode())
    assert not token_matches(b"Bearer " + token.encode()[:-1], token.encode())


def test_another_address_needs_a_token(tmp_path: Any, capsys: Any) -> None:
    with pytest.raises(ConfigError):
        ServeConfig(host="0.0.0.0").check()
    ServeConfig(host="0.0.0.0", token="x" * 20).check()  # (nothing is bound here)
    ServeConfig(host="127.0.0.2").check()  # loopback
    assert main(["serve", "--host", "0.0.0.0"]) == 2
    assert "--token-file" in capsys.readouterr().err
    loose = tmp_path / "loose"
    loose.write_text("x" * 20)
    os.chmod(loose, 0o644)
    assert main(["serve", "--host", "0.0.0.0", "--token-file", str(loose)]) == 2
    assert "chmod 600" in capsys.readouterr().err
    short = tmp_path / "short"
    short.write_text("abc")
    os.chmod(short, 0o600)
    assert main(["serve", "--token-file", str(short)]) == 2
    assert "at least 16" in capsys.readouterr().err


async def refused(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]


async def test_every_refusal_is_an_http_error_with_a_json_body() -> None:
    limits = ServerLimits(max_chunk_bytes=1024, max_header_bytes=4096)
    options = dict(
        limits=limits,
        max_request_bytes=2048,
        max_message_bytes=3000,
        max_messages=3,
        max_subscribers=1,
    )
    async with service(**options) as svc, client(svc) as http:
        await refused(await http.get("/nothing-here"), 404, "not_found")
        await refused(await http.put("/messages/x/chunks"), 405, "method_not_allowed")
        await refused(await http.get("/messages/bad%2Fid"), 400, "invalid_id")
        await refused(await http.get("/messages/" + "x" * 201), 400, "invalid_id")
        await refused(await http.get("/messages/unknown"), 404, "unknown_message")
        await refused(await http.get("/messages/x/events?watch=$.a[x"), 400, "invalid_path")
        many = "&".join(["watch=$.a"] * 9)
        await refused(await http.get(f"/messages/x/events?{many}"), 400, "too_many_paths")
        await refused(
            await http.post("/messages/big/chunks", content=b"[" * 3000), 413, "request_too_large"
        )

        async def chunked(n: int):
            for _ in range(n):
                yield b" " * 1000

        await refused(
            await http.post("/messages/big2/chunks", content=chunked(3)), 413, "request_too_large"
        )
        await http.post("/messages/full/chunks", content=b" " * 2000)
        await refused(
            await http.post("/messages/full/chunks", content=b" " * 1500), 413, "message_too_large"
        )
        await refused(
            await http.get("/", headers={"Host": "evil.example:80"}), 403, "forbidden_host"
        )
        r = await http.post(
            "/messages/o/chunks", content=b"1", headers={"Origin": "http://evil.example"}
        )
        await refused(r, 403, "cross_origin")
        await http.post("/messages/ended/chunks?end=1", content=b"[1]")
        r = await http.post("/messages/ended/chunks", content=b"1")  # ending, or finished
        assert r.status_code == 409 and r.json()["error"]["code"] in (
            "message_ended",
            "message_finished",
        )
        await http.get("/messages/ended?wait=10")
        await refused(
            await http.post("/messages/ended/chunks", content=b"1"), 409, "message_finished"
        )
        await http.post("/messages/third/chunks", content=b"[")
        # live messages: big2, full and third (3 = max_messages)
        await refused(
            await http.post("/messages/one-more/chunks", content=b"1"), 429, "too_many_messages"
        )
        async with trio.open_nursery() as nursery:
            nursery.start_soon(read_events, http, "/messages/full/events")
            await trio.sleep(0.05)
            await refused(await http.get("/messages/full/events"), 429, "too_many_subscribers")
            nursery.cancel_scope.cancel()
        # a chunk of a chunked body over max_chunk_bytes, and a head over max_header_bytes
        raw = await RawConnection.open(svc)
        await raw.send(
            b"POST /messages/full/chunks HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n800\r\n" + b" " * 2048 + b"\r\n"
        )
        status, _, body = await raw.response()
        assert status == 413 and json.loads(body)["error"]["code"] == "chunk_too_large"
        await raw.aclose()
        raw = await RawConnection.open(svc)
        await raw.send(
            b"GET /stats HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 5000 + b"\r\n\r\n"
        )
        status, _, body = await raw.response()
        assert status == 431 and json.loads(body)["error"]["code"] == "headers_too_large"
        await raw.aclose()
        raw = await RawConnection.open(svc)
        await raw.send(b"NONSENSE\r\n\r\n")
        status, _, body = await raw.response()
        assert status == 400 and json.loads(body)["error"]["code"] == "bad_request"
        await raw.aclose()
        stats = (await http.get("/stats")).json()["service"]["refusals"]
        assert stats["too_many_messages"] == 1 and stats["invalid_id"] == 2


async def test_openapi_and_the_page_are_served() -> None:
    async with service() as svc, client(svc) as http:
        spec = (await http.get("/openapi.json")).json()
        assert spec["openapi"].startswith("3.")
        for path in (
            "/messages/{id}/chunks",
            "/messages/{id}/end",
            "/messages/{id}/events",
            "/messages/{id}",
            "/messages",
            "/stats",
            "/upstreams/{name}",
        ):
            assert path in spec["paths"]
        page = await http.get("/")
        assert page.headers["content-type"].startswith("text/html")
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert b'src="/app.js"' in page.content
        assert (await http.get("/app.js")).headers["content-type"].startswith("text/javascript")
        assert (await http.get("/app.css")).status_code == 200


async def test_the_message_list_as_events() -> None:
    async with service() as svc, client(svc) as http:
        await http.post("/messages/before/chunks?end=1", content=b"[1]")
        await http.get("/messages/before?wait=10")
        text = ""
        async with http.stream("GET", "/events") as response:
            lines = response.aiter_text()
            text += await lines.__anext__()
            await http.post("/messages/after/chunks", content=b"[1")
            while text.count("event: message\n") < 1:
                text += await lines.__anext__()
        events = parse_sse(text)
        assert events[0][0] == "messages"
        assert [m["id"] for m in events[0][1]["recent"]] == ["before"]
        assert events[1][1]["id"] == "after" and events[1][1]["state"] == "waiting"
