"""``jsonvisor parse --follow PATH`` as installed: the value at PATH as it grows and completes."""

from __future__ import annotations

import json
import os
import select
import subprocess
import time

import pytest

from jsonvisor.cli.follow import WILD, parse_path
from jsonvisor.llm import load_recording
from test_cli import COMMAND, DONE, chat, one_line, run, sse, tool

DOC = {
    "title": "Hello, world",
    "items": [{"title": "one", "n": 1}, {"title": "two", "n": 2}, "three"],
    "meta": {"tags": ["a", "b"], "a b": True},
}


def chunked(text: str, size: int) -> list[bytes]:
    data = text.encode()
    return [data[i : i + size] for i in range(0, len(data), size)]


def follow(path: str, data: bytes, *args: str) -> tuple[int, str]:
    r = run("parse", "--follow", path, *args, stdin=data)
    return r.code, r.stdout


@pytest.mark.parametrize(
    "path,expected",
    [
        ("$", json.dumps(DOC, ensure_ascii=False) + "\n"),
        ("$.title", "Hello, world\n"),
        ("$.items[*]", '{"title": "one", "n": 1}\n{"title": "two", "n": 2}\nthree\n'),
        ("$.items[*].title", "one\ntwo\n"),
        ("$.items[0].title", "one\n"),
        ("$.items[2]", "three\n"),
        ("$.meta.tags", '["a", "b"]\n'),
        ("$.meta.*", '["a", "b"]\ntrue\n'),
        ('$.meta["a b"]', "true\n"),
        ("items[1].n", "2\n"),
    ],
)
def test_paths(path, expected):
    code, out = follow(path, json.dumps(DOC).encode())
    assert code == 0 and out == expected


def test_same_output_whatever_the_chunking():
    """Fed token by token (strings grow over many events) or whole (values arrive in one
    ancestor's completion), the output is the same: the events are the only source."""
    text = json.dumps(DOC)
    script = (
        "import sys, time\n"
        "for line in sys.stdin.buffer.read().split(b'\\0'):\n"
        "    sys.stdout.buffer.write(line); sys.stdout.flush(); time.sleep(0.002)\n"
    )
    for size in (1, 3, 7):
        pieces = b"\0".join(chunked(text, size))
        producer = subprocess.Popen(
            ["python3", "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        consumer = subprocess.Popen(
            [*COMMAND, "parse", "--follow", "$.items[*].title"],
            stdin=producer.stdout,
            stdout=subprocess.PIPE,
        )
        assert producer.stdout is not None
        producer.stdout.close()
        producer.communicate(pieces, timeout=60)
        out, _ = consumer.communicate(timeout=60)
        assert consumer.returncode == 0
        assert out == b"one\ntwo\n", size


def _read_until(fd: int, want: bytes, timeout: float = 30) -> bytes:
    got = b""
    deadline = time.monotonic() + timeout
    while want not in got:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        assert ready, f"timed out waiting for {want!r}; got {got!r}"
        data = os.read(fd, 4096)
        assert data, f"end of output before {want!r}; got {got!r}"
        got += data
    return got


def test_a_string_is_printed_as_it_grows():
    proc = subprocess.Popen(
        [*COMMAND, "parse", "--follow", "$.answer"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write(b'{"answer": "Hel')
        proc.stdin.flush()
        seen = _read_until(proc.stdout.fileno(), b"Hel")  # before the string is complete
        assert seen == b"Hel"
        proc.stdin.write(b"lo, wor")
        proc.stdin.flush()
        seen += _read_until(proc.stdout.fileno(), b"wor")
        proc.stdin.write(b'ld", "n": 1}')
        proc.stdin.close()
        seen += proc.stdout.read()
    finally:
        proc.wait(timeout=60)
    assert seen == b"Hello, world\n" and proc.returncode == 0


def test_interleaved_tool_calls_do_not_mix():
    # the recording interleaves the fragments of three parallel tool calls
    code, out = follow("$.location", load_recording("openai_chat_parallel_tools"))
    assert code == 0 and out == "Zürich, Switzerland\nSão Paulo, Brazil\n"


def test_two_strings_growing_at_once_each_get_a_line():
    stream = sse(
        chat(tool('{"q": "alpha ', id="c1", name="f")),
        chat(
            {"tool_calls": [{"index": 1, "id": "c2", "function": {"name": "f", "arguments": ""}}]}
        ),
        chat({"tool_calls": [{"index": 1, "function": {"arguments": '{"q": "beta '}}]}),
        chat(tool("one")),
        chat({"tool_calls": [{"index": 1, "function": {"arguments": 'two"}'}}]}),
        chat(tool('"}')),
        chat({}, "tool_calls"),
        DONE,
    )
    code, out = follow("$.q", stream)
    assert code == 0 and out == "alpha one\nbeta two\n"


def test_text_message_json_and_recordings():
    code, out = follow("$.plan[0].theme", load_recording("openai_chat_fenced_json"))
    assert code == 0 and out == "Temples of Higashiyama\n"
    code, out = follow("$.attendees[*].email", load_recording("anthropic_tool_use"))
    assert code == 0 and out.splitlines()[0] == "amelie.durand@example.com"


def test_ndjson_documents():
    code, out = follow("$.a", b'{"a": "x"}\n{"b": 1}\n{"a": [1]}\n')
    assert code == 0 and out == "x\n[1]\n"


def test_ndjson_documents_lost_in_a_failing_chunk_are_followed():
    data = b"".join(b'{"a": %d}\n' % i for i in range(50)) + b"{bad\n"
    code, out = follow("$.a", data, "--format", "ndjson")
    assert code == 1 and out.split() == [str(i) for i in range(50)]


def test_cut_string_is_printed_and_ended():
    r = run("parse", "--follow", "$.a.b", "--require-complete", stdin=b'{"a": {"b": "hello wor')
    assert r.stdout == "hello wor\n" and r.code == 3


def test_nothing_at_the_path_is_an_input_error():
    r = run("parse", "--follow", "$.nope", stdin=b'{"a": 1}')
    assert r.code == 1 and r.stdout == ""
    assert "nothing at $.nope" in one_line(r.stderr)


@pytest.mark.parametrize("path", ["$.a[", "$..a", "$.a[-1]", "$[x]", "$.a b"])
def test_bad_path_is_a_usage_error(path):
    r = run("parse", "--follow", path, stdin=b"{}")
    assert r.code == 2 and "--follow" in one_line(r.stderr)


def test_parse_path():
    assert parse_path("$") == ()
    assert parse_path("$.items[*].title") == ("items", WILD, "title")
    assert parse_path('$["a b"][3].*') == ("a b", 3, WILD)
    assert parse_path("$['it\\'s']") == parse_path('$["it\'s"]') == ("it's",)
    assert parse_path(".a.b") == parse_path("a.b") == ("a", "b")
