"""The jsonvisor command: parse (formats, emit modes, errors, progress) and the entry points."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from jsonvisor.cli import main


def run_cli(monkeypatch, capsys, argv, stdin: bytes = b""):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    code = main(argv)
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


def test_parse_json_final(monkeypatch, capsys):
    code, out, _ = run_cli(monkeypatch, capsys, ["parse"], b'{"a": [1, {"b": "x"}]}')
    assert code == 0
    assert out == [
        {
            "msg": "stdin",
            "type": "final",
            "value": {"a": [1, {"b": "x"}]},
            "complete": True,
            "confidence": "high",
            "repairs": [],
        }
    ]


def test_parse_truncated_lists_repairs(monkeypatch, capsys):
    code, out, _ = run_cli(monkeypatch, capsys, ["parse"], b'{"a": [1, "tex')
    assert code == 0
    assert out[-1]["value"] == {"a": [1, "tex"]} and out[-1]["confidence"] == "medium"
    assert out[-1]["repairs"] == [
        "closed an open string at $.a[1]",
        "closed an open array at $.a",
        "closed an open object at $",
    ]


def test_parse_events_and_snapshots(monkeypatch, capsys):
    _, out, _ = run_cli(monkeypatch, capsys, ["parse", "--emit", "events"], b'{"a": "b"}')
    assert [r["type"] for r in out] == [
        "value_started",
        "value_completed",
        "value_completed",
        "document_completed",
        "final",
    ]
    assert out[1] == {"msg": "stdin", "type": "value_completed", "path": ["a"], "value": "b"}
    _code, out, _ = run_cli(monkeypatch, capsys, ["parse", "--emit", "snapshots"], b"[1, 2]")
    assert out[0] == {"msg": "stdin", "type": "snapshot", "value": [1, 2]}


def test_parse_ndjson(monkeypatch, capsys):
    code, out, _ = run_cli(
        monkeypatch, capsys, ["parse", "--format", "ndjson"], b'{"a": 1}\n[2]\n"three"\n'
    )
    assert code == 0
    assert [r["value"] for r in out if r["type"] == "document"] == [{"a": 1}, [2], "three"]


def test_parse_bad_input_is_a_clear_error(monkeypatch, capsys):
    code, out, err = run_cli(monkeypatch, capsys, ["parse"], b'{"a": 01}')
    assert code == 1
    assert out[0]["type"] == "error" and out[0]["offset"] == 7
    assert "leading zero" in err and "byte 7" in err


def test_parse_lenient(monkeypatch, capsys):
    text = b"Sure:\n```json\n{a: 'b', c: [1,],}\n```\nBye"
    code, out, _ = run_cli(monkeypatch, capsys, ["parse", "--lenient"], text)
    assert out[-1]["value"] == {"a": "b", "c": [1]}
    code, out, _ = run_cli(monkeypatch, capsys, ["parse"], text)
    assert code == 1


def test_parse_provider_stream_auto_detected(monkeypatch, capsys, tmp_path):
    from jsonvisor.llm import load_recording

    path = tmp_path / "tools.sse"
    path.write_bytes(load_recording("openai_chat_parallel_tools"))
    code, out, err = run_cli(monkeypatch, capsys, ["parse", str(path), "--progress"])
    assert code == 0
    finals = [r for r in out if r["type"] == "final"]
    assert len(finals) == 3 and all(r["complete"] for r in finals)
    assert len({r["msg"] for r in finals}) == 3
    assert "read" in err and "100%" in err


def test_missing_file(monkeypatch, capsys):
    code, _, err = run_cli(monkeypatch, capsys, ["parse", "/nonexistent/x.json"])
    assert code == 2 and "cannot read" in err


def test_python_dash_m_entry_point():
    proc = subprocess.run(
        [sys.executable, "-m", "jsonvisor", "parse"],
        input=b"[1, 2",
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["value"] == [1, 2]


def test_help_lists_commands():
    proc = subprocess.run(
        [sys.executable, "-m", "jsonvisor", "--help"], capture_output=True, text=True, timeout=60
    )
    for cmd in ("demo", "parse", "bench", "worker"):
        assert cmd in proc.stdout


@pytest.mark.parametrize(
    "limit,arg", [("max_depth", "--max-depth=2"), ("max_bytes", "--max-bytes=5")]
)
def test_limits_as_options(monkeypatch, capsys, limit, arg):
    code, _out, err = run_cli(monkeypatch, capsys, ["parse", arg], b"[[[1, 2, 3]]]")
    assert code == 1 and limit in err
