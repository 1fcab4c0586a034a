"""LLM provider stream adapters: provider streams into ``(msg_id, text)`` pairs.

Every adapter is sans-IO: ``adapter.feed(raw_sse_bytes_or_sdk_chunk) -> list[Item]`` and
``adapter.close() -> list[Item]``, where an item is a :class:`MessageStart`,
:class:`Delta`, :class:`MessageEnd` or :class:`StreamError`.  :func:`drive` pumps a Trio
byte stream (or an SDK's async iterator) through an adapter into a supervisor's
``send``/``end``.
"""

from __future__ import annotations

from .anthropic import AnthropicAdapter
from .base import Adapter, as_dict
from .detect import FORMATS, adapter_for, detect_format
from .gemini import GeminiAdapter
from .items import Delta, Item, MessageEnd, MessageStart, StreamError
from .openai_chat import OpenAIChatAdapter
from .openai_responses import OpenAIResponsesAdapter
from .plain import PlainAdapter
from .pump import Supervisor, aiter_items, drive
from .recordings import load_recording, recording_names
from .sse import PureSSEDecoder, ServerSentEvent, SSEDecodeError, SSEDecoder

__all__ = [
    "FORMATS",
    "Adapter",
    "AnthropicAdapter",
    "Delta",
    "GeminiAdapter",
    "Item",
    "MessageEnd",
    "MessageStart",
    "OpenAIChatAdapter",
    "OpenAIResponsesAdapter",
    "PlainAdapter",
    "PureSSEDecoder",
    "SSEDecodeError",
    "SSEDecoder",
    "ServerSentEvent",
    "StreamError",
    "Supervisor",
    "adapter_for",
    "aiter_items",
    "as_dict",
    "detect_format",
    "drive",
    "load_recording",
    "recording_names",
]
