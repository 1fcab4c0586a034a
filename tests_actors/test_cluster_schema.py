"""Schema models in a cluster: a worker validates, the root receives the model.

A model is an instance of the application's class, so it crosses to the root only when
its module is trusted (``trusted_modules``); otherwise it is left out with a warning,
never a batch the root refuses (which would lose the worker, again on every replay).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import trio

from jsonvisor.cluster import open_cluster
from jsonvisor.supervisor import Completed, ModelValidationError, WatchEvent
from schema_models import Card, card_parser

OK = '{"title": "Ada", "score": 3}'
BAD = '{"title": "Bob", "score": "x"}'


@pytest.fixture(autouse=True)
def _workers_import_this_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    """Local workers are new processes: schema_models must be on their path too."""
    here = str(Path(__file__).parent)
    path = os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")]))
    monkeypatch.setenv("PYTHONPATH", path)


async def _run(cluster, docs: dict[str, str]) -> tuple[dict, dict, list]:
    """Each message's result and Completed event, and every WatchEvent."""
    completed: dict = {}
    watched: list = []

    async def read() -> None:
        async for ev in cluster.events():
            if isinstance(ev, Completed):
                completed[ev.msg_id] = ev
                if len(completed) == len(docs):
                    return
            elif isinstance(ev, WatchEvent):
                watched.append(ev)

    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(read)
            for mid, text in docs.items():
                await cluster.send(mid, text)
                await cluster.end(mid)
        results = {mid: await cluster.result(mid) for mid in docs}
    return results, completed, watched


async def test_a_trusted_models_instances_reach_the_root():
    async with open_cluster(
        workers=1, parser=card_parser, trusted_modules=("schema_models",), watch=["$"]
    ) as cluster:
        results, completed, watched = await _run(cluster, {"ok": OK, "bad": BAD})
        assert cluster.stats().workers_lost == 0
    assert results["ok"].model == Card("Ada", 3) and type(results["ok"].model) is Card
    assert completed["ok"].model == Card("Ada", 3) and completed["ok"].validation_error is None
    assert [type(w.item.model) for w in watched if w.msg_id == "ok"] == [Card]
    # a value that does not validate: no model, and the reason
    assert results["bad"].model is None and results["bad"].value == {"title": "Bob", "score": "x"}
    error = completed["bad"].validation_error
    assert isinstance(error, ModelValidationError) and "score" in str(error)


async def test_an_untrusted_model_is_left_out_with_a_warning_and_the_worker_stays():
    async with open_cluster(workers=1, parser=card_parser, watch=["$"]) as cluster:
        results, completed, watched = await _run(cluster, {"m": OK, "n": BAD})
        assert cluster.stats().workers_lost == 0
    result, event = results["m"], completed["m"]
    assert result.value == {"title": "Ada", "score": 3} and result.complete
    assert result.model is None and event.model is None
    (warning,) = result.warnings
    assert warning.kind == "validation" and "schema_models.Card" in warning.message
    assert "trusted_modules" in warning.message
    assert isinstance(event.validation_error, ModelValidationError)
    assert "trusted_modules" in str(event.validation_error)
    (item,) = [w.item for w in watched if w.msg_id == "m"]
    assert item.model is None and item.value == {"title": "Ada", "score": 3}
    assert "trusted_modules" in item.errors[-1].message
    # a message without a model is untouched
    assert completed["n"].model is None and "score" in str(completed["n"].validation_error)
