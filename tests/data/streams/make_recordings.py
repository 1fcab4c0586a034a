"""Write the recorded provider streams (run once; the outputs are committed).

    python tests/data/streams/make_recordings.py

The payloads below are the ground truth: each recording is the provider's documented wire
format around them, cut into token-sized fragments with a seeded generator, so the files
are reproducible.  ``expected.json`` beside this script lists, per recording, every message
the adapters must find: its kind, tool name, full text and end reason.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PACKAGE = HERE.parents[2] / "src" / "jsonvisor" / "llm" / "recordings"

_TOKEN = re.compile(r" ?[^\W\d_]+| ?\d{1,3}|[ \t]*\n[ \t]*| +|[^\w\s]{1,3}|_")


def tokens(text: str) -> list[str]:
    """Cut ``text`` roughly like a BPE tokenizer: words with their leading space, short
    digit runs, punctuation clusters, newlines with indentation."""
    out = _TOKEN.findall(text)
    assert "".join(out) == text, "tokenizer lost characters"
    return out


def group(pieces: list[str], rng: random.Random, low: int, high: int) -> list[str]:
    """Join consecutive pieces ``low``..``high`` at a time (providers batch tokens)."""
    out, i = [], 0
    while i < len(pieces):
        k = rng.randint(low, high)
        out.append("".join(pieces[i : i + k]))
        i += k
    return out


def compact(obj: Any) -> str:
    """OpenAI / Anthropic style JSON: no spaces, raw UTF-8."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def google(obj: Any) -> str:
    """Google style JSON: a space after ':' only, raw UTF-8."""
    return json.dumps(obj, separators=(",", ": "), ensure_ascii=False)


def sse(data: str, event: str | None = None, eol: str = "\n") -> str:
    head = f"event: {event}{eol}" if event else ""
    return f"{head}data: {data}{eol}{eol}"


# -- OpenAI Chat Completions: three parallel tool calls, interleaved ---------------------

CHAT_ID = "chatcmpl-B3kq9ZrD7xWcV1nYf0sJtLmHa2E8p"
CHAT_BASE = {
    "id": CHAT_ID,
    "object": "chat.completion.chunk",
    "created": 1740172800,
    "model": "gpt-4o-2024-08-06",
    "service_tier": "default",
    "system_fingerprint": "fp_f9f4fb6dbf",
}
PARALLEL_CALLS = [
    (
        "call_Qm4bJ8pVx2TfK7nRzW1sHd3L",
        "get_weather",
        {"location": "Zürich, Switzerland", "unit": "celsius", "days": 3},
    ),
    (
        "call_7YcXe0LqNa5GvUo9Bi2MkPrS",
        "get_weather",
        {"location": "São Paulo, Brazil", "unit": "celsius", "days": 3},
    ),
    (
        "call_Hs1WdZ6tRy8JfA3nCe4VgXbO",
        "search_flights",
        {
            "origin": "ZRH",
            "destination": "GRU",
            "departure_date": "2025-03-14",
            "return_date": "2025-03-28",
            "passengers": {"adults": 2, "children": 1},
            "cabin": "economy",
            "max_stops": 1,
            "flexible_dates": True,
            "preferred_airlines": ["LX", "LH", "TP"],
            "notes": 'Window seats if possible; one passenger needs a "vegetarian" meal.',
        },
    ),
]


def chat_chunk(delta: dict[str, Any], finish: str | None = None) -> str:
    choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
    return compact({**CHAT_BASE, "choices": [choice], "usage": None})


def chat_usage(prompt: int, completion: int) -> str:
    usage = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }
    return compact({**CHAT_BASE, "choices": [], "usage": usage})


def openai_chat_parallel_tools(rng: random.Random) -> tuple[str, dict[str, Any]]:
    events = [sse(chat_chunk({"role": "assistant", "content": None, "refusal": None}))]
    frags = [tokens(compact(args)) for _, _, args in PARALLEL_CALLS]
    order: list[int] = []
    left = [len(f) for f in frags]
    while any(left):
        live = [i for i in range(3) if left[i]]
        # mostly round robin, sometimes a call gets two fragments in a row
        for i in live:
            order.append(i)
            left[i] -= 1
            if left[i] and rng.random() < 0.15:
                order.append(i)
                left[i] -= 1
    pos = [0, 0, 0]
    for i, (call_id, name, _) in enumerate(PARALLEL_CALLS):
        first = {
            "index": i,
            "id": call_id,
            "type": "function",
            "function": {"name": name, "arguments": ""},
        }
        events.append(sse(chat_chunk({"tool_calls": [first]})))
    for i in order:
        frag = frags[i][pos[i]]
        pos[i] += 1
        call = {"index": i, "function": {"arguments": frag}}
        events.append(sse(chat_chunk({"tool_calls": [call]})))
    events.append(sse(chat_chunk({}, "tool_calls")))
    events.append(sse(chat_usage(187, sum(map(len, frags)))))
    events.append(sse("[DONE]"))
    expected = {
        f"{CHAT_ID}:choice0:tool{i}": {
            "kind": "tool_call",
            "name": name,
            "text": compact(args),
            "reason": "tool_calls",
        }
        for i, (_, name, args) in enumerate(PARALLEL_CALLS)
    }
    return "".join(events), expected


# -- OpenAI Chat Completions: a fenced JSON block in prose ------------------------------

FENCED_ID = "chatcmpl-B3kzT4nWq8LhYc2VdR6pXa0MfJ1oE"
ITINERARY = {
    "city": "Kyoto",
    "days": 3,
    "currency": "JPY",
    "plan": [
        {
            "day": 1,
            "theme": "Temples of Higashiyama",
            "stops": ["Kiyomizu-dera", "Sannenzaka", "Yasaka Shrine", "Gion"],
            "budget": 6500,
            "notes": "Start before 8:00 to beat the crowds at Kiyomizu-dera.",
        },
        {
            "day": 2,
            "theme": "Arashiyama & bamboo 🎋",
            "stops": ["Tenryū-ji", "Bamboo Grove", "Iwatayama Monkey Park"],
            "budget": 4800,
            "notes": "Take the JR Sagano line from Kyoto Station (about 15 min).",
        },
        {
            "day": 3,
            "theme": "Markets and shrines",
            "stops": ["Fushimi Inari-taisha", "Nishiki Market", "Pontochō"],
            "budget": 7200.5,
            "notes": "The full Inari hike takes 2–3 hours; wear good shoes.",
        },
    ],
    "total_budget": 18500.5,
    "rail_pass_recommended": False,
}
FENCED_TEXT = (
    "Here is a three-day Kyoto itinerary in the JSON format you asked for:\n\n```json\n"
    + json.dumps(ITINERARY, indent=2, ensure_ascii=False)
    + "\n```\n\nLet me know if you would like me to adjust the budget or add more stops!"
)


def openai_chat_fenced_json(rng: random.Random) -> tuple[str, dict[str, Any]]:
    base = {**CHAT_BASE, "id": FENCED_ID, "created": 1740173411}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return compact({**base, "choices": [choice], "usage": None})

    events = [sse(chunk({"role": "assistant", "content": "", "refusal": None}))]
    events += [sse(chunk({"content": t})) for t in tokens(FENCED_TEXT)]
    events.append(sse(chunk({}, "stop")))
    usage = json.loads(chat_usage(64, len(events)))
    events.append(sse(compact({**base, "choices": [], "usage": usage["usage"]})))
    events.append(sse("[DONE]"))
    expected = {
        f"{FENCED_ID}:choice0:content": {
            "kind": "text",
            "name": None,
            "text": FENCED_TEXT,
            "reason": "stop",
            "fenced_json": ITINERARY,
        }
    }
    return "".join(events), expected


# -- OpenAI Responses API: text, then a function call -----------------------------------

RESP_ID = "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b"
MSG_ITEM = "msg_67ccd2bf17f0819081ff3bb2cf6508e60bb6a6b452d3795b"
FC_ITEM = "fc_67ccd3b0d5a48190a8c9f1c5e6b2e34d0bb6a6b452d3795b"
CALL_ID = "call_unLAR8MvFNptuiZK6K6HCy5k"
RESP_TEXT = "I'll check the live departures from Zürich HB and filter them for you."
RESP_ARGS = {
    "station": "Zürich HB",
    "direction": "departures",
    "time_window": {"from": "2025-03-14T17:30:00+01:00", "minutes": 90},
    "filters": {"products": ["IC", "IR", "S"], "destination_contains": ["Bern", "Luzern"]},
    "max_results": 12,
    "include_platforms": True,
    "include_delays": True,
    "language": "en",
}
RESP_TOOLS = [
    {
        "type": "function",
        "description": "Live departures or arrivals for a railway station.",
        "name": "get_departures",
        "parameters": {"type": "object", "properties": {}, "additionalProperties": True},
        "strict": False,
    }
]


def response_obj(status: str, output: list[Any], usage: Any) -> dict[str, Any]:
    return {
        "id": RESP_ID,
        "object": "response",
        "created_at": 1741476542,
        "status": status,
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "max_output_tokens": None,
        "model": "gpt-4.1-2025-04-14",
        "output": output,
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "service_tier": "auto",
        "store": True,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": RESP_TOOLS,
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": usage,
        "user": None,
        "metadata": {},
    }


def openai_responses_function_call(rng: random.Random) -> tuple[str, dict[str, Any]]:
    seq = iter(range(10_000))
    events: list[str] = []

    def emit(kind: str, **fields: Any) -> None:
        events.append(sse(compact({"type": kind, "sequence_number": next(seq), **fields}), kind))

    def obfuscation() -> str:
        alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(2, 14)))

    emit("response.created", response=response_obj("in_progress", [], None))
    emit("response.in_progress", response=response_obj("in_progress", [], None))
    msg = {
        "id": MSG_ITEM,
        "type": "message",
        "status": "in_progress",
        "content": [],
        "role": "assistant",
    }
    emit("response.output_item.added", output_index=0, item=msg)
    part = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
    where = {"item_id": MSG_ITEM, "output_index": 0, "content_index": 0}
    emit("response.content_part.added", **where, part=part)
    for t in tokens(RESP_TEXT):
        emit("response.output_text.delta", **where, delta=t, logprobs=[], obfuscation=obfuscation())
    emit("response.output_text.done", **where, text=RESP_TEXT, logprobs=[])
    done_part = {**part, "text": RESP_TEXT}
    emit("response.content_part.done", **where, part=done_part)
    done_msg = {**msg, "status": "completed", "content": [done_part]}
    emit("response.output_item.done", output_index=0, item=done_msg)
    args = compact(RESP_ARGS)
    fc = {
        "id": FC_ITEM,
        "type": "function_call",
        "status": "in_progress",
        "arguments": "",
        "call_id": CALL_ID,
        "name": "get_departures",
    }
    emit("response.output_item.added", output_index=1, item=fc)
    for t in tokens(args):
        emit(
            "response.function_call_arguments.delta",
            item_id=FC_ITEM,
            output_index=1,
            delta=t,
            obfuscation=obfuscation(),
        )
    emit("response.function_call_arguments.done", item_id=FC_ITEM, output_index=1, arguments=args)
    done_fc = {**fc, "status": "completed", "arguments": args}
    emit("response.output_item.done", output_index=1, item=done_fc)
    usage = {
        "input_tokens": 291,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 118,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 409,
    }
    emit("response.completed", response=response_obj("completed", [done_msg, done_fc], usage))
    expected = {
        f"{RESP_ID}:out0:part0": {
            "kind": "text",
            "name": None,
            "text": RESP_TEXT,
            "reason": "complete",
        },
        f"{RESP_ID}:out1": {
            "kind": "tool_call",
            "name": "get_departures",
            "text": args,
            "reason": "complete",
        },
    }
    return "".join(events), expected


# -- Anthropic Messages: text block, then tool_use via input_json_delta ------------------

MSG_ID = "msg_014p7gG3wDgGV9EUtLvnow3U"
TOOL_USE_ID = "toolu_01T1x1fJ34qAmk2tNTrN7Up6"
CLAUDE_TEXT = (
    "I'll put that on your calendar: a 45-minute design review next Tuesday, with the "
    "three people you mentioned and a video link."
)
CLAUDE_INPUT = {
    "title": "Design review: checkout redesign (v2)",
    "start": "2025-03-18T14:00:00+01:00",
    "duration_minutes": 45,
    "attendees": [
        {"email": "amelie.durand@example.com", "optional": False},
        {"email": "kenji.watanabe@example.com", "optional": False},
        {"email": "lotte.jansen@example.com", "optional": True},
    ],
    "location": {"type": "video", "provider": "meet", "room": None},
    "reminders": [10, 60],
    "description": "Walk through the new checkout flow.\nAgenda:\n1. Cart → payment\n"
    "2. Error states\n3. Open questions",
    "visibility": "default",
}


def anthropic_tool_use(rng: random.Random) -> tuple[str, dict[str, Any]]:
    events: list[str] = []

    def emit(kind: str, **fields: Any) -> None:
        events.append(sse(compact({"type": kind, **fields}), kind))

    message = {
        "id": MSG_ID,
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-20250514",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {
            "input_tokens": 1187,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": 5,
            "service_tier": "standard",
        },
    }
    emit("message_start", message=message)
    emit("content_block_start", index=0, content_block={"type": "text", "text": ""})
    events.append(sse('{"type": "ping"}', "ping"))
    for piece in group(tokens(CLAUDE_TEXT), rng, 1, 3):
        emit("content_block_delta", index=0, delta={"type": "text_delta", "text": piece})
    emit("content_block_stop", index=0)
    block = {"type": "tool_use", "id": TOOL_USE_ID, "name": "create_calendar_event", "input": {}}
    emit("content_block_start", index=1, content_block=block)
    emit("content_block_delta", index=1, delta={"type": "input_json_delta", "partial_json": ""})
    args = compact(CLAUDE_INPUT)
    for piece in group(tokens(args), rng, 1, 5):
        emit(
            "content_block_delta",
            index=1,
            delta={"type": "input_json_delta", "partial_json": piece},
        )
        if rng.random() < 0.03:
            events.append(sse('{"type": "ping"}', "ping"))
    emit("content_block_stop", index=1)
    emit(
        "message_delta",
        delta={"stop_reason": "tool_use", "stop_sequence": None},
        usage={"output_tokens": 214},
    )
    emit("message_stop")
    expected = {
        f"{MSG_ID}:block0": {
            "kind": "text",
            "name": None,
            "text": CLAUDE_TEXT,
            "reason": "complete",
        },
        f"{MSG_ID}:block1": {
            "kind": "tool_call",
            "name": "create_calendar_event",
            "text": args,
            "reason": "complete",
        },
    }
    return "".join(events), expected


# -- Gemini streamGenerateContent?alt=sse: JSON mode ------------------------------------

GEMINI_ID = "yFbTZ8r2Aq-Mz7IPvJvC2QQ"
RECIPE = {
    "recipe_name": "Shakshuka with feta",
    "servings": 4,
    "prep_minutes": 10,
    "cook_minutes": 25,
    "vegetarian": True,
    "ingredients": [
        {"item": "olive oil", "quantity": 2, "unit": "tbsp"},
        {"item": "onion, diced", "quantity": 1, "unit": "piece"},
        {"item": "red bell pepper", "quantity": 1, "unit": "piece"},
        {"item": "garlic cloves", "quantity": 3, "unit": "piece"},
        {"item": "ground cumin", "quantity": 1, "unit": "tsp"},
        {"item": "smoked paprika", "quantity": 1, "unit": "tsp"},
        {"item": "crushed tomatoes", "quantity": 800, "unit": "g"},
        {"item": "eggs", "quantity": 6, "unit": "piece"},
        {"item": "feta, crumbled", "quantity": 100, "unit": "g"},
        {"item": "fresh parsley", "quantity": 0.5, "unit": "cup"},
    ],
    "steps": [
        "Heat the oil in a large skillet over medium heat.",
        "Cook the onion and pepper until soft, about 6 minutes.",
        "Stir in the garlic, cumin and paprika; cook for 1 minute.",
        "Add the tomatoes, season, and simmer for 10 minutes until thick.",
        "Make 6 wells, crack in the eggs, cover and cook 5–8 minutes.",
        "Top with feta and parsley; serve with warm bread.",
    ],
    "tags": ["brunch", "one-pan", "Middle Eastern"],
}


def gemini_stream(rng: random.Random) -> tuple[str, dict[str, Any]]:
    text = json.dumps(RECIPE, indent=2, ensure_ascii=False)
    pieces = tokens(text)
    chunks = [pieces[0], *group(pieces[1:], rng, 6, 14)]
    events: list[str] = []
    prompt = {
        "promptTokenCount": 41,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 41}],
    }
    for n, chunk in enumerate(chunks):
        last = n == len(chunks) - 1
        cand: dict[str, Any] = {"content": {"parts": [{"text": chunk}], "role": "model"}}
        if last:
            cand["finishReason"] = "STOP"
        cand["index"] = 0
        usage: dict[str, Any] = {**prompt, "totalTokenCount": 41}
        if last:
            usage = {
                "promptTokenCount": 41,
                "candidatesTokenCount": len(pieces),
                "totalTokenCount": 41 + len(pieces),
                **prompt,
                "candidatesTokensDetails": [{"modality": "TEXT", "tokenCount": len(pieces)}],
            }
        body = {
            "candidates": [cand],
            "usageMetadata": usage,
            "modelVersion": "gemini-2.0-flash",
            "responseId": GEMINI_ID,
        }
        events.append(sse(google(body), eol="\r\n"))
    expected = {
        f"{GEMINI_ID}:cand0:text": {"kind": "text", "name": None, "text": text, "reason": "STOP"},
    }
    return "".join(events), expected


RECORDINGS = {
    "openai_chat_parallel_tools": openai_chat_parallel_tools,
    "openai_chat_fenced_json": openai_chat_fenced_json,
    "openai_responses_function_call": openai_responses_function_call,
    "anthropic_tool_use": anthropic_tool_use,
    "gemini_stream": gemini_stream,
}


def main() -> None:
    expected: dict[str, Any] = {}
    for name, make in RECORDINGS.items():
        text, expected[name] = make(random.Random(name))
        (PACKAGE / f"{name}.sse").write_bytes(text.encode())
        count = text.count("\n\n") + text.count("\r\n\r\n")
        print(f"{name}.sse: {count} events, {len(text.encode())} bytes")
    (HERE / "expected.json").write_text(
        json.dumps(expected, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )


if __name__ == "__main__":
    main()
