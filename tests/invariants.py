"""The invariants every input must keep, checked on both parser backends and many chunkings.

``check(text, options)`` feeds ``text`` to ``StreamingJsonParser`` (the C accelerator) and
``PurePythonParser`` under every chunking in :data:`CHUNKINGS`:

- ``whole``; ``chars`` (one character at a time); ``random`` (cuts seeded from the text);
- ``bytes-whole``, ``bytes-each`` (one byte at a time: cuts inside characters),
  ``bytes-random``: the same as UTF-8 bytes;
- ``mixed``: random cuts, each chunk ``str``, ``bytes``, ``bytearray`` or ``memoryview``
  (exact bytes take the C half's own path, the others the Python one);
- ``pickled``: random cuts, the parser pickled and unpickled after every feed (the
  process offload does that);
- ``splits``: two-piece splits (every one for a short text, else 32 mostly next to
  backticks, quotes, brackets, newlines...);

(per-unit chunkings only for inputs up to :data:`PER_UNIT_LIMIT` long), calling
``snapshot()`` after every feed, and asserts (the tag of each kind of failure in brackets):

a. [chunking-outcome] the outcome (the final ``ParseResult``: value, complete, repairs,
   confidence; or the ``JsonStreamError``: reason, expected, found, offset, line, column,
   limit, truncated; not its excerpt, the text around it in its chunk)
   is the same for every chunking, and so is ``position`` after all the input;
   [crash] nothing raises anything but ``JsonStreamError`` (``snapshot()`` nothing at
   all); [sticky-error] after an error from ``feed()``, more input and ``finish()`` raise
   the same error; [strict-finish] ``finish(allow_partial=False)`` is the same for every
   chunking and backend, returns the result of ``finish()`` when that was complete and
   raises a truncation error when something was repaired; [documents-api] ``get()``,
   ``documents``, ``document_state()`` and ``field_states()`` after ``finish()`` agree with
   the events and do not depend on the chunking; [pickle] the parser can be pickled;
b. [c-vs-python] C and Python agree feed by feed: events, snapshots, positions, results
   (with their events and warnings), errors (every field, the message and excerpt too),
   state after finish;
c. [not-monotone] snapshots are monotone (a later one extends the earlier one: strings
   grow by appending, keys are only added, arrays only grow, scalars never change but a
   held number's best value with ``hold_numbers=False``), except where a root
   replacement is announced (a fenced block replacing a value found in prose: an event at
   path ``()`` after the document completed), and with ``multiple_values`` after each
   ``DocumentCompleted``; with a schema, its skeleton's None and [] are placeholders; the
   final value extends the last snapshot; [held-string-changed] a string taken from a
   snapshot never changes afterwards;
d. [replay] replaying the events with ``ValueBuilder`` rebuilds each snapshot (where the
   snapshot shows everything: ``partial_strings`` and ``hold_numbers`` on, no schema) and
   the final value;
e. [depth1-events] at depth <= 1 every path completes at most once per document, never
   starts after it completed, and the sequence of those completions (and of the
   ``DocumentCompleted`` events) is the same for every chunking;
f. [wrong-value] the final value is the intended one, complete with high confidence, when
   the caller knows it (``expect=``).

A failure raises a subclass of :class:`InvariantFailure` (one per kind of defect, so
Hypothesis shrinks each kind separately) with a message that shows the text, the options
and the chunking.  Values are compared by ``repr``, which for JSON values is exactly
``helpers.same`` (type-exact, NaN equal to NaN, -0.0 apart from 0.0), at C speed.
"""

from __future__ import annotations

import pickle
import random
import re
import traceback
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from grammar import CARD_SCHEMA, MISSING, TOLERANCES, Sample
from helpers import same
from jsonvisor.parsers import (
    DocumentCompleted,
    JsonStreamError,
    PurePythonParser,
    StreamingJsonParser,
    ValueBuilder,
    ValueCompleted,
    ValueStarted,
)
from jsonvisor.parsers.options import Tolerances, key_transformer

__all__ = [
    "CHUNKINGS",
    "OPTION_SETS",
    "InvariantFailure",
    "check",
    "check_sample",
    "expected_for",
]

# ------------------------------------------------------------------------ option sets


def _without(name: str) -> tuple[str, dict[str, Any]]:
    return f"lenient-no-{name.replace('_', '-')}", {"lenient": True, name: False}


#: Named option sets; every generator runs under every one.
OPTION_SETS: dict[str, dict[str, Any]] = dict(
    [
        ("strict", {}),
        ("lenient", {"lenient": True}),
        *(_without(name) for name in TOLERANCES),
        ("extract", {"extract": True}),
        ("multi", {"multiple_values": True}),
        ("multi-lenient", {"multiple_values": True, "lenient": True}),
        ("camel", {"key_transform": "camel", "lenient": True}),
        ("partial-strings-off", {"partial_strings": False, "lenient": True}),
        ("hold-numbers-off", {"hold_numbers": False}),
        ("hold-numbers-off-lenient", {"hold_numbers": False, "lenient": True}),
        ("max-depth-3", {"max_depth": 3, "lenient": True}),
        ("max-number-length-5", {"max_number_length": 5, "lenient": True}),
        ("max-bytes-200", {"max_bytes": 200, "lenient": True}),
        ("max-key-length-3", {"max_key_length": 3, "lenient": True}),
        ("multi-max-bytes-60", {"multiple_values": True, "max_bytes": 60, "lenient": True}),
        ("bulk-2", {"bulk_threshold": 2, "lenient": True}),
        ("bulk-off", {"bulk_threshold": 1_000_000, "lenient": True}),
        ("schema", {"schema": CARD_SCHEMA, "lenient": True}),
        # the C half opens and closes top-level values and documents itself where no
        # extraction is involved: the same options without it
        ("schema-strict", {"schema": CARD_SCHEMA}),
        ("camel-strict", {"key_transform": "camel"}),
        ("multi-max-bytes-60-strict", {"multiple_values": True, "max_bytes": 60}),
    ]
)

# ------------------------------------------------------------------------ failures


class InvariantFailure(AssertionError):
    """An input broke an invariant (the message says which, where and how)."""

    tag = "invariant"


class Crash(InvariantFailure):
    """An exception other than JsonStreamError."""

    tag = "crash"


class BackendMismatch(InvariantFailure):
    """C and Python differ."""

    tag = "c-vs-python"


class ChunkingChangesOutcome(InvariantFailure):
    """The final result or the error depends on the chunking."""

    tag = "chunking-outcome"


class StickyError(InvariantFailure):
    """After an error, finish() does not raise the same error."""

    tag = "sticky-error"


class NotMonotone(InvariantFailure):
    """A snapshot (or the final value) does not extend the previous snapshot."""

    tag = "not-monotone"


class ReplayMismatch(InvariantFailure):
    """Replaying the events does not rebuild the snapshot (or the final value)."""

    tag = "replay"


class ShallowEvents(InvariantFailure):
    """Depth <= 1 events: a path completed twice, started after completing, or the
    sequence of completions depends on the chunking."""

    tag = "depth1-events"


class HeldValueChanged(InvariantFailure):
    """A string taken from an earlier snapshot changed afterwards (str is immutable)."""

    tag = "held-string-changed"


class DocumentsApi(InvariantFailure):
    """get(), documents, document_state() or field_states() disagree with the events,
    the chunking or the other backend."""

    tag = "documents-api"


class StrictFinish(InvariantFailure):
    """finish(allow_partial=False) depends on the chunking or the backend, or disagrees
    with ``complete`` of finish()."""

    tag = "strict-finish"


class NotPicklable(InvariantFailure):
    """The parser cannot be pickled mid-stream (the process offload pickles parsers)."""

    tag = "pickle"


class WrongValue(InvariantFailure):
    """The final value is not the intended one."""

    tag = "wrong-value"


# ------------------------------------------------------------------------ chunkings

PER_UNIT_LIMIT = 3000  # one char / one byte at a time only for inputs up to this long
_SIZES = (1, 1, 2, 3, 4, 5, 7, 9, 13, 20, 40, 90, 260, 600)


def _seed(data: str | bytes) -> int:
    raw = data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass")
    return zlib.crc32(raw)


def _random_cuts(data: Any) -> list[Any]:
    rng = random.Random(_seed(data))
    out, i = [], 0
    while i < len(data):
        n = rng.choice(_SIZES)
        out.append(data[i : i + n])
        i += n
    return out or [data]


def _encode(text: str | bytes) -> bytes | None:
    if isinstance(text, bytes):
        return text
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: no UTF-8 form
        return None


def _mixed(text: str | bytes) -> list[Any]:
    """Random cuts, each chunk a str, bytes, bytearray or memoryview (exact bytes take the
    C half's own path, the others the Python one, so the UTF-8 state crosses between them).
    Byte chunks may cut a character; a str chunk starts and ends on a boundary."""
    rng = random.Random(_seed(text) ^ 0x5EED)
    data = _encode(text)
    assert data is not None
    as_text = isinstance(text, str)
    out: list[Any] = []
    i = 0
    while i < len(data):
        j = min(len(data), i + rng.choice(_SIZES))
        kind = rng.randrange(5)
        if kind < 2 and as_text and data[i] & 0xC0 != 0x80:  # on a boundary: str
            while j < len(data) and data[j] & 0xC0 == 0x80:
                j += 1
            out.append(data[i:j].decode("utf-8"))
        else:
            out.append((bytes, bytearray, memoryview)[kind % 3](data[i:j]))
        i = j
    return out or [data]


SPLITS = 32  # two-piece splits per text: every one of a short text, else mostly at structure
_STRUCTURAL_CHARS = "`\n\"'{}[],:\\/*"
# (for bytes: the same characters as ints, and every byte of a multi-byte character)
_STRUCTURAL = (
    frozenset(_STRUCTURAL_CHARS)
    | frozenset(map(ord, _STRUCTURAL_CHARS))
    | frozenset(range(0x80, 0x100))
)


def _expand(name: str, text: str | bytes) -> list[str]:
    """``"splits"`` stands for two-piece splits ``"split@i"`` of ``text``: all of them for
    a short text, else cuts next to a character extraction or tokens care about."""
    if name != "splits":
        return [name]
    n = len(text)
    if n <= SPLITS + 1:
        return [f"split@{i}" for i in range(1, n)]
    rng = random.Random(_seed(text) ^ 0x5917)
    near = [i for i in range(1, n) if text[i - 1] in _STRUCTURAL or text[i] in _STRUCTURAL]
    cuts = set(rng.sample(near, min(len(near), SPLITS * 3 // 4)))
    while len(cuts) < SPLITS:
        cuts.add(rng.randrange(1, n))
    return [f"split@{i}" for i in sorted(cuts)]


def _chunks(name: str, text: str | bytes) -> list[Any] | None:
    """The chunks of ``text`` under chunking ``name``, or None when it does not apply."""
    if name.startswith("split@"):
        i = int(name[6:])
        return [text[:i], text[i:]]
    if name == "mixed":
        return None if _encode(text) is None else _mixed(text)
    if name == "pickled":  # random cuts; the parser goes through pickle after each feed
        return _random_cuts(text)
    if name.startswith("bytes"):
        data = _encode(text)
        if data is None:
            return None
        if name == "bytes-whole":
            return [data]
        if name == "bytes-each":
            return (
                [data[i : i + 1] for i in range(len(data))] if len(data) <= PER_UNIT_LIMIT else None
            )
        return _random_cuts(data)
    if isinstance(text, bytes):
        return None
    if name == "whole":
        return [text]
    if name == "chars":
        return list(text) if len(text) <= PER_UNIT_LIMIT else None
    return _random_cuts(text)


CHUNKINGS = (
    "whole",
    "chars",
    "random",
    "bytes-whole",
    "bytes-each",
    "bytes-random",
    "mixed",
    "pickled",
    "splits",
)
#: Chunkings also run with finish(allow_partial=False) (cheap ones: few feeds).
STRICT_FINISH_CHUNKINGS = ("whole", "random", "bytes-random", "mixed")

# ------------------------------------------------------------------------ running


def _copy(v: Any) -> Any:
    """A copy of the containers of a JSON value (the strings are shared)."""
    c = v.__class__
    if c is dict:
        return {k: _copy(x) for k, x in v.items()}
    if c is list:
        return [_copy(x) for x in v]
    return v


def _copy_fresh(v: Any) -> Any:
    """A copy that holds no string of ``v`` either: the parser then owns its open string
    alone and may grow it in place (CPython's ``s += t``), a path worth running too."""
    c = v.__class__
    if c is dict:
        return {k: _copy_fresh(x) for k, x in v.items()}
    if c is list:
        return [_copy_fresh(x) for x in v]
    if c is str and len(v) > 1:
        return v[:-1] + v[-1]
    return v


# Chunkings whose traces copy snapshots with fresh strings; the others keep the parser's
# strings and check that one held from the previous snapshot never changes.
FRESH_COPIES = frozenset({"chars", "random", "bytes-each", "pickled"})


def _error_key(err: JsonStreamError) -> tuple[Any, ...]:
    """What an error must keep for every chunking (its excerpt is the text around it in
    the chunk where it was found, so it may differ)."""
    return (
        type(err).__name__,
        err.reason,
        err.expected,
        err.found,
        err.offset,
        err.line,
        err.column,
        err.limit,
        err.truncated,
    )


def _error_text(err: JsonStreamError) -> str:
    return (
        f"{type(err).__name__}({err.reason!r}, offset={err.offset}, line={err.line}, "
        f"column={err.column}, limit={err.limit!r}, truncated={err.truncated}): {err}"
    )


@dataclass
class Trace:
    """Everything one backend showed under one chunking."""

    backend: str
    chunking: str
    chunks: list[Any]
    events: list[list[Any]] = field(default_factory=list)  # per feed
    snapshots: list[Any] = field(default_factory=list)  # copies, per feed
    reprs: list[str] = field(default_factory=list)  # repr of each snapshot
    positions: list[Any] = field(default_factory=list)
    result: Any = None
    error: JsonStreamError | None = None
    error_at: str = ""
    after_error: str | None = None  # how feed()/finish() after a feed error misbehaved
    crash: str = ""
    held_changed: int = 0  # the feed after which a string held from a snapshot changed
    pickle_error: str = ""
    after: dict[str, Any] = field(default_factory=dict)  # get(), documents... after finish

    def outcome(self) -> tuple[Any, ...]:
        if self.error is not None:
            return ("error", *_error_key(self.error))
        r = self.result
        return (
            "result",
            repr(r.value),
            r.complete,
            tuple((x.kind, x.path, x.detail) for x in r.repairs),
            r.confidence,
        )

    def describe_outcome(self) -> str:
        if self.error is not None:
            return f"error from {self.error_at}: {_error_text(self.error)}"
        r = self.result
        repairs = [(x.kind, x.path, x.detail) for x in r.repairs]
        return (
            f"result value={r.value!r} complete={r.complete} confidence={r.confidence!r} "
            f"repairs={repairs}"
        )

    def all_events(self) -> list[Any]:
        out = [ev for evs in self.events for ev in evs]
        if self.result is not None:
            out.extend(self.result.events)
        return out


def _run(
    backend: str, cls: type, options: dict[str, Any], chunking: str, chunks: list[Any]
) -> Trace:
    t = Trace(backend, chunking, chunks)
    copy = _copy_fresh if chunking in FRESH_COPIES else _copy
    p = cls(**options)
    where = "constructor"
    try:
        for i, chunk in enumerate(chunks):
            where = f"feed #{i} ({_chunk_repr(chunk)})"
            evs = p.feed(chunk)
            try:
                snap = p.snapshot()
                position = p.position
            except Exception as exc:  # snapshot() has no reason to raise, not even bad input
                t.crash = (
                    f"{type(exc).__name__} from snapshot() after feed #{i} "
                    f"({_chunk_repr(chunk)}): "
                    f"{exc!r}\n{traceback.format_exc()}"
                )
                return t
            t.events.append(list(evs))
            t.reprs.append(repr(snap))
            t.snapshots.append(copy(snap))
            t.positions.append(position)
            if i and copy is _copy and repr(t.snapshots[-2]) != t.reprs[-2]:
                t.held_changed = i
            if chunking == "pickled" and not t.pickle_error:
                try:
                    p = pickle.loads(pickle.dumps(p))
                except Exception as exc:  # reported last: the trace goes on unpickled
                    t.pickle_error = f"after feed #{i}: {exc!r}"
        where = "finish()"
        t.result = p.finish()
        where = "get(), documents, document_state() after finish()"
        gets = []
        while p.has_complete_object():
            gets.append(p.get())
        t.after = {"get": repr(gets), "documents": p.documents, "state": p.document_state()}
        if options.get("schema") is not None:
            t.after["fields"] = p.field_states()
    except JsonStreamError as err:
        t.error = err
        t.error_at = where
        if where != "finish()":
            # The same error again for any further input, and from finish().
            for call in ("feed", "finish"):
                try:
                    p.feed(" ") if call == "feed" else p.finish()
                    t.after_error = f"{call}() after the error did not raise"
                except JsonStreamError as again:
                    if _error_key(again) != _error_key(err):
                        t.after_error = f"{call}() after the error raised {_error_text(again)}"
                except Exception as exc:
                    t.after_error = f"{call}() after the error raised {exc!r}"
                if t.after_error is not None:
                    break
    except Exception as exc:
        t.crash = f"{type(exc).__name__} from {where}: {exc!r}\n{traceback.format_exc()}"
    return t


def _run_strict_finish(cls: type, options: dict[str, Any], chunks: list[Any]) -> tuple[Any, ...]:
    """Feed ``chunks`` and call finish(allow_partial=False): the outcome as a tuple."""
    p = cls(**options)
    try:
        for chunk in chunks:
            p.feed(chunk)
        r = p.finish(allow_partial=False)
    except JsonStreamError as err:
        return ("error", *_error_key(err))
    except Exception as exc:
        return ("crash", repr(exc))
    return ("result", repr(r.value), r.complete, tuple((x.kind, x.path) for x in r.repairs))


BACKENDS: tuple[tuple[str, type], ...] = (
    ("C", StreamingJsonParser),
    ("Python", PurePythonParser),
)

# ------------------------------------------------------------------------ reporting


def _show(data: Any, limit: int = 3000) -> str:
    r = repr(data)
    if len(r) <= limit:
        return r
    return f"{r[: limit // 2]} ...[{len(r) - limit} more]... {r[-limit // 2 :]}"


class _Ignored(Exception):
    """A failure of a kind the caller asked to ignore: ends that one check."""


class _Context:
    def __init__(
        self, text: Any, options: dict[str, Any], name: str, note: str, ignore: frozenset[str]
    ) -> None:
        self.text = text
        self.options = options
        self.name = name
        self.note = note
        self.ignore = ignore

    def step(self, fn: Callable[..., None], *args: Any) -> None:
        try:
            fn(self, *args)
        except _Ignored:
            pass

    def fail(
        self, kind: type[InvariantFailure], what: str, trace: Trace | None = None, **details: Any
    ) -> None:
        if kind.tag in self.ignore:
            raise _Ignored
        lines = [f"[{kind.tag}] {what}"]
        lines.append(f"  options: {self.name} {self.options!r}")
        if trace is not None:
            lines.append(
                f"  chunking: {trace.chunking} ({len(trace.chunks)} chunks), "
                f"backend {trace.backend}"
            )
        if self.note:
            lines.append(f"  sample: {self.note}")
        for k, v in details.items():
            lines.append(f"  {k}: {v if isinstance(v, str) else _show(v, 1500)}")
        lines.append(
            f"  text ({len(self.text)} {'bytes' if isinstance(self.text, bytes) else 'chars'}): "
            f"{_show(self.text)}"
        )
        raise kind("\n".join(lines))


# ------------------------------------------------------------------------ the checks


def _events_equal(a: list[Any], b: list[Any]) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if type(x) is not type(y) or x[0] != y[0]:
            return False
        if repr(x[1]) != repr(y[1]):  # repr tells 1 from 1.0 and True from 1; NaN == NaN
            return False
    return True


def _compare_backends(ctx: _Context, c: Trace, py: Trace) -> None:
    n = min(len(c.events), len(py.events))
    for i in range(n):
        chunk = c.chunks[i]
        if not _events_equal(c.events[i], py.events[i]):
            ctx.fail(
                BackendMismatch,
                f"C and Python events differ at feed #{i}",
                c,
                chunk=_chunk_repr(chunk),
                fed_so_far=_show(_join(c.chunks[: i + 1]), 600),
                c_events=c.events[i],
                python_events=py.events[i],
            )
        if c.reprs[i] != py.reprs[i]:
            ctx.fail(
                BackendMismatch,
                f"C and Python snapshots differ after feed #{i}",
                c,
                chunk=_chunk_repr(chunk),
                fed_so_far=_show(_join(c.chunks[: i + 1]), 600),
                c_snapshot=c.reprs[i],
                python_snapshot=py.reprs[i],
            )
        if c.positions[i] != py.positions[i]:
            ctx.fail(
                BackendMismatch,
                f"C and Python positions differ after feed #{i}",
                c,
                chunk=_chunk_repr(chunk),
                fed_so_far=_show(_join(c.chunks[: i + 1]), 600),
                c_position=c.positions[i],
                python_position=py.positions[i],
            )
    if len(c.events) != len(py.events) or (c.error is None) != (py.error is None):
        ctx.fail(
            BackendMismatch,
            "C and Python stop at different points",
            c,
            c_outcome=f"{c.describe_outcome()} after {len(c.events)} feeds",
            python_outcome=f"{py.describe_outcome()} after {len(py.events)} feeds",
        )
    if c.error is not None:
        assert py.error is not None
        if (
            _error_key(c.error) != _error_key(py.error)
            or vars(c.error) != vars(py.error)  # every field, the excerpt too
            or str(c.error) != str(py.error)
            or c.error_at != py.error_at
        ):
            ctx.fail(
                BackendMismatch,
                "C and Python errors differ",
                c,
                c_error=f"from {c.error_at}: {_error_text(c.error)}",
                python_error=f"from {py.error_at}: {_error_text(py.error)}",
            )
        return
    if c.after != py.after:
        ctx.fail(
            BackendMismatch,
            "C and Python differ in get()/documents/document_state()/field_states()",
            c,
            c_after=c.after,
            python_after=py.after,
        )
    rc, rp = c.result, py.result
    same_result = (
        repr(rc.value) == repr(rp.value)
        and rc.complete == rp.complete
        and rc.repairs == rp.repairs
        and rc.confidence == rp.confidence
        and _events_equal(list(rc.events), list(rp.events))
        and repr(rc.warnings) == repr(rp.warnings)
    )
    if not same_result:
        ctx.fail(
            BackendMismatch,
            "C and Python results differ",
            c,
            c_result=f"{c.describe_outcome()} events={list(rc.events)!r} warnings={rc.warnings!r}",
            python_result=f"{py.describe_outcome()} events={list(rp.events)!r} "
            f"warnings={rp.warnings!r}",
        )


def _join(chunks: list[Any]) -> Any:
    if all(isinstance(c, str) for c in chunks):
        return "".join(chunks)
    return b"".join(c.encode("utf-8") if isinstance(c, str) else bytes(c) for c in chunks)


def _chunk_repr(chunk: Any) -> str:
    if isinstance(chunk, memoryview):
        return f"memoryview({bytes(chunk)!r})"
    return repr(chunk)


def _check_documents(ctx: _Context, t: Trace, options: dict[str, Any]) -> None:
    """get() hands out the completed documents (with a fence replacing a value in prose,
    only the last); ``documents`` counts them."""
    if t.result is None:
        return
    done = [ev.value for ev in t.all_events() if ev.__class__ is DocumentCompleted]
    want = done if options.get("multiple_values") else done[-1:]
    if t.after["get"] != repr(want) or t.after["documents"] != len(want):
        ctx.fail(
            DocumentsApi,
            "get()/documents after finish() disagree with the DocumentCompleted events",
            t,
            get=t.after["get"],
            documents=t.after["documents"],
            document_completed_values=want,
        )


def _check_strict_finish(
    ctx: _Context, text: Any, options: dict[str, Any], traces: list[tuple[Trace, Trace]]
) -> None:
    """finish(allow_partial=False): the same for every chunking and backend; the result
    of finish() when that was complete, a truncation error when something was repaired."""
    by_name = {pair[0].chunking: pair for pair in traces}
    seen: dict[str, tuple[Any, ...]] = {}
    for chunking in STRICT_FINISH_CHUNKINGS:
        if chunking not in by_name:
            continue
        chunks = by_name[chunking][0].chunks
        for backend, cls in BACKENDS:
            seen[f"{chunking} ({backend})"] = _run_strict_finish(cls, options, chunks)
    outcomes = set(seen.values())
    if len(outcomes) > 1:
        ctx.fail(
            StrictFinish,
            "finish(allow_partial=False) differs between chunkings or backends",
            None,
            **{k.replace(" ", "_"): v for k, v in seen.items()},
        )
    strict = next(iter(outcomes))
    t = traces[0][1]
    if t.error is not None or not seen:
        return
    r = t.result
    if r.complete:
        ok = strict == ("result", repr(r.value), True, tuple((x.kind, x.path) for x in r.repairs))
    elif all(x.kind in ("no_value", "stripped_fence") for x in r.repairs):
        ok = True  # nothing at all (an empty stream of documents is not cut off)
    else:
        ok = strict[0] == "error" and strict[-1] is True  # truncated
    if not ok:
        ctx.fail(
            StrictFinish,
            "finish(allow_partial=False) disagrees with finish(): a complete result must "
            "come back as it is, a repaired one must be a truncation error",
            t,
            finish=t.describe_outcome(),
            strict_finish=strict,
        )


def _check_held(ctx: _Context, t: Trace) -> None:
    i = t.held_changed
    if i:
        ctx.fail(
            HeldValueChanged,
            f"a string held from the snapshot after feed #{i - 1} changed during feed #{i}",
            t,
            fed_so_far=_show(_join(t.chunks[: i + 1]), 600),
            held_then=t.reprs[i - 1],
            held_now=repr(t.snapshots[i - 1]),
        )


def _check_sticky(ctx: _Context, t: Trace) -> None:
    if t.after_error is not None:
        ctx.fail(
            StickyError,
            "after an error from feed(), further input or finish() does not raise it again",
            t,
            error=f"from {t.error_at}: {_error_text(t.error)}" if t.error else "",
            then=t.after_error,
        )


_SCALARS = (int, float, bool, type(None))


def _extends(
    old: Any, new: Any, path: tuple[Any, ...], tail: bool, flex: bool, pending: bool
) -> str:
    """'' when ``new`` extends ``old``; else where and how it does not.

    ``tail``: ``old`` is the last member of the snapshot (a held number may show there);
    ``flex``: hold_numbers=False, so that scalar may still change (but not vanish);
    ``pending``: schema mode, where None and [] are placeholders for values not yet seen
    (a value of another type may take their place).
    """
    if old is None and (pending or not path):
        return ""
    if pending and old == [] and old.__class__ is list:
        return ""  # a schema skeleton's placeholder for an array not seen yet
    if old.__class__ is str and new.__class__ is str:
        return "" if new.startswith(old) else f"string at {path} changed: {old!r} -> {new!r}"
    if old.__class__ is dict and new.__class__ is dict:
        keys = list(old)
        if list(new)[: len(keys)] != keys:
            return f"object at {path} lost or reordered keys: {keys} -> {list(new)}"
        for i, k in enumerate(keys):
            why = _extends(old[k], new[k], (*path, k), tail and i == len(keys) - 1, flex, pending)
            if why:
                return why
        return ""
    if old.__class__ is list and new.__class__ is list:
        if len(new) < len(old):
            return f"array at {path} shrank: {len(old)} -> {len(new)} items"
        for i, x in enumerate(old):
            why = _extends(x, new[i], (*path, i), tail and i == len(old) - 1, flex, pending)
            if why:
                return why
        return ""
    if repr(old) == repr(new):
        return ""
    if tail and flex and isinstance(old, _SCALARS) and isinstance(new, _SCALARS):
        return ""  # hold_numbers=False: the held number or literal shows its best value so far
    return f"value at {path} changed: {old!r} -> {new!r}"


def _check_monotone(ctx: _Context, t: Trace, options: dict[str, Any]) -> None:
    multi = bool(options.get("multiple_values"))
    flex = options.get("hold_numbers") is False
    pending = options.get("schema") is not None
    prev: Any = None
    doc_done = False
    started = not pending  # schema mode: the skeleton is a placeholder until a value starts
    for i, (evs, snap) in enumerate(zip(t.events, t.snapshots, strict=True)):
        for ev in evs:
            if not started and ev.__class__ is not DocumentCompleted and ev.path == ():
                started = True
            cls = ev.__class__
            if cls is DocumentCompleted:
                if multi:
                    prev = None  # the next document starts fresh
                else:
                    doc_done = True
            elif (cls is ValueStarted or cls is ValueCompleted) and ev.path == ():
                if doc_done or (pending and cls is ValueStarted):
                    prev = None  # a fenced block replaces the value found in prose
                    doc_done = False
        if not started:
            continue
        why = _extends(prev, snap, (), True, flex, pending)
        if why:
            ctx.fail(
                NotMonotone,
                f"snapshot after feed #{i} does not extend the previous one: {why}",
                t,
                chunk=_chunk_repr(t.chunks[i]),
                fed_so_far=_show(_join(t.chunks[: i + 1]), 600),
                events_of_this_feed=evs,
                previous_snapshot=prev,
                snapshot=snap,
            )
        prev = snap
    if t.result is not None and started and not (multi and prev is None):
        # finish() closes what the snapshots showed: it never takes a shown value back.
        final = t.result.value
        why = _extends(prev, final, (), True, flex, pending)
        if why:
            ctx.fail(
                NotMonotone,
                f"the final value does not extend the last snapshot: {why}",
                t,
                last_snapshot=prev,
                final=t.describe_outcome(),
            )


def _replay_applies(options: dict[str, Any]) -> bool:
    return (
        options.get("partial_strings", True) is not False
        and options.get("hold_numbers", True) is not False
        and options.get("schema") is None
    )


def _apply(builder: ValueBuilder, evs: list[Any], multi: bool) -> None:
    for ev in evs:
        if ev.__class__ is ValueCompleted:
            ev = ValueCompleted(ev.path, _copy(ev.value))  # the builder must not share values
        builder.apply([ev])
        if multi and ev.__class__ is DocumentCompleted:
            builder.value = None  # the next document starts fresh


def _check_replay(ctx: _Context, t: Trace, options: dict[str, Any]) -> None:
    multi = bool(options.get("multiple_values"))
    builder = ValueBuilder()
    if _replay_applies(options):
        for i, evs in enumerate(t.events):
            try:
                _apply(builder, evs, multi)
            except Exception as exc:
                ctx.fail(
                    ReplayMismatch,
                    f"events of feed #{i} cannot be applied to the value so far: {exc!r}",
                    t,
                    fed_so_far=_show(_join(t.chunks[: i + 1]), 600),
                    events_of_this_feed=evs,
                    value_so_far=builder.value,
                )
            if repr(builder.value) != t.reprs[i]:
                ctx.fail(
                    ReplayMismatch,
                    f"replaying the events does not rebuild the snapshot after feed #{i}",
                    t,
                    chunk=_chunk_repr(t.chunks[i]),
                    fed_so_far=_show(_join(t.chunks[: i + 1]), 600),
                    events_of_this_feed=evs,
                    rebuilt=builder.value,
                    snapshot=t.reprs[i],
                )
    elif multi or options.get("schema") is not None:
        return
    else:
        for evs in t.events:
            _apply(builder, evs, multi)
    if t.result is None or multi or options.get("schema") is not None:
        return
    try:
        _apply(builder, list(t.result.events), multi)
    except Exception as exc:
        ctx.fail(
            ReplayMismatch, f"finish() events cannot be applied: {exc!r}", t, events=t.result.events
        )
    if repr(builder.value) != repr(t.result.value):
        ctx.fail(
            ReplayMismatch,
            "replaying every event (finish() included) does not rebuild the final value",
            t,
            rebuilt=builder.value,
            final=t.describe_outcome(),
            finish_events=list(t.result.events),
        )


def _shallow(t: Trace) -> list[tuple[Any, ...]]:
    """The depth <= 1 starts and completions and the document completions, in order."""
    out: list[tuple[Any, ...]] = []
    for ev in t.all_events():
        if ev.__class__ is ValueCompleted and len(ev.path) <= 1:
            out.append(("ValueCompleted", ev.path, repr(ev.value)))
        elif ev.__class__ is ValueStarted and len(ev.path) <= 1:
            out.append(("ValueStarted", ev.path, ev.kind))
        elif ev.__class__ is DocumentCompleted:
            out.append(("DocumentCompleted", ev.index, repr(ev.value)))
    return out


_GROWING = {dict: "object", list: "array", str: "string"}


def _check_shallow_order(ctx: _Context, t: Trace) -> None:
    """The top-level value and each of its members start (objects, arrays and strings:
    the values that can grow) and complete exactly once per document, in that order."""
    completed: set[Any] = set()
    started: dict[Any, str] = {}
    for ev in t.all_events():
        cls = ev.__class__
        if cls is DocumentCompleted:
            completed = set()
            started = {}
        elif (cls is ValueCompleted or cls is ValueStarted) and len(ev.path) <= 1:
            what = ""
            if ev.path in completed:
                what = "completed twice" if cls is ValueCompleted else "started after it completed"
            elif cls is ValueStarted:
                if ev.path in started:
                    what = "started twice"
                started[ev.path] = ev.kind
            else:
                kind = _GROWING.get(ev.value.__class__)
                if kind is not None and started.get(ev.path) != kind:
                    what = f"completed as {kind} without a ValueStarted({kind!r})"
            if what:
                ctx.fail(
                    ShallowEvents,
                    f"path {ev.path} {what} in one document",
                    t,
                    event=ev,
                    all_events=t.all_events(),
                )
            if cls is ValueCompleted:
                completed.add(ev.path)


# ------------------------------------------------------------------------ the value


def enabled_tolerances(options: dict[str, Any]) -> frozenset[str]:
    tol = Tolerances.resolve(
        bool(options.get("lenient")), **{n: options.get(n) for n in TOLERANCES}
    )
    return frozenset(n for n in TOLERANCES if getattr(tol, n))


def _transform(value: Any, kt: Callable[[str], str]) -> Any:
    if isinstance(value, dict):
        return {kt(k): _transform(v, kt) for k, v in value.items()}
    if isinstance(value, list):
        return [_transform(v, kt) for v in value]
    return value


_WORD = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")


def _longest_word(text: str) -> int:
    return max((len(m) for m in _WORD.findall(text)), default=0)


def expected_for(sample: Sample, options: dict[str, Any]) -> Any:
    """What ``sample`` must parse to under ``options``: a value, ``("documents", [...])``
    with ``multiple_values``, or ``MISSING`` when the sample does not say."""
    if not sample.valid:
        return MISSING
    enabled = enabled_tolerances(options)
    if not sample.used <= enabled or sample.needs_off & enabled:
        return MISSING
    if sample.depth > options.get("max_depth", 256):
        return MISSING
    if sample.number_length > options.get("max_number_length", 1000):
        return MISSING
    if "max_key_length" in options and _longest_word(sample.text) > options["max_key_length"]:
        return MISSING  # (a limit raises even in prose: "{placeholder}" is a candidate)
    if len(sample.text.encode("utf-8", "surrogatepass")) > options.get(
        "max_bytes", 5 * 1024 * 1024
    ):
        return MISSING
    if options.get("multiple_values"):
        if sample.documents is None:
            return MISSING
        docs = list(sample.documents)
        if options.get("key_transform"):
            kt = key_transformer(options["key_transform"])
            docs = [_transform(d, kt) for d in docs]
        return ("documents", docs)
    value = sample.value
    if value is MISSING:
        return MISSING
    if options.get("key_transform"):
        value = _transform(value, key_transformer(options["key_transform"]))
    if options.get("schema") is not None:
        if sample.shape != "card":
            return MISSING
    return value


def _check_value(ctx: _Context, t: Trace, options: dict[str, Any], expect: Any) -> None:
    if t.error is not None:
        ctx.fail(WrongValue, f"expected a value, got {t.describe_outcome()}", t, expected=expect)
    r = t.result
    if isinstance(expect, tuple) and expect[:1] == ("documents",):
        docs = [ev.value for ev in t.all_events() if ev.__class__ is DocumentCompleted]
        if repr(docs) != repr(expect[1]) or not all(map(same, docs, expect[1])):
            ctx.fail(
                WrongValue,
                "the documents are not the intended ones",
                t,
                documents=docs,
                expected=expect[1],
            )
        last = expect[1][-1] if expect[1] else None
        if not same(r.value, last):
            ctx.fail(
                WrongValue,
                "the final value is not the last document",
                t,
                final=r.value,
                expected=last,
            )
        return
    if not same(r.value, expect):
        ctx.fail(
            WrongValue,
            "the final value is not the intended one",
            t,
            final=t.describe_outcome(),
            expected=expect,
        )
    if not r.complete or r.confidence != "high":
        ctx.fail(
            WrongValue,
            "a complete, valid input is not reported complete with high confidence",
            t,
            final=t.describe_outcome(),
        )


# ------------------------------------------------------------------------ check


def check(
    text: str | bytes,
    options: dict[str, Any],
    *,
    chunkings: tuple[str, ...] = CHUNKINGS,
    expect: Any = MISSING,
    name: str = "",
    note: str = "",
    ignore: frozenset[str] | set[str] = frozenset(),
) -> None:
    """Run every invariant on ``text`` under ``options``; raise InvariantFailure if one
    breaks.  ``expect``: the intended final value (or ``("documents", [...])``);
    ``ignore``: tags of failure kinds not to report (to look past a known defect)."""
    ctx = _Context(text, options, name, note, frozenset(ignore))
    traces: list[tuple[Trace, Trace]] = []
    for chunking in (c for name in chunkings for c in _expand(name, text)):
        chunks = _chunks(chunking, text)
        if chunks is None:
            continue
        c, py = (_run(b, cls, options, chunking, chunks) for b, cls in BACKENDS)
        for t in (c, py):
            if t.crash:
                ctx.fail(
                    Crash,
                    f"non-JsonStreamError exception: {t.crash.splitlines()[0]}",
                    t,
                    traceback=t.crash,
                )
        traces.append((c, py))
    for c, py in traces:
        ctx.step(_compare_backends, c, py)
    ctx.step(_check_outcomes, traces)
    for pair in traces:
        for t in pair:
            ctx.step(_check_held, t)
            ctx.step(_check_sticky, t)
            ctx.step(_check_monotone, t, options)
            ctx.step(_check_replay, t, options)
            ctx.step(_check_shallow_order, t)
            ctx.step(_check_documents, t, options)
    ctx.step(_check_shallow_sequences, traces)
    ctx.step(_check_strict_finish, text, options, traces)
    if expect is not MISSING:
        for t in traces[0]:
            ctx.step(_check_value, t, options, expect)
    for pair in traces:
        for t in pair:
            if t.pickle_error:
                ctx.fail(NotPicklable, f"pickling the parser failed {t.pickle_error}", t)


def _check_outcomes(ctx: _Context, traces: list[tuple[Trace, Trace]]) -> None:
    """(a) the same result or error for every chunking, on each backend; after all the
    input, the same ``position``."""
    for k in (0, 1):
        first = traces[0][k]
        for pair in traces[1:]:
            t = pair[k]
            if (
                t.error is None
                and first.error is None
                and t.positions
                and first.positions
                and t.positions[-1] != first.positions[-1]
            ):
                ctx.fail(
                    ChunkingChangesOutcome,
                    f"position after all the input differs between chunkings "
                    f"{first.chunking!r} and {t.chunking!r}",
                    t,
                    **{
                        f"position_{first.chunking}": first.positions[-1],
                        f"position_{t.chunking}": t.positions[-1],
                    },
                )
            if t.error is None and first.error is None and t.after != first.after:
                ctx.fail(
                    DocumentsApi,
                    f"get()/documents/document_state()/field_states() differ between "
                    f"chunkings {first.chunking!r} and {t.chunking!r}",
                    t,
                    **{f"after_{first.chunking}": first.after, f"after_{t.chunking}": t.after},
                )
            if t.outcome() != first.outcome():
                ctx.fail(
                    ChunkingChangesOutcome,
                    f"the outcome differs between chunkings {first.chunking!r} and {t.chunking!r}",
                    t,
                    **{
                        f"outcome_{first.chunking}": first.describe_outcome(),
                        f"outcome_{t.chunking}": t.describe_outcome(),
                    },
                )


def _check_shallow_sequences(ctx: _Context, traces: list[tuple[Trace, Trace]]) -> None:
    """(e) the depth <= 1 completions are the same for every chunking."""
    for k in (0, 1):
        first = traces[0][k]
        if first.error is not None:
            continue
        seq = _shallow(first)
        for pair in traces[1:]:
            t = pair[k]
            if t.error is not None:
                continue
            other = _shallow(t)
            if other != seq:
                i = next(
                    (i for i, (a, b) in enumerate(zip(seq, other, strict=False)) if a != b),
                    min(len(seq), len(other)),
                )
                ctx.fail(
                    ShallowEvents,
                    f"depth <= 1 completions differ between chunkings {first.chunking!r} and "
                    f"{t.chunking!r} (from item {i})",
                    t,
                    **{
                        f"completions_{first.chunking}": seq[i : i + 6],
                        f"completions_{t.chunking}": other[i : i + 6],
                    },
                )


def check_sample(
    sample: Sample,
    name: str,
    options: dict[str, Any],
    *,
    ignore: frozenset[str] | set[str] = frozenset(),
) -> None:
    """``check`` a generated sample under a named option set, with its intended value."""
    expect = expected_for(sample, options)
    if (
        expect is not MISSING
        and options.get("schema") is not None
        and not isinstance(expect, tuple)
    ):
        expect = _schema_filled(expect)
    check(sample.text, options, expect=expect, name=name, note=sample.note, ignore=ignore)


def _schema_filled(value: Any) -> Any:
    """A CARD_SCHEMA value as the schema-mode parser returns it: declared keys first."""
    if not isinstance(value, dict):
        return MISSING
    out = {"title": value.get("title"), "price": value.get("price"), "tags": value.get("tags", [])}
    out.update((k, v) for k, v in value.items() if k not in out)
    return out
