"""``jsonvisor parse`` as installed: records, formats, exit codes, one-line errors, options.

Every test runs the installed command (``.venv/bin/jsonvisor``, or ``python -m jsonvisor``
where the script is not next to the interpreter) in a subprocess.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from jsonvisor.llm import load_recording

_SCRIPT = Path(sys.executable).with_name("jsonvisor")
COMMAND = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "jsonvisor"]
KEYS = ("msg", "type", "kind", "finish_reason", "complete", "confidence", "repairs")


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stdout.splitlines()]

    def finals(self) -> list[dict[str, Any]]:
        return [r for r in self.records if r["type"] == "final"]


def run(*args: str, stdin: bytes = b"", cwd: Path | None = None) -> Run:
    """Run the installed command; check it never shows a traceback."""
    proc = subprocess.run([*COMMAND, *args], input=stdin, capture_output=True, timeout=120, cwd=cwd)
    out, err = proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8")
    assert "Traceback" not in err, err
    return Run(proc.returncode, out, err)


def one_line(err: str) -> str:
    """The one stderr line a failure prints."""
    lines = err.splitlines()
    assert len(lines) == 1, err
    return lines[0]


def sse(*events: tuple[str | None, Any]) -> bytes:
    """Server-sent events: ``(event type or None, data dict or str)``."""
    out = []
    for event, data in events:
        if event:
            out.append(f"event: {event}")
        out.append("data: " + (data if isinstance(data, str) else json.dumps(data)))
        out.append("")
    return ("\n".join(out) + "\n").encode()


def chat(delta: dict[str, Any], finish: str | None = None) -> tuple[None, dict[str, Any]]:
    chunk = {"index": 0, "delta": delta, "finish_reason": finish}
    return None, {"id": "chatcmpl-T1", "object": "chat.completion.chunk", "choices": [chunk]}


def tool(text: str, **first: str) -> dict[str, Any]:
    call: dict[str, Any] = {"index": 0, "function": {"arguments": text}}
    if first:
        call.update(id=first["id"], type="function")
        call["function"]["name"] = first["name"]
    return {"tool_calls": [call]}


DONE = (None, "[DONE]")
PROSE_THEN_TOOL = sse(
    chat({"role": "assistant", "content": "Let me check "}),
    chat({"content": "the weather…"}),
    chat(tool('{"city": ', id="call_1", name="get_weather")),
    chat(tool('"Par')),
    chat(tool('is"}')),
    chat({}, "tool_calls"),
    DONE,
)


def anthropic(*blocks: tuple[str, str], stop: str = "end_turn", cut: int | None = None) -> bytes:
    """An Anthropic stream of text/tool blocks, optionally cut after ``cut`` events."""
    events: list[tuple[str | None, Any]] = [
        ("message_start", {"type": "message_start", "message": {"id": "msg_1"}})
    ]
    for i, (kind, text) in enumerate(blocks):
        if kind == "text":
            start = {"type": "text", "text": ""}
            delta = {"type": "text_delta", "text": text}
        else:
            start = {"type": "tool_use", "id": f"toolu_{i}", "name": kind, "input": {}}
            delta = {"type": "input_json_delta", "partial_json": text}
        for name, extra in [
            ("content_block_start", {"content_block": start}),
            ("content_block_delta", {"delta": delta}),
            ("content_block_stop", {}),
        ]:
            events.append((name, {"type": name, "index": i, **extra}))
    events += [
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop}}),
        ("message_stop", {"type": "message_stop"}),
    ]
    return sse(*events[:cut])


# -- records -------------------------------------------------------------------------------


def test_raw_json_final_record():
    r = run("parse", stdin=b'{"a": [1, {"b": "x"}]}')
    assert r.code == 0 and r.stderr == ""
    assert r.records == [
        {
            "msg": "stdin",
            "type": "final",
            "kind": "json",
            "finish_reason": None,
            "complete": True,
            "confidence": "high",
            "repairs": [],
            "value": {"a": [1, {"b": "x"}]},
        }
    ]


def test_prose_before_a_tool_call_is_kept_as_text():
    r = run("parse", stdin=PROSE_THEN_TOOL)
    assert r.code == 0, r.stderr
    text, call = r.records
    assert text == {
        "msg": "chatcmpl-T1:choice0:content",
        "type": "final",
        "kind": "text",
        "finish_reason": "tool_calls",
        "complete": True,
        "confidence": "high",
        "repairs": [],
        "text": "Let me check the weather…",
    }
    assert call == {
        "msg": "chatcmpl-T1:choice0:tool0",
        "type": "final",
        "kind": "tool_call",
        "name": "get_weather",
        "call_id": "call_1",
        "finish_reason": "tool_calls",
        "complete": True,
        "confidence": "high",
        "repairs": [],
        "value": {"city": "Paris"},
    }


def test_prose_only_answers_keep_their_text():
    refusal = anthropic(("text", "I can't help with that."), stop="refusal")
    first = {"content": {"parts": [{"text": "Paris is "}]}}
    last = {"content": {"parts": [{"text": "in France."}]}, "finishReason": "STOP"}
    gemini = sse((None, {"candidates": [first]}), (None, {"candidates": [last]}))
    r = run("parse", stdin=gemini)
    assert r.code == 0, r.stderr
    assert r.records[0]["text"] == "Paris is in France."
    assert r.records[0]["kind"] == "text" and r.records[0]["finish_reason"] == "STOP"
    assert "value" not in r.records[0] and r.records[0]["repairs"] == []
    r = run("parse", stdin=refusal)
    (rec,) = r.records
    assert rec["text"] == "I can't help with that." and rec["finish_reason"] == "refusal"
    assert rec["complete"] is False  # a refusal is not a complete answer
    assert r.code == 0
    assert run("parse", "--require-complete", stdin=refusal).code == 3


def test_anthropic_records_carry_the_stop_reason_tool_name_and_id():
    r = run("parse", stdin=load_recording("anthropic_tool_use"))
    assert r.code == 0, r.stderr
    text, call = r.records
    assert text["kind"] == "text" and text["text"].startswith("I'll put that on your calendar")
    assert call["kind"] == "tool_call" and call["name"] == "create_calendar_event"
    assert call["call_id"] == "toolu_01T1x1fJ34qAmk2tNTrN7Up6"
    assert text["finish_reason"] == call["finish_reason"] == "tool_use"
    assert call["value"]["duration_minutes"] == 45


CHAT_IDS = ["call_Qm4bJ8pVx2TfK7nRzW1sHd3L", "call_7YcXe0LqNa5GvUo9Bi2MkPrS"]
CHAT_IDS.append("call_Hs1WdZ6tRy8JfA3nCe4VgXbO")


@pytest.mark.parametrize(
    "name,ids",
    [
        ("openai_chat_parallel_tools", CHAT_IDS),
        ("openai_responses_function_call", [None, "call_unLAR8MvFNptuiZK6K6HCy5k"]),
    ],
)
def test_every_message_of_a_recording_has_one_final_record(name, ids):
    r = run("parse", stdin=load_recording(name))
    assert r.code == 0, r.stderr
    assert [rec.get("call_id") for rec in r.records] == ids
    assert all(rec["type"] == "final" and rec["complete"] for rec in r.records)
    assert len({rec["msg"] for rec in r.records}) == len(ids)
    for rec in r.records:
        assert tuple(k for k in rec if k in KEYS) == KEYS
        assert ("value" in rec) == (rec["kind"] == "tool_call")
        assert ("text" in rec) == (rec["kind"] == "text")


def test_fenced_json_in_a_text_message_gives_value_and_text():
    r = run("parse", stdin=load_recording("openai_chat_fenced_json"))
    (rec,) = r.records
    assert r.code == 0
    assert rec["kind"] == "text" and rec["value"]["city"] == "Kyoto"
    assert "```json" in rec["text"]


def test_bad_tool_arguments_keep_their_text_and_say_where():
    stream = sse(chat(tool('{"a": 01}', id="call_9", name="f")), chat({}, "tool_calls"), DONE)
    r = run("parse", stdin=stream)
    assert r.code == 1
    (rec,) = r.records
    assert rec["text"] == '{"a": 01}' and "value" not in rec and rec["complete"] is False
    assert rec["error"]["offset"] == 7 and rec["error"]["column"] == 8
    line = one_line(r.stderr)
    assert "tool call f (call_9)" in line and "leading zero" in line


def test_events_and_snapshots_end_with_the_final_record():
    r = run("parse", "--emit", "events", stdin=b'{"a": "b"}')
    assert [rec["type"] for rec in r.records] == [
        "value_started",
        "value_started",
        "value_completed",
        "value_completed",
        "document_completed",
        "final",
    ]
    started = {"msg": "stdin", "type": "value_started", "path": ["a"], "kind": "string"}
    assert r.records[1] == started
    assert r.records[2] == {"msg": "stdin", "type": "value_completed", "path": ["a"], "value": "b"}
    r = run("parse", "--emit", "snapshots", stdin=b"[1, 2]")
    assert r.records[0] == {"msg": "stdin", "type": "snapshot", "value": [1, 2]}
    assert r.records[-1]["type"] == "final"


def strict_json(text: str) -> Any:
    """``json.loads`` as a strict reader: NaN and Infinity are not JSON."""

    def refuse(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


NAN_DOC = b'{"a": NaN, "b": [Infinity, -Infinity, 1.5], "c": "NaN"}'
NAN_WARNINGS = [
    "NaN at $.a is not valid JSON: written as null",
    "Infinity at $.b[0] is not valid JSON: written as null",
    "-Infinity at $.b[1] is not valid JSON: written as null",
]


@pytest.mark.parametrize("pretty", [[], ["--pretty"]])
def test_nan_and_infinity_are_written_as_null_with_a_warning(pretty):
    r = run("parse", "--lenient", *pretty, stdin=NAN_DOC)
    assert r.code == 0 and r.stderr == ""
    rec = strict_json(r.stdout)
    assert rec["value"] == {"a": None, "b": [None, None, 1.5], "c": "NaN"}
    assert rec["warnings"] == NAN_WARNINGS and rec["complete"] is True
    # a number past a double's range reads as an infinity, in strict mode too
    r = run("parse", stdin=b'{"big": 1e999}')
    rec = strict_json(r.stdout)
    assert rec["value"] == {"big": None}
    assert rec["warnings"] == ["Infinity at $.big is not valid JSON: written as null"]


@pytest.mark.parametrize("emit", ["events", "snapshots"])
def test_nan_in_every_kind_of_record_is_strict_json(emit):
    r = run("parse", "--lenient", "--emit", emit, stdin=NAN_DOC)
    assert r.code == 0
    records = [strict_json(line) for line in r.stdout.splitlines()]
    with_a = [rec for rec in records if "value" in rec and rec.get("path") == ["a"]]
    if emit == "events":
        assert with_a == [
            {
                "msg": "stdin",
                "type": "value_completed",
                "path": ["a"],
                "value": None,
                "warnings": [NAN_WARNINGS[0]],
            }
        ]
    assert records[-1]["warnings"] == NAN_WARNINGS
    r = run("parse", "--lenient", "--format", "ndjson", stdin=b'{"x": NaN}\n{"x": 2}\n')
    first, second = (strict_json(line) for line in r.stdout.splitlines())
    assert first["value"] == {"x": None} and first["warnings"] == [
        "NaN at $.x is not valid JSON: written as null"
    ]
    assert second == {"msg": "stdin", "type": "document", "index": 1, "value": {"x": 2}}
    r = run("parse", "--lenient", "--follow", "$.b[*]", stdin=NAN_DOC)
    assert [strict_json(line) for line in r.stdout.splitlines()] == [None, None, 1.5]


def test_pretty():
    r = run("parse", "--pretty", stdin=b'{"a": [1]}')
    assert r.stdout.startswith('{\n  "msg": "stdin",\n')
    assert json.loads(r.stdout)["value"] == {"a": [1]}


# -- NDJSON --------------------------------------------------------------------------------


def _documents(r: Run) -> list[Any]:
    return [rec["value"] for rec in r.records if rec["type"] == "document"]


def test_ndjson_by_format_name_and_content(tmp_path):
    data = b'{"a": 1}\n[2]\n"three"\n'
    for args in (["--format", "ndjson"], [str(tmp_path / "x.ndjson")], [str(tmp_path / "x.txt")]):
        (tmp_path / "x.ndjson").write_bytes(data)
        (tmp_path / "x.txt").write_bytes(data)
        r = run("parse", *args, stdin=data)
        assert r.code == 0, (args, r.stderr)
        assert _documents(r) == [{"a": 1}, [2], "three"]
        assert [rec["index"] for rec in r.records] == [0, 1, 2]


def test_ndjson_detected_after_a_first_line_longer_than_any_lookahead(tmp_path):
    first = json.dumps({"big": "y" * 300_000})
    data = (
        first + "\n" + "\n".join(json.dumps({"i": i}) for i in range(3)) + '\n{"i": 01}\n'
    ).encode()
    r = run("parse", stdin=data)
    assert _documents(r) == [json.loads(first), {"i": 0}, {"i": 1}, {"i": 2}]
    assert r.code == 1
    err = r.records[-1]["error"]
    assert (err["line"], err["column"], err["offset"]) == (5, 8, len(first) + 1 + 3 * 9 + 7)


def test_ndjson_with_lenient_lines():
    r = run("parse", "--lenient", stdin=b"{a: 1}\n{b: 'two'}\n")
    assert r.code == 0 and _documents(r) == [{"a": 1}, {"b": "two"}]


def test_good_ndjson_lines_before_an_error_are_all_written(tmp_path):
    path = tmp_path / "n.ndjson"
    path.write_text(
        "".join(json.dumps({"i": i, "pad": "x" * 100}) + "\n" for i in range(999)) + "{bad\n"
    )
    r = run("parse", str(path))
    assert r.code == 1
    assert [d["i"] for d in _documents(r)] == list(range(999))
    assert r.records[-1]["index"] == 999 and r.records[-1]["error"]["line"] == 1000
    r = run("parse", "--emit", "events", str(path))
    completed = [rec["index"] for rec in r.records if rec["type"] == "document_completed"]
    assert completed == list(range(999))


def test_ndjson_cut_in_its_last_line():
    r = run("parse", "--format", "ndjson", "--require-complete", stdin=b'{"a": 1}\n{"b": [2')
    assert _documents(r) == [{"a": 1}]
    assert r.records[-1]["index"] == 1 and r.records[-1]["value"] == {"b": [2]}
    assert r.code == 3


def test_several_values_on_one_line_suggest_multiple():
    r = run("parse", stdin=b'{"a": 1} {"a": 2}')
    assert r.code == 1
    line = one_line(r.stderr)
    assert "--multiple" in line and "multiple_values" not in line
    r = run("parse", "--multiple", stdin=b'{"a": 1} {"a": 2}')
    assert r.code == 0 and _documents(r) == [{"a": 1}, {"a": 2}]


# -- exit codes ----------------------------------------------------------------------------


def test_truncated_input_exit_codes():
    r = run("parse", stdin=b'{"a": [1, "tex')
    assert r.code == 0 and r.stderr == ""
    assert r.records[-1]["value"] == {"a": [1, "tex"]} and r.records[-1]["confidence"] == "medium"
    assert r.records[-1]["repairs"] == [
        "closed an open string at $.a[1]",
        "closed an open array at $.a",
        "closed an open object at $",
    ]
    r = run("parse", "--require-complete", stdin=b'{"a": [1, "tex')
    assert r.code == 3 and "incomplete" in one_line(r.stderr)
    assert run("parse", "--require-complete", stdin=b'{"a": [1, "text"]}').code == 0


def test_cut_provider_stream_exit_codes():
    whole = anthropic(
        ("text", "Booking it."), ("create_event", '{"title": "Review"}'), stop="tool_use"
    )
    r = run("parse", "--require-complete", stdin=whole)
    assert r.code == 0, r.stderr
    cut = anthropic(("text", "Booking it."), ("create_event", '{"title": "Rev'), cut=6)
    r = run("parse", stdin=cut)
    assert r.code == 0
    text, call, stream = r.records
    assert text["complete"] is True and text["text"] == "Booking it."
    assert call["complete"] is False and call["value"] == {"title": "Rev"}
    assert call["stream_error"] == "stream ended before the message was complete"
    assert call["finish_reason"] is None
    assert stream == {
        "msg": None,
        "type": "stream_error",
        "error": "stream ended before message_stop",
        "truncated": True,
    }
    r = run("parse", "--require-complete", stdin=cut)
    assert r.code == 3 and "create_event" in one_line(r.stderr)


def test_max_tokens_is_incomplete():
    stream = sse(chat({"content": "The answer is"}), chat({}, "length"), DONE)
    r = run("parse", stdin=stream)
    assert r.code == 0 and r.records[0]["complete"] is False
    assert r.records[0]["finish_reason"] == "length"
    assert run("parse", "--require-complete", stdin=stream).code == 3


def responses(text: str, *, cut: str | None = None) -> bytes:
    """A Responses API text answer; ``cut``: ended by ``response.incomplete`` with it."""

    def ev(kind: str, **fields: Any) -> tuple[str, dict[str, Any]]:
        return kind, {"type": kind, **fields}

    where = {"output_index": 0, "content_index": 0, "item_id": "msg_1"}
    end = (
        ev(
            "response.incomplete",
            response={
                "id": "resp_1",
                "status": "incomplete",
                "incomplete_details": {"reason": cut},
            },
        )
        if cut
        else ev("response.completed", response={"id": "resp_1", "status": "completed"})
    )
    return sse(
        ev("response.created", response={"id": "resp_1", "status": "in_progress"}),
        ev("response.output_item.added", output_index=0, item={"id": "msg_1", "type": "message"}),
        ev("response.content_part.added", part={"type": "output_text", "text": ""}, **where),
        *[
            ev("response.output_text.delta", delta=text[i : i + 5], **where)
            for i in range(0, len(text), 5)
        ],
        ev("response.output_text.done", text=text, **where),
        ev("response.content_part.done", part={"type": "output_text", "text": text}, **where),
        ev(
            "response.output_item.done",
            output_index=0,
            item={"id": "msg_1", "type": "message", "status": "incomplete" if cut else "completed"},
        ),
        end,
    )


def test_responses_cut_by_max_output_tokens_is_incomplete():
    stream = responses("The plan has two steps: first", cut="max_output_tokens")
    r = run("parse", stdin=stream)
    assert r.code == 0 and r.stderr == ""
    (rec,) = r.records
    assert rec["finish_reason"] == "max_output_tokens" and rec["complete"] is False
    assert rec["text"] == "The plan has two steps: first"
    r = run("parse", "--require-complete", stdin=stream)
    assert r.code == 3 and "finish_reason max_output_tokens" in one_line(r.stderr)
    # a JSON answer cut the same way
    r = run("parse", "--require-complete", stdin=responses('{"a": 1}', cut="content_filter"))
    assert r.code == 3 and r.records[0]["finish_reason"] == "content_filter"
    assert r.records[0]["value"] == {"a": 1} and r.records[0]["complete"] is False
    # the same answer, completed
    r = run("parse", "--require-complete", stdin=responses("The plan has two steps."))
    assert r.code == 0 and r.records[0]["finish_reason"] == "complete"
    assert r.records[0]["complete"] is True


def test_malformed_event_is_a_stream_error_and_one_clear_line():
    stream = sse(
        chat({"content": '{"a": '}),
        (None, {"id": "chatcmpl-T1", "choices": [{"index": 0, "delta": 5}]}),
        chat({"content": "1}"}, "stop"),
        DONE,
    )
    why = "malformed openai-chat event 2: choices[0].delta is 5 (a number), expected an object"
    r = run("parse", stdin=stream)
    assert r.code == 1
    final, error = r.records
    assert final["complete"] is False and final["finish_reason"] is None
    assert final["stream_error"] == why and final["text"] == '{"a": '
    assert error == {"msg": None, "type": "stream_error", "error": why, "truncated": False}
    line = one_line(r.stderr)
    assert line.startswith(f"jsonvisor: stdin: {why}; ") and "--format" in line
    # many of them: still one line
    many = load_recording("anthropic_tool_use").replace(b'"index":1', b'"index":"x"')
    r = run("parse", stdin=many)
    assert r.code == 1
    line = one_line(r.stderr)
    assert 'malformed anthropic event 19 (content_block_start): index is "x"' in line
    assert "more unreadable events" in line


def test_provider_error_exits_1():
    stream = sse(
        chat({"content": "Hi"}),
        (None, {"error": {"message": "overloaded", "type": "server_error"}}),
    )
    r = run("parse", stdin=stream)
    assert r.code == 1
    assert r.records[0]["stream_error"] == "server_error: overloaded"
    assert r.records[1]["type"] == "stream_error" and r.records[1]["truncated"] is False
    line = one_line(r.stderr)
    assert "overloaded" in line and "retry" in line


def test_wrong_format_exits_1_and_names_the_right_one():
    r = run("parse", "--format", "openai-chat", stdin=load_recording("anthropic_tool_use"))
    assert r.code == 1
    assert "--format anthropic" in one_line(r.stderr)
    r = run("parse", "--format", "json", stdin=load_recording("gemini_stream"))
    assert r.code == 1 and "--format gemini" in one_line(r.stderr)


@pytest.mark.parametrize("data", [b"", b"  \n\r\n\t "])
def test_empty_input_exits_1(data):
    r = run("parse", stdin=data)
    assert r.code == 1 and r.stdout == ""
    assert "empty" in one_line(r.stderr)


def test_no_json_value_exits_1():
    r = run("parse", "--lenient", stdin=b"Let me think about it.")
    assert r.code == 1
    assert r.records[0]["complete"] is False and "value" not in r.records[0]
    assert "no JSON value" in one_line(r.stderr)


def test_prose_only_answer_keeps_its_text():
    # Nothing lost: a refusal given to --lenient comes back as the record's text.
    refusal = "Sorry — I can't help with {that} request.\n".encode()
    r = run("parse", "--lenient", stdin=refusal)
    assert r.code == 1 and r.records[0]["text"] == refusal.decode()
    assert "its text is in the record" in one_line(r.stderr)
    # Once a value is found the text is not repeated.
    r = run("parse", "--lenient", stdin=b'Here: {"a": 1}')
    assert r.code == 0 and "text" not in r.records[0]


# -- messages ------------------------------------------------------------------------------


def test_prose_suggests_lenient():
    r = run("parse", stdin=b'Let me check the weather: {"city": "Paris"}')
    assert r.code == 1
    line = one_line(r.stderr)
    assert "found 'L' at byte 0" in line and "--lenient" in line
    assert r.records[0]["error"]["offset"] == 0
    r = run("parse", "--lenient", stdin=b'Let me check the weather: {"city": "Paris"}')
    assert r.code == 0 and r.records[0]["value"] == {"city": "Paris"}


def test_a_word_inside_the_value_is_not_called_prose():
    # (regression) only a word where the value should start is prose; inside it, it is
    # loose JSON (or a mistake)
    for data in (b'{"a": x}', b'  [1, two]'):
        r = run("parse", stdin=data)
        line = one_line(r.stderr)
        assert r.code == 1 and "starts with prose" not in line, line
        assert "use --lenient if it is an LLM's loose JSON" in line
    r = run("parse", stdin=b"  \n Sure: {}")
    assert "starts with prose" in one_line(r.stderr)


def test_a_byte_order_mark_is_named_not_called_prose():
    # (regression) U+FEFF is described by code point, which starts with a letter
    r = run("parse", stdin=b'\xef\xbb\xbf{"a": 1}')
    line = one_line(r.stderr)
    assert r.code == 1 and "starts with prose" not in line, line
    assert "found U+FEFF at byte 0" in line and "byte-order mark (U+FEFF): remove it" in line
    r = run("parse", "--lenient", stdin=b'\xef\xbb\xbf{"a": 1}')
    assert r.code == 0 and r.records[0]["value"] == {"a": 1}


def test_bad_input_is_one_clear_line():
    r = run("parse", stdin=b'{"a": 01}')
    assert r.code == 1
    assert r.records[0]["error"] == {
        "message": "leading zero in number; expected '.', 'e' or the end of the number, "
        "found '1' at byte 7 (line 1, column 8): '{\"a\": 01}'",
        "offset": 7,
        "line": 1,
        "column": 8,
    }
    assert "leading zero" in one_line(r.stderr) and "byte 7" in r.stderr


@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xfe\x00garbage",
        b'data: {"choices": 5}\n\n',
        b'data: {"choices": [{"delta": 5}]}\n\n',
        b'event: content_block_start\ndata: {"type": "content_block_start", "index": "x"}\n\n',
        b'data: {"candidates": [{"content": {"parts": [5]}}]}\n\n',
        b"data: [DONE]\n\n",
        b"\x00" * 5000,
        b"[" * 300,
    ],
)
def test_garbage_is_an_input_error_not_a_traceback(data):
    r = run("parse", stdin=data)
    assert r.code == 1
    one_line(r.stderr)


@pytest.mark.parametrize(
    "args,limit,fix",
    [
        (["--max-depth=2"], "max_depth", "--max-depth"),
        (["--max-bytes=5"], "max_bytes", "--max-bytes"),
        (["--max-number-length", "2"], "max_number_length", "--max-number-length"),
    ],
)
def test_limits_name_the_option_to_raise(args, limit, fix):
    r = run("parse", *args, stdin=b"[[[1, 2, 333]]]")
    line = one_line(r.stderr)
    assert r.code == 1 and limit in line and f"raise {fix}" in line


# -- usage errors ---------------------------------------------------------------------------


def test_missing_file_is_a_usage_error():
    r = run("parse", "/nonexistent/x.json")
    assert r.code == 2 and "cannot read" in one_line(r.stderr)


def test_schema_problems_are_usage_errors(tmp_path):
    (tmp_path / "bad.json").write_text("not json")
    (tmp_path / "ref.json").write_text('{"$ref": "#/$defs/nope"}')
    (tmp_path / "type.json").write_text('{"type": 5}')
    (tmp_path / "number.json").write_text("5")
    (tmp_path / "required.json").write_text('{"properties": {"a": {"required": 7}}}')
    for name, words in [
        ("missing.json", "cannot read"),
        ("bad.json", "is not JSON"),
        ("ref.json", "does not resolve"),
        ("type.json", "'type'"),
        ("number.json", "holds a number, not a schema"),
        ("required.json", "#/properties/a/required: 'required' must be an array"),
    ]:
        r = run("parse", "--schema", str(tmp_path / name), stdin=b"{}")
        assert r.code == 2, name
        assert words in one_line(r.stderr) and "--schema" in r.stderr
        assert r.stdout == ""


def test_boolean_schemas_are_schemas(tmp_path):
    (tmp_path / "true.json").write_text("true")
    (tmp_path / "false.json").write_text("false")
    (tmp_path / "prop.json").write_text('{"properties": {"a": true, "b": false}}')
    r = run("parse", "--schema", str(tmp_path / "true.json"), stdin=b'{"n": 1}')
    assert r.code == 0 and "warnings" not in r.records[0]
    r = run("parse", "--schema", str(tmp_path / "false.json"), stdin=b'{"n": 1}')
    assert r.code == 0 and r.records[0]["warnings"] == [
        "expected no value (schema is false), found object"
    ]
    r = run("parse", "--schema", str(tmp_path / "prop.json"), stdin=b'{"a": [1], "b": 2}')
    assert r.code == 0 and r.records[0]["value"] == {"a": [1], "b": 2}
    assert r.records[0]["warnings"] == ["expected no value (schema is false), found integer 2"]


def test_schema_is_used(tmp_path):
    (tmp_path / "s.json").write_text('{"type": "object", "properties": {"n": {"type": "integer"}}}')
    r = run("parse", "--schema", str(tmp_path / "s.json"), stdin=b'{"n": "x"}')
    assert r.code == 0 and r.records[0]["warnings"]


@pytest.mark.parametrize(
    "args",
    [
        ["--max-bytes", "0"],
        ["--max-bytes", "-5"],
        ["--max-bytes", "lots"],
        ["--max-bytes", "5iB"],
        ["--max-depth", "0"],
        ["--max-number-length", "x"],
        ["--format", "xml"],
        ["--emit", "all"],
        ["--emit", "events", "--follow", "$.a"],
        ["--follow", "$.a["],
        ["--nope"],
    ],
)
def test_bad_options_are_one_line_usage_errors(args):
    r = run("parse", *args, stdin=b"{}")
    assert r.code == 2 and r.stdout == ""
    line = one_line(r.stderr)
    assert "jsonvisor" in line


@pytest.mark.parametrize(
    "size,limit_ok,limit_bad",
    [
        ("100MB", 10**8, 10**8 + 1),
        ("5MiB", 5 * 2**20, 5 * 2**20 + 1),
        ("2k", 2048, 2049),
        ("1.5kB", 1500, 1501),
    ],
)
def test_human_sizes(size, limit_ok, limit_bad):
    # a string that fills exactly the limit passes; one byte more does not
    def doc(n: int) -> bytes:
        return b'"' + b"x" * (n - 2) + b'"'

    assert run("parse", "--max-bytes", size, stdin=doc(limit_ok)).code == 0
    r = run("parse", "--max-bytes", size, stdin=doc(limit_bad))
    assert r.code == 1 and "max_bytes" in r.stderr


def test_no_command_is_a_usage_error():
    r = run()
    assert r.code == 2 and "COMMAND" in one_line(r.stderr)


# -- help and version ------------------------------------------------------------------------


def test_version():
    from jsonvisor import __version__

    for args in (["--version"], ["parse", "--version"]):
        r = run(*args)
        assert r.code == 0 and __version__ in r.stdout


def test_help_describes_every_option():
    from jsonvisor.cli import build_parser

    top = run("--help")
    for cmd in ("demo", "parse", "bench", "worker"):
        assert cmd in top.stdout
    sub = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for name, parser in sub.items():
        text = " ".join(run(name, "--help").stdout.split())
        for action in parser._actions:
            if action.dest == "help":
                continue
            assert action.help, (name, action.dest)
            assert " ".join(action.help.split())[:30] in text, (name, action.dest)
    assert "--follow PATH" in run("parse", "--help").stdout


def test_python_dash_m_entry_point():
    proc = subprocess.run(
        [sys.executable, "-m", "jsonvisor", "parse"],
        input=b"[1, 2",
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["value"] == [1, 2]


def test_progress_on_stderr(tmp_path):
    path = tmp_path / "tools.sse"
    path.write_bytes(load_recording("openai_chat_parallel_tools"))
    r = run("parse", str(path), "--progress")
    assert r.code == 0 and len(r.finals()) == 3
    assert "read" in r.stderr and "100%" in r.stderr


def test_broken_pipe_is_quiet(tmp_path):
    path = tmp_path / "many.ndjson"
    path.write_text("".join(f'{{"i": {i}}}\n' for i in range(200_000)))
    proc = subprocess.run(
        f"{' '.join(COMMAND)} parse {path} | head -n 1",
        shell=True,
        capture_output=True,
        timeout=120,
    )
    assert json.loads(proc.stdout)["value"] == {"i": 0}
    assert proc.stderr == b""
