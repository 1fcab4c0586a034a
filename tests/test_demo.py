"""jsonvisor demo: recorded streams through the supervisor, offline."""

from __future__ import annotations

import io

from jsonvisor.demo import run_demo


def test_demo_completes_every_message():
    out = io.StringIO()
    assert run_demo(speed=50.0, plain=True, out=out) == 0
    text = out.getvalue()
    assert text.count(": complete\n") == 5  # 3 parallel tool calls, 1 tool use, 1 fenced answer
    assert "prose (no JSON)" in text  # Anthropic's preamble text
    assert '"location": "São Paulo, Brazil"' in text
    assert '"city": "Kyoto"' in text
    assert "messages_completed=6" in text and "open_mailboxes=0" in text
