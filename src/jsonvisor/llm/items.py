"""What the adapters emit: small immutable classes, in the style of h11.

A provider stream holds one or more *messages*: the text of a choice or candidate, or the
arguments of one tool call.  Each message has a ``msg_id`` string that is stable for the
whole stream and unique across streams (it starts with the provider's response id), so
the pairs ``(msg_id, text)`` can go straight to a supervisor's ``send``.

Per message the order is always: one :class:`MessageStart`, any number of :class:`Delta`,
then exactly one of :class:`MessageEnd` or :class:`StreamError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Delta", "Item", "MessageEnd", "MessageStart", "StreamError"]


@dataclass(frozen=True, slots=True)
class MessageStart:
    """A message began.

    ``kind`` is ``"text"`` (a choice's or candidate's content) or ``"tool_call"`` (one tool
    call's JSON arguments); ``name`` is the tool's name (``None`` for text or when the
    provider has not said); ``meta`` holds provider ids (``response_id``, ``tool_call_id``,
    ``choice_index``, ...).  Treat ``meta`` as read-only.
    """

    msg_id: str
    kind: str
    name: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Delta:
    """The next piece of a message's text (never empty)."""

    msg_id: str
    text: str


@dataclass(frozen=True, slots=True)
class MessageEnd:
    """The provider said the message is complete.

    ``reason`` is the provider's own word when it gives one per message (OpenAI Chat's
    ``finish_reason``: ``"stop"``, ``"tool_calls"``, ``"length"``, ``"content_filter"``;
    Gemini's ``finishReason``: ``"STOP"``, ``"MAX_TOKENS"``, ...; Responses'
    ``incomplete_details.reason`` for a message still open at ``response.incomplete``),
    ``"complete"`` when the provider closed the message without a reason (Anthropic
    ``content_block_stop``, Responses ``*.done``, a Gemini ``functionCall`` that arrives
    whole), and ``"done"`` when OpenAI's ``[DONE]`` came before any ``finish_reason``.

    Anthropic and the Responses API say why the whole response stopped only after its
    messages ended ``"complete"`` (``"max_tokens"``, ``"max_output_tokens"``...): the
    adapter keeps it in ``adapter.stop_reason``, to read when the stream has ended.
    """

    msg_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class StreamError:
    """An error, for one message (``msg_id``) or for the whole stream (``msg_id=None``).

    ``truncated`` is true when the message (or stream) was cut off before its end events:
    the connection closed early, or a provider error or a malformed event stopped it
    mid-way.  A message that gets a ``StreamError`` gets no ``MessageEnd``.  An event the
    adapter cannot read gives ``StreamError(None, "malformed <format> event N (<type>):
    <where> is <value>, expected <type>")`` after the messages it cut.
    """

    msg_id: str | None
    message: str
    truncated: bool = False


Item = MessageStart | Delta | MessageEnd | StreamError
"""Anything an adapter emits."""
