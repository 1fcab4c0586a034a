"""Pipeline benchmark: provider SSE bytes to a live partial value per delta.

Run: ``python bench/bench_pipeline.py [--quick] [--only SECTION ...] [--markdown PATH]
[--results PATH]``.  Everything runs in one process, on the same bytes for every contender,
read in 4 KiB pieces as a socket gives them.  Prints markdown tables, with each target met or
not, and merges the sections into ``bench/results.json`` (``bench/results.py``).

Sections:

``providers``  one stream per provider API, two tool calls (or, for Gemini, a JSON-mode
               answer) of 10 KB of arguments each in 1-8 character deltas: SSE events/s from
               bytes to ``parser.feed(delta)`` + ``parser.snapshot()`` after every delta, on
               the C accelerator and on pure Python; the parts (SSE decoding, envelopes).
``sdks``       the same OpenAI Chat and Anthropic bytes through the official SDKs' helpers
               (their SSE decoder, the chunk object constructed, ``ChatCompletionStreamState.
               handle_chunk`` / ``accumulate_event``, which re-parse the arguments with jiter
               to show partial values).
``envelopes``  the JSON decoders on the OpenAI envelopes: stdlib json, ujson, orjson and the
               C accelerator's projection.
``fanin``      1 000 concurrent recorded provider streams (the shipped recordings, ids made
               unique per stream) through ``drive()`` into one supervisor, end to end, with
               a heartbeat task measuring the event loop's lag.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))

import trio

from docs import llm_document, token_chunks
from jsonvisor.llm import (
    Delta,
    MessageStart,
    adapter_for,
    drive,
    load_recording,
    recording_names,
    sse,
)
from jsonvisor.llm.decode import BACKEND
from jsonvisor.mailboxes.pacing import current_pacer
from jsonvisor.parsers import StreamingJsonParser
from jsonvisor.supervisor import is_terminal, open_supervisor
from results import Recorder

PIECE = 4096
RESULTS: list[tuple[str, str, str]] = []  # (target, measured, verdict)
TABLES: list[str] = []
RECORD: Recorder | None = None  # set by main()


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def target(name: str, measured: str, ok: bool, key: str | None = None) -> None:
    RESULTS.append((name, measured, verdict(ok)))
    if RECORD is not None:  # (a target without a key: its section and number)
        here = RECORD.sections.get(RECORD.current, {}).get("targets", [])
        RECORD.target(key or f"{RECORD.current}.{len(here) + 1}", name, measured, ok)


def table(title: str, header: list[str], rows: list[list[str]]) -> None:
    if RECORD is not None and not title.startswith("Targets"):
        RECORD.table(title, header, rows)
    lines = [f"**{title}**", "", "| " + " | ".join(header) + " |"]
    lines.append("|" + "|".join("---" for _ in header) + "|")
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    text = "\n".join(lines)
    TABLES.append(text)
    print("\n" + text, flush=True)


def best(fn: Callable[[], object], repeat: int) -> float:
    """Best wall time of ``repeat`` runs (GC on, as in an application)."""
    times = []
    for _ in range(repeat):
        gc.collect()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def pieces_of(data: bytes) -> list[bytes]:
    return [data[i : i + PIECE] for i in range(0, len(data), PIECE)]


# ---------------------------------------------------------------------------- workloads


def compact(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def sse_event(data: str, event: str | None = None) -> str:
    return (f"event: {event}\n" if event else "") + f"data: {data}\n\n"


def arguments(size: int, calls: int) -> list[list[str]]:
    """Per call, its 10 KB JSON arguments cut into 1-8 character deltas."""
    return [token_chunks(llm_document(size, seed=k), seed=k) for k in range(calls)]


def openai_chat_stream(size: int, calls: int = 2) -> bytes:
    """Chat Completions: ``calls`` parallel tool calls, one after the other as OpenAI sends
    them (the SDK's stream state cannot take interleaved fragments: it finishes a call,
    parsing its arguments whole, when the index changes)."""
    base = {
        "id": "chatcmpl-BenchQ9ZrD7xWcV1nYf0sJtLmHa2E8p",
        "object": "chat.completion.chunk",
        "created": 1740172800,
        "model": "gpt-4o-2024-08-06",
        "service_tier": "default",
        "system_fingerprint": "fp_f9f4fb6dbf",
    }

    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return compact({**base, "choices": [choice], "usage": None})

    out = [sse_event(chunk({"role": "assistant", "content": None, "refusal": None}))]
    for k, frags in enumerate(arguments(size, calls)):
        first = {
            "index": k,
            "id": f"call_bench{k}",
            "type": "function",
            "function": {"name": f"tool_{k}", "arguments": ""},
        }
        out.append(sse_event(chunk({"tool_calls": [first]})))
        for f in frags:
            call = {"index": k, "function": {"arguments": f}}
            out.append(sse_event(chunk({"tool_calls": [call]})))
    out.append(sse_event(chunk({}, "tool_calls")))
    out.append(sse_event("[DONE]"))
    return "".join(out).encode()


def anthropic_stream(size: int, calls: int = 2) -> bytes:
    """Messages API: ``calls`` tool_use blocks streamed as ``input_json_delta``."""
    out: list[str] = []

    def emit(kind: str, **fields: Any) -> None:
        out.append(sse_event(compact({"type": kind, **fields}), kind))

    message = {
        "id": "msg_bench014p7gG3wDgGV9EUtLvnow3U",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-20250514",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 472, "output_tokens": 2},
    }
    emit("message_start", message=message)
    for k, frags in enumerate(arguments(size, calls)):
        block = {"type": "tool_use", "id": f"toolu_bench{k}", "name": f"tool_{k}", "input": {}}
        emit("content_block_start", index=k, content_block=block)
        for f in frags:
            emit(
                "content_block_delta",
                index=k,
                delta={"type": "input_json_delta", "partial_json": f},
            )
        emit("content_block_stop", index=k)
    emit(
        "message_delta",
        delta={"stop_reason": "tool_use", "stop_sequence": None},
        usage={"output_tokens": 5000},
    )
    emit("message_stop")
    return "".join(out).encode()


def responses_stream(size: int, calls: int = 2) -> bytes:
    """Responses API: ``calls`` function calls streamed as ``function_call_arguments.delta``."""
    out: list[str] = []
    seq = iter(range(10**9))
    rid = "resp_bench67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b"

    def emit(kind: str, **fields: Any) -> None:
        out.append(sse_event(compact({"type": kind, "sequence_number": next(seq), **fields}), kind))

    response = {"id": rid, "object": "response", "status": "in_progress", "output": []}
    emit("response.created", response=response)
    for k, frags in enumerate(arguments(size, calls)):
        item_id = f"fc_bench{k}_67ccd3b0d5a48190a8c9f1c5e6b2e34d0bb6a6b452d3795b"
        item = {
            "id": item_id,
            "type": "function_call",
            "status": "in_progress",
            "arguments": "",
            "call_id": f"call_bench{k}",
            "name": f"tool_{k}",
        }
        emit("response.output_item.added", output_index=k, item=item)
        for f in frags:
            emit(
                "response.function_call_arguments.delta",
                item_id=item_id,
                output_index=k,
                delta=f,
                obfuscation="xK2p9",
            )
        args = "".join(frags)
        emit(
            "response.function_call_arguments.done", item_id=item_id, output_index=k, arguments=args
        )
        emit("response.output_item.done", output_index=k, item={**item, "arguments": args})
    emit("response.completed", response={**response, "status": "completed"})
    return "".join(out).encode()


def gemini_stream(size: int, calls: int = 2) -> bytes:
    """Gemini ``alt=sse``: a JSON-mode answer of ``calls`` x ``size`` characters as text parts
    (Gemini sends a ``functionCall`` whole, so text is where its deltas are)."""
    doc = json.dumps([json.loads(llm_document(size, seed=k)) for k in range(calls)])
    out = []
    for k, piece in enumerate(token_chunks(doc, seed=7)):
        cand: dict[str, Any] = {
            "content": {"parts": [{"text": piece}], "role": "model"},
            "index": 0,
        }
        event = {
            "candidates": [cand],
            "usageMetadata": {"promptTokenCount": 41, "totalTokenCount": 41 + k},
            "modelVersion": "gemini-2.0-flash",
            "responseId": "yFbTZ8r2Aq-BenchPvJvC2QQ",
        }
        out.append(f"data: {json.dumps(event, ensure_ascii=False)}\r\n\r\n")
    last = {
        "candidates": [
            {
                "content": {"parts": [{"text": ""}], "role": "model"},
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "responseId": "yFbTZ8r2Aq-BenchPvJvC2QQ",
    }
    out.append(f"data: {json.dumps(last)}\r\n\r\n")
    return "".join(out).encode()


STREAMS = {
    "OpenAI Chat (tool calls)": ("openai-chat", openai_chat_stream),
    "OpenAI Responses (function calls)": ("openai-responses", responses_stream),
    "Anthropic (tool_use)": ("anthropic", anthropic_stream),
    "Gemini (JSON-mode text)": ("gemini", gemini_stream),
}


def count_events(data: bytes) -> int:
    return len(sse.PureSSEDecoder().feed(data))


# ---------------------------------------------------------------------------- pipeline


def pipeline(fmt: str, pieces: list[bytes]) -> Callable[[], dict[str, Any]]:
    """Bytes -> adapter -> one parser per message, ``snapshot()`` after every delta."""

    def run() -> dict[str, Any]:
        adapter = adapter_for(fmt)
        parsers: dict[str, StreamingJsonParser] = {}
        get = parsers.get
        value = None
        for piece in pieces:
            for item in adapter.feed(piece):
                if item.__class__ is Delta:
                    parser = get(item.msg_id)
                    if parser is None:
                        parser = parsers[item.msg_id] = StreamingJsonParser()
                    parser.feed(item.text)
                    value = parser.snapshot()  # the live partial value
        adapter.close()
        assert value is not None
        return {k: p.snapshot() for k, p in parsers.items()}

    return run


def feed_all(consumer: Any, pieces: list[bytes]) -> int:
    """Feed every piece to a decoder or adapter; the number of things it returned."""
    feed = consumer.feed
    return sum(len(feed(p)) for p in pieces)


def with_backend(accelerated: bool, fn: Callable[[], Any]) -> Callable[[], Any]:
    """``fn`` with the SSE accelerator on or off (pure Python decoder and envelopes)."""

    def run() -> Any:
        saved = sse.ACCELERATOR
        sse.ACCELERATOR = saved if accelerated else None
        try:
            return fn()
        finally:
            sse.ACCELERATOR = saved

    return run


def bench_providers(quick: bool) -> dict[str, float]:
    size, repeat = (10_000, 3 if quick else 7)
    rows = []
    rates: dict[str, float] = {}
    accel = sse.ACCELERATOR is not None
    for label, (fmt, make) in STREAMS.items():
        data = make(size)
        pieces = pieces_of(data)
        events = count_events(data)
        run = pipeline(fmt, pieces)
        want = with_backend(False, run)()
        assert with_backend(True, run)() == want, "the backends disagree"
        for name, values in want.items():
            assert values is not None, name
        c = best(with_backend(True, run), repeat) if accel else float("nan")
        pure = best(with_backend(False, run), max(2, repeat // 2))
        decoder_c = best(lambda p=pieces: feed_all(sse.SSEDecoder(), p), repeat) if accel else 0.0
        decoder_py = best(lambda p=pieces: feed_all(sse.PureSSEDecoder(), p), repeat)
        adapter_c = best(
            with_backend(True, lambda p=pieces, f=fmt: feed_all(adapter_for(f), p)), repeat
        )
        rates[label] = events / c
        rows.append(
            [
                label,
                f"{events:,}",
                f"{len(data) / events:.0f}",
                f"{c * 1e3:.1f} ms",
                f"**{events / c:,.0f}**",
                f"{events / pure:,.0f}",
                f"{(events / c) / (events / pure):.1f}x",
                f"{decoder_c * 1e3:.1f} / {decoder_py * 1e3:.1f} ms",
                f"{adapter_c * 1e3:.1f} ms",
            ]
        )
    table(
        f"Bytes to a live partial value, per provider (2 x 10 KB of arguments, 1-8 character "
        f"deltas, {PIECE} B reads; parser.feed + snapshot() per delta)",
        [
            "stream",
            "SSE events",
            "bytes/event",
            "time (C)",
            "events/s (C)",
            "events/s (pure Python)",
            "C vs pure",
            "SSE decoding alone, C / pure",
            "bytes to deltas (C, no parser)",
        ],
        rows,
    )
    chat = rates["OpenAI Chat (tool calls)"]
    target(
        "OpenAI Chat tool-call streams >= 400 000 SSE events/s, bytes to live partial value",
        f"{chat:,.0f}/s",
        chat >= 400_000,
        "chat_rate",
    )
    for label in ("OpenAI Responses (function calls)", "Gemini (JSON-mode text)"):
        ratio = chat / rates[label]
        target(
            f"{label.split(' (')[0]} within 1.5x of the Chat figure per event",
            f"{rates[label]:,.0f}/s: Chat is {ratio:.2f}x",
            ratio <= 1.5,
            label.split(" (")[0].lower().replace(" ", "_") + "_vs_chat",
        )
    return rates


# ---------------------------------------------------------------------------- SDKs


def openai_sdk(pieces: list[bytes]) -> Callable[[], Any]:
    """The openai SDK's own path: its SSE decoder, the chunk model constructed as its
    ``Stream`` does, ``ChatCompletionStreamState.handle_chunk`` (strict tools: it re-parses
    the arguments with jiter after every chunk, which is how it shows partial values)."""
    from openai._models import construct_type
    from openai._streaming import SSEDecoder
    from openai.lib.streaming.chat import ChatCompletionStreamState
    from openai.types.chat import ChatCompletionChunk

    tools = [
        {
            "type": "function",
            "function": {"name": f"tool_{k}", "parameters": {"type": "object"}, "strict": True},
        }
        for k in range(2)
    ]

    def run() -> Any:
        state = ChatCompletionStreamState(input_tools=tools)
        for sse_event in SSEDecoder().iter_bytes(iter(pieces)):
            if sse_event.data.startswith("[DONE]"):
                break
            chunk = construct_type(type_=ChatCompletionChunk, value=sse_event.json())
            for _ in state.handle_chunk(chunk):
                pass
        calls = state.current_completion_snapshot.choices[0].message.tool_calls or []
        return [c.function.parsed_arguments for c in calls]

    return run


def anthropic_sdk(pieces: list[bytes]) -> Callable[[], Any]:
    """The anthropic SDK's own path: its SSE decoder, the event model constructed as its
    ``Stream`` does, ``accumulate_event`` (jiter re-parses a tool's JSON after each delta)."""
    from anthropic._models import construct_type
    from anthropic._streaming import SSEDecoder
    from anthropic.lib.streaming._messages import accumulate_event
    from anthropic.types import RawMessageStreamEvent

    def run() -> Any:
        snapshot = None
        bufs: dict[int, bytes] = {}
        for sse_event in SSEDecoder().iter_bytes(iter(pieces)):
            event = construct_type(type_=RawMessageStreamEvent, value=sse_event.json())
            snapshot = accumulate_event(event=event, current_snapshot=snapshot, json_bufs=bufs)
        assert snapshot is not None
        return [block.input for block in snapshot.content]

    return run


def bench_sdks(quick: bool) -> None:
    repeat = 2 if quick else 3
    rows = []
    for label, fmt, make, sdk, target_ratio in [
        ("openai `ChatCompletionStreamState`", "openai-chat", openai_chat_stream, openai_sdk, 100),
        ("anthropic `accumulate_event`", "anthropic", anthropic_stream, anthropic_sdk, 20),
    ]:
        data = make(10_000)
        pieces = pieces_of(data)
        events = count_events(data)
        ours = pipeline(fmt, pieces)
        theirs = sdk(pieces)
        values = list(ours().values())
        assert theirs() == values, "the SDK and jsonvisor end with different values"
        t_ours = best(ours, 5)
        t_sdk = best(theirs, repeat)
        ratio = t_sdk / t_ours
        rows.append(
            [
                label,
                f"{events:,}",
                f"{t_sdk * 1e3:,.0f} ms",
                f"{events / t_sdk:,.0f}",
                f"{t_ours * 1e3:.1f} ms",
                f"**{ratio:,.0f}x**",
            ]
        )
        target(
            f"jsonvisor >= {target_ratio}x the {label.split(' ')[0]} SDK helper, 2 x 10 KB",
            f"{ratio:,.0f}x",
            ratio >= target_ratio,
            f"{label.split(' ')[0]}_sdk",
        )
    table(
        "The official SDK helpers on the same bytes (from bytes, same 4 KiB reads, partial values "
        "after every delta; same final values checked)",
        ["SDK helper", "SSE events", "SDK time", "SDK events/s", "jsonvisor time", "jsonvisor is"],
        rows,
    )


# ---------------------------------------------------------------------------- envelopes


def bench_envelopes(quick: bool) -> None:
    import ujson

    from jsonvisor.llm import OpenAIChatAdapter

    data = openai_chat_stream(10_000)
    datas = [e.data for e in sse.PureSSEDecoder().feed(data) if e.data != "[DONE]"]
    raw = [d.encode() for d in datas]
    decoders: list[tuple[str, Callable[[Any], Any], list[Any]]] = [
        ("stdlib `json.loads`", json.loads, datas),
        ("`ujson.loads`", ujson.loads, datas),
    ]
    try:
        import orjson

        decoders.append(("`orjson.loads`", orjson.loads, datas))
    except ImportError:
        pass
    accel = sse.ACCELERATOR
    if accel is not None:
        proj = OpenAIChatAdapter._compiled_projection()
        plain = accel.Projection(OpenAIChatAdapter.projection)
        decoders.append(
            ("C projection (the keys the adapter reads)", lambda d: accel.project(d, plain), raw)
        )
        decoders.append(
            ("C projection + hot-event templates", lambda d: accel.project(d, proj), raw)
        )
    rows = []
    for label, fn, xs in decoders:

        def run(fn: Callable[[Any], Any] = fn, xs: list[Any] = xs) -> None:
            for x in xs:
                fn(x)

        t = best(run, 5)
        rows.append([label, f"{t * 1e3:.1f} ms", f"{t / len(xs) * 1e6:.2f} µs"])
    table(
        f"Envelope decoding: the {len(datas):,} OpenAI Chat envelopes of the benchmark stream "
        f"(about {sum(map(len, raw)) / len(raw):.0f} bytes each); `decode_json` uses {BACKEND}",
        ["decoder", "time", "per envelope"],
        rows,
    )


# ---------------------------------------------------------------------------- fan-in


def unique_streams(n: int) -> list[tuple[str, bytes]]:
    """``n`` recorded streams (the shipped recordings, round robin), each with its response
    ids made unique so that its messages are its own."""
    formats = {
        "openai_chat_parallel_tools": "openai-chat",
        "openai_chat_fenced_json": "openai-chat",
        "openai_responses_function_call": "openai-responses",
        "anthropic_tool_use": "anthropic",
        "gemini_stream": "gemini",
    }
    base = []
    for name in recording_names():
        name = name.removesuffix(".sse")
        data = load_recording(name)
        starts = [i for i in adapter_for(formats[name]).feed(data) if isinstance(i, MessageStart)]
        rid = starts[0].msg_id.split(":")[0]
        base.append((formats[name], data, rid))
    out = []
    for k in range(n):
        fmt, data, rid = base[k % len(base)]
        out.append((fmt, data.replace(rid.encode(), f"{rid}-s{k}".encode())))
    return out


async def replay(steps: list[list[Any]], sup: Any) -> None:
    """What ``drive()`` does with a stream's items, without the bytes: the supervisor's
    share of the fan-in (the items were decoded beforehand)."""
    sent: set[str] = set()
    pacer = current_pacer()  # drive() takes its turns through the loop's pacer: so does this
    for items in steps:
        await pacer.checkpoint()  # as drive's read of the next piece
        started = time.perf_counter()
        for item in items:
            if item.__class__ is Delta:
                sent.add(item.msg_id)
                try:
                    sup.send_nowait(item.msg_id, item.text)
                except trio.WouldBlock:
                    pacer.add_since(started, 0)
                    await sup.send(item.msg_id, item.text)
                    started = time.perf_counter()
            elif getattr(item, "msg_id", None) in sent and not isinstance(item, MessageStart):
                pacer.add_since(started, 0)
                await sup.end(item.msg_id)
                started = time.perf_counter()
        pacer.add_since(started)


async def fan_in(streams: list[tuple[str, bytes]], predecoded: bool) -> dict[str, float]:
    """``drive()`` over every stream at once (or :func:`replay` of its items)."""
    period = 0.002
    lags: list[float] = []
    pauses: list[float] = []
    sources = [(fmt, pieces_of(data)) for fmt, data in streams]
    events = sum(count_events(data) for _, data in streams)
    messages = deltas = 0
    steps: list[list[list[Any]]] = []
    for fmt, pieces in sources:
        adapter = adapter_for(fmt)
        stream_steps = [adapter.feed(p) for p in pieces] + [adapter.close()]
        for items in stream_steps:
            messages += sum(isinstance(i, MessageStart) for i in items)
            deltas += sum(isinstance(i, Delta) for i in items)
        steps.append(stream_steps if predecoded else [])
    finished = failed = 0
    gc_start = 0.0

    def on_gc(phase: str, info: dict[str, int]) -> None:
        nonlocal gc_start
        if phase == "start":
            gc_start = time.perf_counter()
        else:
            pauses.append(time.perf_counter() - gc_start)

    def parser(msg_id: Any) -> StreamingJsonParser:
        return StreamingJsonParser(lenient=True)  # text messages hold prose and fences

    async with open_supervisor(parser) as sup:
        all_done = trio.Event()

        async def consume() -> None:
            nonlocal finished, failed
            async for event in sup.events():
                if is_terminal(event):
                    finished += 1
                    failed += type(event).__name__ != "Completed"
                    if finished == messages:
                        all_done.set()

        async def heartbeat() -> None:
            while True:
                t = trio.current_time()
                await trio.sleep(period)
                lags.append(trio.current_time() - t - period)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(consume)
            nursery.start_soon(heartbeat)
            await trio.sleep(0.05)
            gc.collect()
            gc.freeze()  # the set-up (and the decoded items) out of the collector's way
            await trio.sleep(2 * period)  # (that collection is the set-up's, not measured)
            lags.clear()
            gc.callbacks.append(on_gc)
            start = time.perf_counter()
            async with trio.open_nursery() as streams_nursery:
                for k, ((fmt, pieces), stream_steps) in enumerate(
                    zip(sources, steps, strict=True)
                ):
                    if k and not k % 50:
                        # Streams arrive as connections do (an accept loop passes a
                        # schedule point each time): starting a thousand tasks and their
                        # adapters in one step would hold the loop 15-35 ms by itself.
                        await trio.lowlevel.checkpoint()
                    if predecoded:
                        streams_nursery.start_soon(replay, stream_steps, sup)
                    else:
                        streams_nursery.start_soon(drive, adapter_for(fmt), pieces, sup)
            await all_done.wait()
            elapsed = time.perf_counter() - start
            gc.callbacks.remove(on_gc)
            nursery.cancel_scope.cancel()
    lags.sort()
    return {
        "seconds": elapsed,
        "events": events,
        "deltas": deltas,
        "messages": messages,
        "failed": failed,
        "worst_lag": lags[-1] if lags else 0.0,
        "p99_lag": lags[int(0.99 * (len(lags) - 1))] if lags else 0.0,
        "worst_gc": max(pauses, default=0.0),
        "gc_total": sum(pauses),
        "bytes": sum(len(d) for _, d in streams),
    }


def fan_in_child(n: int, predecoded: bool) -> None:
    """Run the fan-in in this (fresh) process; print its result as JSON."""
    print(json.dumps(trio.run(fan_in, unique_streams(n), predecoded)))


def bench_fan_in(quick: bool) -> None:
    """Each run in a fresh process: what the other sections imported (the SDKs, pydantic)
    and left would make every full garbage collection here longer."""
    n = 200 if quick else 1000
    rows = []
    best_runs = {}
    for predecoded in (False, True):
        runs = []
        for _ in range(1 if quick else 2):
            command = [sys.executable, __file__, "--fan-in-child", str(n)]
            out = subprocess.run(
                command + (["--predecoded"] if predecoded else []),
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            runs.append(json.loads(out.strip().splitlines()[-1]))
        r = best_runs[predecoded] = max(runs, key=lambda x: x["events"] / x["seconds"])
        rows.append(
            [
                "the same deltas, decoded beforehand: the supervisor alone"
                if predecoded
                else "**SSE bytes -> `drive()` -> supervisor**",
                f"{r['events']:,}",
                f"{r['deltas']:,}",
                f"{r['seconds']:.2f}",
                f"**{r['events'] / r['seconds']:,.0f}**",
                str(r["failed"]),
                f"{r['worst_lag'] * 1e3:.0f} ms",
                f"{r['p99_lag'] * 1e3:.0f} ms",
                f"{r['worst_gc'] * 1e3:.0f} ms ({r['gc_total'] * 1e3:.0f} ms in all)",
            ]
        )
    r = best_runs[False]
    table(
        f"Fan-in: {n:,} concurrent recorded provider streams ({r['bytes'] / 1e6:.1f} MB: the 5 "
        f"shipped recordings with unique ids, {r['messages']:,} messages) in {PIECE} B reads "
        f"into one supervisor (lenient parsers), end to end, each run in a fresh process; "
        f"best of {1 if quick else 2}",
        [
            "path",
            "SSE events",
            "deltas",
            "seconds",
            "SSE events/s",
            "failed",
            "worst loop lag",
            "p99 loop lag",
            "worst GC pause",
        ],
        rows,
    )
    rate = r["events"] / r["seconds"]
    target(
        f"fan-in of {n:,} recorded streams through drive() + a supervisor >= 250 000 events/s",
        f"{rate:,.0f}/s",
        rate >= 250_000,
    )
    target(
        "loop lag <= 20 ms during that fan-in",
        f"worst {r['worst_lag'] * 1e3:.0f} ms, p99 {r['p99_lag'] * 1e3:.0f} ms",
        r["worst_lag"] <= 0.020,
    )


SECTIONS = {
    "providers": bench_providers,
    "sdks": bench_sdks,
    "envelopes": bench_envelopes,
    "fanin": bench_fan_in,
}


def header() -> str:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return (
        f"jsonvisor pipeline benchmark, {datetime.date.today().isoformat()}: "
        f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"SSE accelerator {'on' if sse.ACCELERATOR is not None else 'OFF'}, envelopes by "
        f"{BACKEND}, load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} at the start"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller workloads, fewer repeats")
    parser.add_argument("--only", nargs="*", default=[], choices=sorted(SECTIONS))
    parser.add_argument("--markdown", help="also write the tables to this file")
    parser.add_argument(
        "--results",
        help="merge into this results file (default: bench/results.json; --quick: none)",
    )
    parser.add_argument("--fan-in-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--predecoded", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fan_in_child:
        fan_in_child(args.fan_in_child, args.predecoded)
        return
    global RECORD
    RECORD = Recorder(
        "pipeline",
        setup=f"SSE accelerator {'on' if sse.ACCELERATOR is not None else 'OFF'}, envelopes "
        f"by {BACKEND}, trio {trio.__version__}",
        quick=args.quick,
        path=args.results,
    )
    head = header()
    print(head)
    for name, fn in SECTIONS.items():
        if not args.only or name in args.only:
            RECORD.section(name)
            fn(args.quick)
    load = os.getloadavg()
    table(
        f"Targets (load average at the end {load[0]:.2f})",
        ["target", "measured", ""],
        [list(r) for r in RESULTS],
    )
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write(head + "\n\n" + "\n\n".join(TABLES) + "\n")
    RECORD.save()


if __name__ == "__main__":
    main()
