"""The message hub's own pieces (:mod:`jsonvisor.hub`): the options object, the replay
buffer of a message record, the bounded memory of finished IDs.  The hub's behaviour as a
whole is tested through both its front ends (``test_frontends.py``)."""

from __future__ import annotations

import dataclasses
import inspect
import pickle

import pytest

from jsonvisor.hub import DEFAULTS, MessageRecord, Options
from jsonvisor.mailboxes import FinishedIds
from jsonvisor.supervisor import open_supervisor


def test_options_are_frozen_checked_and_picklable() -> None:
    options = Options(mailbox_size=8, watch=["$.a", "$.b[*]"], fan_in=True)
    assert options.watch == ("$.a", "$.b[*]")  # an iterable of paths becomes a tuple
    assert options.watch_spec == (("$.a", "$.b[*]"), False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.mailbox_size = 9  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(options)) == options  # (a cluster sends it)
    changed = options.replace(mailbox_size=16)
    assert changed.mailbox_size == 16 and options.mailbox_size == 8
    for bad in (
        {"mailbox_size": 0},
        {"mailbox_bytes": -1},
        {"fan_in": "yes"},
        {"overflow": "spill"},
        {"offload": "gpu"},
        {"keep_results": -1},
        {"restart_backoff": -0.5},
        {"ttl": float("nan")},
        {"watch": "not a path"},
    ):
        with pytest.raises(ValueError):
            Options(**bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        options.replace(events_buffer=0)  # a copy is checked like a new one


def test_open_supervisor_defaults_are_the_options_defaults() -> None:
    params = inspect.signature(inspect.unwrap(open_supervisor)).parameters
    assert {n for n in Options.names()} <= set(params)
    for name in Options.names():
        assert params[name].default == getattr(DEFAULTS, name), name


def test_the_replay_buffer_keeps_few_pieces_and_stops_at_its_limit() -> None:
    record = MessageRecord("m")
    assert record.replay_input() == []
    text = "".join(chr(ord("a") + i % 26) for i in range(5000))
    for i in range(0, 5000, 5):
        record.retain(text[i : i + 5], 5, limit=10_000)
    assert "".join(record.replay_input()) == text
    assert len(record.retained or ()) < 30  # merged: O(log n) pieces, not 1000
    record.retain("x" * 6000, 6000, limit=10_000)  # over the limit: nothing kept
    assert record.retained is None and record.replay_input() == []
    record.retain("y", 1, limit=10_000)
    assert record.retained is None
    assert MessageRecord("n", retain=False).replay_input() == []


def test_finished_ids_are_bounded() -> None:
    finished = FinishedIds(3)
    for i in range(10):
        finished.add(i)
    assert len(finished) == 3 and 9 in finished and 6 not in finished
    finished.add(7)  # again: the most recent now
    finished.add(10)
    assert 7 in finished and 8 not in finished
    assert finished.discard(7) and not finished.discard(7)
    none = FinishedIds(0)
    none.add("x")
    assert "x" not in none and len(none) == 0
