"""Recorded provider streams shipped with the package, for demos and offline tests.

Hand-written following each provider's documented wire format, with token-sized fragments:

- ``openai_chat_parallel_tools.sse``: Chat Completions, three parallel tool calls whose
  argument fragments interleave (indices 0, 1, 2, 2, 0, 0, 1, ...).
- ``openai_chat_fenced_json.sse``: Chat Completions, a text answer holding a ```` ```json ````
  fenced block between two sentences.
- ``openai_responses_function_call.sse``: Responses API, a short text, then a function call.
- ``anthropic_tool_use.sse``: Messages API, a text block, then a ``tool_use`` block streamed
  as ``input_json_delta``, with ``ping`` events.
- ``gemini_stream.sse``: Gemini ``alt=sse`` (CRLF line ends), a JSON-mode answer streamed
  as text parts.

``tests/data/streams/make_recordings.py`` in the source tree regenerates them.
"""

from __future__ import annotations

from importlib import resources

__all__ = ["load_recording", "recording_names"]


def recording_names() -> list[str]:
    """The names of the shipped recordings (``*.sse`` file names), sorted."""
    root = resources.files(__name__)
    return sorted(p.name for p in root.iterdir() if p.name.endswith(".sse"))


def load_recording(name: str) -> bytes:
    """The raw bytes of a shipped recording; ``name`` may omit the ``.sse`` suffix."""
    if not name.endswith(".sse"):
        name += ".sse"
    if "/" in name or "\\" in name or name not in recording_names():
        raise FileNotFoundError(f"no recording {name!r}; known: {recording_names()}")
    return resources.files(__name__).joinpath(name).read_bytes()
