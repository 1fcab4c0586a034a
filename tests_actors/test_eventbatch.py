"""Worker events in columns: merged StringGrew events still rebuild the same values."""

from __future__ import annotations

import json
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from jsonvisor import StreamingJsonParser, ValueBuilder
from jsonvisor.cluster import WorkerLost
from jsonvisor.cluster import _wire as wire
from jsonvisor.cluster._eventbatch import EventBatch, unpack
from jsonvisor.parsers import StringGrew, ValueStarted
from jsonvisor.supervisor import Completed, MessageEvent, Restarted

DOC = {"title": "x" * 300, "items": [{"k": i, "text": "word " * 40} for i in range(5)], "ok": True}


def parse_events(msg_id, text, sizes):
    """``MessageEvent``s of ``text`` fed in pieces of the given sizes (cycled)."""
    parser = StreamingJsonParser()
    out, i, n = [], 0, 0
    while i < len(text):
        k = sizes[n % len(sizes)]
        out.append([MessageEvent(msg_id, e) for e in parser.feed(text[i : i + k])])
        i += k
        n += 1
    result = parser.finish()
    return out, result


def round_trip(batch: EventBatch, trusted=("jsonvisor",)):
    return unpack(wire.loads(wire.dumps(batch.pack()), trusted))


def per_message(events):
    by_id: dict = {}
    for event in events:
        by_id.setdefault(event.msg_id, []).append(event)
    return by_id


def rebuild(events):
    return ValueBuilder().apply(e.event for e in events if isinstance(e, MessageEvent))


def test_merged_string_events_rebuild_the_value():
    text = json.dumps(DOC)
    steps, result = parse_events("a", text, [3])
    batch = EventBatch()
    original = [e for step in steps for e in step]
    for event in original:
        batch.add(event)
    back = round_trip(batch)
    assert batch.merged > 0 and len(back) == len(original) - batch.merged
    assert all(
        type(e) is MessageEvent and type(e.event) in (type(o.event) for o in original) for e in back
    )
    assert rebuild(back) == rebuild(original) == result.value == DOC
    # Merged StringGrew events carry exactly the concatenated new text.
    grown = "".join(e.event.text for e in back if isinstance(e.event, StringGrew))
    assert grown == "".join(e.event.text for e in original if isinstance(e.event, StringGrew))


def test_merging_stops_at_another_event_of_the_message():
    path = ("s",)
    events = [
        MessageEvent("a", ValueStarted(path, "string")),
        MessageEvent("a", StringGrew(path, "ab")),
        MessageEvent("b", StringGrew(path, "zz")),  # another message: no barrier
        MessageEvent("a", StringGrew(path, "cd")),
        Restarted("a", 1, WorkerLost("a", "w", "died")),  # a barrier
        MessageEvent("a", StringGrew(path, "ef")),
        MessageEvent("a", StringGrew(("t",), "gh")),  # another path
        MessageEvent("a", StringGrew(path, "ij")),
    ]
    batch = EventBatch()
    for event in events:
        batch.add(event)
    back = round_trip(batch)
    restarted = back[3]
    assert type(restarted) is Restarted and isinstance(restarted.error, WorkerLost)
    assert [e for e in back if e.msg_id == "a"] == [
        MessageEvent("a", ValueStarted(path, "string")),
        MessageEvent("a", StringGrew(path, "abcd")),
        restarted,
        MessageEvent("a", StringGrew(path, "ef")),
        MessageEvent("a", StringGrew(("t",), "gh")),
        MessageEvent("a", StringGrew(path, "ij")),
    ]
    assert [e for e in back if e.msg_id == "b"] == [events[2]]


class CustomEvent(tuple):
    """A parser event class of a custom parser (travels as an ordinary pickled object)."""


def test_other_events_keep_their_place():
    done = Completed("a", {"x": 1}, (), "high", True)
    custom = MessageEvent("c", CustomEvent((1, 2)))
    events = [
        MessageEvent("a", StringGrew(("x",), "1")),
        custom,
        MessageEvent("b", StringGrew(("y",), "2")),
        done,
    ]
    batch = EventBatch()
    for event in events:
        batch.add(event)
    others = batch.pack()[3]
    assert [position for position, _ in others] == [1, 2]
    back = round_trip(batch, trusted=("jsonvisor", __name__))
    assert back == events
    assert type(back[1].event) is CustomEvent and type(back[3]) is Completed


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    sizes=st.lists(st.integers(1, 12), min_size=1, max_size=5),
    batch_size=st.integers(1, 400),
)
def test_interleaved_messages_rebuild_after_any_batching(seed, sizes, batch_size):
    rng = random.Random(seed)
    docs = {
        f"m{i}": {"s": "tok " * rng.randint(0, 60), "n": [rng.random() for _ in range(3)]}
        for i in range(3)
    }
    steps = {mid: parse_events(mid, json.dumps(doc), sizes)[0] for mid, doc in docs.items()}
    # Interleave the parse steps of the messages at random, as a fan-in would.
    stream = []
    while any(steps.values()):
        mid = rng.choice([m for m, s in steps.items() if s])
        stream.extend(steps[mid].pop(0))
    received = []
    for i in range(0, len(stream), batch_size):
        batch = EventBatch()
        for event in stream[i : i + batch_size]:
            batch.add(event)
        received.extend(round_trip(batch))
    assert len(received) <= len(stream)
    sent_by, got_by = per_message(stream), per_message(received)
    for mid, doc in docs.items():
        assert rebuild(got_by[mid]) == rebuild(sent_by[mid]) == doc
        # No event is reordered within a message.
        assert shape(got_by[mid]) == shape(sent_by[mid])


def shape(events):
    """Each event's kind and path, runs of StringGrew of one path counted once."""
    out: list = []
    for e in events:
        key = (type(e.event).__name__, e.event[0])
        if not (out and out[-1] == key and key[0] == "StringGrew"):
            out.append(key)
    return out
