"""The bulk path (``parsers/_bulk.py``): runs of whole values loaded in one call.

Each test runs over both backends (``tests/conftest.py``).  The C backend runs the bulk
path in C (``_c_bulkstep.h``): the module's scanners can be watched on the Python backend
only, and the spine both learn is compared on both.
"""

from __future__ import annotations

import json
import math

import pytest

from helpers import Replay, same
from jsonvisor.parsers import (
    DocumentCompleted,
    StreamingJsonParser,
    ValueBuilder,
    ValueCompleted,
    ValueStarted,
    _bulk,
)

TOKENS_ONLY = 10**9  # a bulk_threshold no text reaches: the token path alone

ITEMS = [{"id": i, "tags": ["a", "b"], "pos": {"x": i / 2, "y": None}} for i in range(40)]
DOCS = [
    json.dumps({"name": "Ada", "items": ITEMS, "done": True}),
    json.dumps([[i, [i, {"k": "v" * i}]] for i in range(30)]),
    json.dumps({"camelCase": {"innerKey": [{"deepKey": i} for i in range(30)]}}),
]


def chunkings(text: str) -> list[list[str]]:
    """Whole, cut in two at several places, and in runs of 50 characters."""
    cuts = [[text[:k], text[k:]] for k in (1, len(text) // 3, len(text) - 1)]
    return [[text], *cuts, [text[i : i + 50] for i in range(0, len(text), 50)]]


def run(chunks: list[str], **options: object) -> tuple[object, list]:
    p = StreamingJsonParser(**options)
    events = []
    for c in chunks:
        events += p.feed(c)
    result = p.finish()
    assert result.complete, result.repairs
    return result.value, events + list(result.events)


def shallow(events: list) -> list:
    """The events of the root and its members, which every chunking must give alike."""
    return [
        (type(e).__name__, e.path, getattr(e, "kind", None))
        for e in events
        if isinstance(e, (ValueStarted, ValueCompleted)) and len(e.path) <= 1
    ]


def deep(events: list) -> set:
    return {e.path for e in events if isinstance(e, ValueCompleted) and len(e.path) > 2}


@pytest.mark.parametrize("options", [{}, {"key_transform": "snake"}, {"lenient": True}])
@pytest.mark.parametrize("doc", DOCS, ids=["object", "arrays", "camel"])
def test_runs_loaded_whole_give_the_token_paths_values_and_top_level_events(
    doc: str, options: dict
) -> None:
    token_value, token_events = run([doc], bulk_threshold=TOKENS_ONLY, **options)
    expected = json.loads(doc)
    if options.get("key_transform") is None:
        assert token_value == expected
    for chunks in chunkings(doc):
        value, events = run(chunks, bulk_threshold=8, **options)
        assert same(value, token_value), len(chunks)
        assert shallow(events) == shallow(token_events), len(chunks)
        replay = Replay()
        replay.apply(events)
        assert same(replay.root, token_value)
        builder = ValueBuilder()
        builder.apply(events)
        assert same(builder.value, token_value)
    # Fed whole, the runs were loaded in one call: their members' insides were not
    # reported one by one, as the token path reports them.
    _, events = run([doc], bulk_threshold=8, **options)
    assert deep(token_events)
    assert not deep(events)


def test_members_loaded_whole_complete_once_each_with_their_values() -> None:
    head = '{"items": ['
    body = ", ".join(json.dumps(item) for item in ITEMS[:30])
    p = StreamingJsonParser(bulk_threshold=16)
    last = json.dumps(ITEMS[30])
    cut = last.index('"tags"')  # (the token path goes on from the last run: '{"id": 30, ')
    events = p.feed(head + body + ", " + last[:cut])
    done = [e for e in events if isinstance(e, ValueCompleted)]
    assert [e.path for e in done] == [*(("items", i) for i in range(30)), ("items", 30, "id")]
    assert [e.value for e in done] == [*ITEMS[:30], 30]
    assert p.snapshot() == {"items": [*ITEMS[:30], {"id": 30}]}
    # The rest of the object is a run of its members too, which closes it.
    events = p.feed(last[cut:] + "]}") + list(p.finish().events)
    assert [e.path for e in events if isinstance(e, ValueCompleted)] == [
        ("items", 30, "tags"),
        ("items", 30, "pos"),
        ("items", 30),
        ("items",),
        (),
    ]
    assert p.finish().value == {"items": ITEMS[:31]}


def test_bulk_threshold_is_the_characters_left_in_the_text() -> None:
    doc = json.dumps([{"a": [1, 2]}, {"a": [3]}])
    # Fewer characters than bulk_threshold: the token path, every value reported.
    _, events = run([doc], bulk_threshold=len(doc) + 1)
    assert {(0, "a", 0), (0, "a", 1), (1, "a", 0)} <= deep(events)
    # Exactly bulk_threshold characters: the whole value in one call.
    _, events = run([doc], bulk_threshold=len(doc))
    assert not deep(events)
    assert shallow(events) == [
        ("ValueStarted", (), "array"),
        ("ValueStarted", (0,), "object"),
        ("ValueCompleted", (0,), None),
        ("ValueStarted", (1,), "object"),
        ("ValueCompleted", (1,), None),
        ("ValueCompleted", (), None),
    ]
    # The threshold is at least 2 (a whole value needs two characters).
    assert StreamingJsonParser(bulk_threshold=0).bulk_threshold == 2


def test_documents_loaded_whole_in_multiple_values_mode() -> None:
    docs = [{"n": i, "items": ITEMS[: i + 3]} for i in range(5)]
    text = "\n".join(json.dumps(d) for d in docs) + "\n"
    for threshold in (8, TOKENS_ONLY):
        for chunks in chunkings(text):
            p = StreamingJsonParser(multiple_values=True, bulk_threshold=threshold)
            completed = [e for c in chunks for e in p.feed(c) if isinstance(e, DocumentCompleted)]
            assert [(e.index, e.value) for e in completed] == list(enumerate(docs))
            assert [p.get() for _ in docs] == docs
            assert not p.has_complete_object()


class Calls:
    """Record the calls of one of ``_bulk``'s scanners (and still run it)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
        self.args: list[tuple] = []
        real = getattr(_bulk, name)

        def spy(*args: object) -> object:
            self.args.append(args)
            return real(*args)

        monkeypatch.setattr(_bulk, name, spy)


def test_the_spine_stops_later_attempts_before_containers_open_to_the_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run_of_items = ", ".join(json.dumps(item) for item in ITEMS[:10])
    text = f'[{run_of_items}, [{run_of_items}, {{"deep": [{run_of_items}, {{"cut": "x'
    spines = Calls(monkeypatch, "container_spine")
    members = Calls(monkeypatch, "scan_members")
    p = StreamingJsonParser(bulk_threshold=8)
    p.feed(text)
    spine = [0, text.index("[", 1 + len(run_of_items)), text.index('{"deep"')]
    spine += [text.index("[", spine[-1]), text.index('{"cut"')]
    assert p._spine == spine  # every container still open at the end of the text
    if not isinstance(p, _bulk._Bulk):  # the C backend: its scans run in C, unseen here
        assert p.finish().value[10][10]["deep"][10] == {"cut": "x"}
        return
    # One walk to the end of the text finds every container still open there ...
    assert [args[1] for args in spines.args] == [0]
    # ... and the run of members at each level stops before the next one: only the
    # innermost looks as far as the end of the text.
    assert [(args[1], args[3]) for args in members.args] == [
        (1, spine[1]),
        (spine[1] + 1, spine[2]),
        (spine[2] + 1, spine[3]),
        (spine[3] + 1, spine[4]),
        (spine[4] + 1, len(text)),
    ]
    result = p.finish()
    level = result.value
    assert level[:10] == ITEMS[:10]
    assert level[10][:10] == ITEMS[:10]
    assert level[10][10]["deep"][:10] == ITEMS[:10]
    assert level[10][10]["deep"][10] == {"cut": "x"}
    # The spine is a fact about one text: the next text is walked anew where a run of
    # members meets a container that does not end in it.
    p = StreamingJsonParser(bulk_threshold=8)
    p.feed(text)
    assert len(spines.args) == 2
    p.feed(f'"}}, [{run_of_items}, [1')
    assert len(spines.args) == 3
    assert p.finish().value[10][10]["deep"][11] == [*ITEMS[:10], [1]]


def test_a_run_that_fails_the_strict_check_is_not_tried_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # LLM mode's NaN is not strict JSON: the run is refused once, and the token path
    # takes the rest of the text without a load attempt at every item.
    text = "[" + "1, " * 300 + "NaN, 2]"
    loads = Calls(monkeypatch, "strict_loads")
    p = StreamingJsonParser(lenient=True, bulk_threshold=8)
    p.feed(text)
    value = p.finish().value
    assert value[:300] == [1] * 300 and math.isnan(value[300]) and value[301] == 2
    if isinstance(p, _bulk._Bulk):  # (the C backend loads in C, unseen here)
        assert 1 <= len(loads.args) <= 2
