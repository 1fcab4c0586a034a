"""Pick an adapter by name, or guess the format from the first bytes of a stream."""

from __future__ import annotations

import re
from typing import Any

from .anthropic import AnthropicAdapter
from .base import Adapter
from .gemini import GeminiAdapter
from .openai_chat import OpenAIChatAdapter
from .openai_responses import OpenAIResponsesAdapter
from .plain import PlainAdapter

__all__ = ["FORMATS", "adapter_for", "detect_format"]

#: Format name -> adapter class.
FORMATS: dict[str, type[Adapter]] = {
    cls.format: cls
    for cls in (
        OpenAIChatAdapter,
        OpenAIResponsesAdapter,
        AnthropicAdapter,
        GeminiAdapter,
        PlainAdapter,
    )
}

_ALIASES = {
    "openai": "openai-chat",
    "chat": "openai-chat",
    "responses": "openai-responses",
    "claude": "anthropic",
    "google": "gemini",
    "plain": "json",
    "text": "json",
}

# (format, pattern); the earliest match in the text wins.
_SIGNS = [
    ("openai-responses", r'(?m:^event: ?response\.)|"type" ?: ?"response\.'),
    (
        "anthropic",
        r"(?m:^event: ?(?:message_start|content_block_\w+|message_delta|message_stop|ping)\b)"
        r'|"type" ?: ?"(?:message_start|content_block_(?:start|delta|stop)|message_delta)"',
    ),
    ("openai-chat", r'"object" ?: ?"chat\.completion\.chunk"|"choices" ?:'),
    ("gemini", r'"(?:candidates|usageMetadata|promptFeedback|modelVersion)" ?:'),
]
_SIGN_RE = re.compile("|".join(f"(?P<f{i}>{p})" for i, (_, p) in enumerate(_SIGNS)))
_SSE_START = re.compile(r"(?:data|event|id|retry)(?::|\r|\n)|:")


def detect_format(first_bytes: bytes | str) -> str | None:
    """Guess a stream's format from its first bytes (a few hundred are plenty).

    Returns ``"openai-chat"``, ``"openai-responses"``, ``"anthropic"``, ``"gemini"``,
    ``"json"`` (input that starts with ``{`` or ``[``, not server-sent events), or
    ``None`` when the bytes do not tell yet (read more and ask again).
    """
    text = (
        first_bytes
        if isinstance(first_bytes, str)
        else first_bytes.decode("utf-8", errors="replace")
    )
    text = text.lstrip("\ufeff \t\r\n")
    if text[:1] in ("{", "["):
        return "json"
    if not _SSE_START.match(text):
        return None
    m = _SIGN_RE.search(text)
    if m is None:
        return None
    return _SIGNS[int(m.lastgroup[1:])][0] if m.lastgroup else None


def adapter_for(name: str, **kwargs: Any) -> Adapter:
    """A new adapter for the format ``name`` (a :data:`FORMATS` key or an alias such as
    ``"openai"``, ``"claude"``, ``"google"``); ``kwargs`` go to its constructor."""
    key = _ALIASES.get(name.lower(), name.lower())
    try:
        cls = FORMATS[key]
    except KeyError:
        raise ValueError(f"unknown stream format {name!r}; known: {sorted(FORMATS)}") from None
    return cls(**kwargs)
