"""Batches cross the wire unchanged; a batch naming other code is refused."""

from __future__ import annotations

import os
import pickle

import pytest

from jsonvisor import JsonStreamError, StreamingJsonParser
from jsonvisor.cluster import WorkerLost, shard, stable_hash
from jsonvisor.cluster import _wire as wire
from jsonvisor.supervisor import Completed, Failed, MailboxFull, MessageEvent, ParserCrashed


def test_events_results_and_errors_round_trip():
    parser = StreamingJsonParser()
    events = parser.feed('{"a": [1, "x')
    result = parser.finish()
    try:
        StreamingJsonParser().feed("{]")
    except JsonStreamError as exc:
        bad = exc
    crashed = ParserCrashed(("conv", 7), 3, "boom")
    crashed.__cause__ = KeyError("k")
    batch = (
        3,
        [MessageEvent(("conv", 7), e) for e in events]
        + [
            Completed(1, result.value, result.repairs, result.confidence, result.complete),
            Failed(2, bad),
            Failed(3, crashed),
            Failed(4, MailboxFull(4, 8)),
            Failed(5, WorkerLost(5, "w", "died")),
        ],
        {1: result},
        None,
    )
    back = wire.loads(wire.dumps(batch))
    assert back[1][: len(events)] == batch[1][: len(events)]
    assert back[2] == {1: result}
    assert back[1][-5] == batch[1][-5]
    assert back[1][-4].error.offset == bad.offset and str(back[1][-4].error) == str(bad)
    assert back[1][-3].error.crashes == 3 and isinstance(back[1][-3].error.__cause__, KeyError)
    assert back[1][-2].error.capacity == 8
    assert back[1][-1].error.reason == "died"


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo owned",))


def test_untrusted_classes_are_refused():
    with pytest.raises(pickle.UnpicklingError, match="untrusted"):
        wire.loads(pickle.dumps(_Evil()))
    with pytest.raises(pickle.UnpicklingError):
        wire.loads(pickle.dumps(_Evil), trusted=("jsonvisor",))


def test_stable_hash_is_stable():
    assert stable_hash("abc") == 891568578
    assert stable_hash(("a", 1)) == stable_hash(("a", 1))
    assert {shard(f"m{i}", 3) for i in range(30)} == {0, 1, 2}


def test_batches_travel_wrapped_and_unwrap_checks_them():
    blob = wire.dumps((1, [("m", "data", 0)]))
    payload = wire.wrap(blob)
    assert len(repr(payload)) < 100  # tractor formats every message: no copy of the bytes
    assert wire.unwrap(payload) == blob and wire.unwrap(blob) == blob
    from msgspec.msgpack import Ext

    with pytest.raises(pickle.UnpicklingError):
        wire.unwrap(Ext(1, blob))
    with pytest.raises(pickle.UnpicklingError):
        wire.unwrap({"not": "bytes"})
