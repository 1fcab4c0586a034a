"""The incremental server-sent-events decoder, against the WHATWG rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import split_at
from jsonvisor.llm import ServerSentEvent, SSEDecodeError, SSEDecoder, load_recording
from llm_backends import sse_backend  # noqa: F401 -- the fixture pytestmark uses

pytestmark = pytest.mark.usefixtures("sse_backend")

DATA = Path(__file__).parent / "data" / "streams"
MIXED = (DATA / "sse_mixed.sse").read_bytes()
MIXED_EVENTS = [
    ServerSentEvent("héllo\n two spaces keep one", "greeting", "1"),
    ServerSentEvent("no-space", "message", "1", 2500),
    # the block "event: ignored-without-data / id: 2" has no data: not dispatched, but
    # its id is kept for the events after it
    ServerSentEvent("日本語 🎋", "message", "2"),
    ServerSentEvent("", "message", "2"),
    ServerSentEvent("\n", "message", "2"),
    ServerSentEvent("last complete", "message", "2"),  # an id with NUL is ignored
]


def decode(chunks: list[bytes]) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    events = [e for chunk in chunks for e in decoder.feed(chunk)]
    assert decoder.close() == []
    return events


def test_mixed_fixture_whole() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(MIXED) == MIXED_EVENTS
    assert decoder.pending  # "data: never dispatched" has no blank line after it
    assert decoder.retry == 2500  # "retry: 12x" is not all digits: ignored
    assert decoder.last_event_id == "2"
    assert decoder.close() == []


def test_mixed_fixture_split_at_every_byte_position() -> None:
    for i in range(len(MIXED) + 1):
        assert decode([MIXED[:i], MIXED[i:]]) == MIXED_EVENTS, i


def test_mixed_fixture_one_byte_at_a_time() -> None:
    assert decode([MIXED[i : i + 1] for i in range(len(MIXED))]) == MIXED_EVENTS


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, len(MIXED)), max_size=40))
def test_mixed_fixture_random_splits(cuts: list[int]) -> None:
    assert decode(split_at(MIXED, cuts)) == MIXED_EVENTS


@settings(max_examples=25, deadline=None)
@given(
    st.sampled_from(["openai_chat_parallel_tools", "anthropic_tool_use", "gemini_stream"]),
    st.lists(st.integers(0, 10**6), max_size=80),
)
def test_recordings_random_splits(name: str, cuts: list[int]) -> None:
    data = load_recording(name)
    assert decode(split_at(data, [c % (len(data) + 1) for c in cuts])) == decode([data])


def test_whatwg_example_multiline_data() -> None:
    assert decode([b"data: YHOO\ndata: +2\ndata: 10\n\n"]) == [ServerSentEvent("YHOO\n+2\n10")]


def test_whatwg_example_ids() -> None:
    stream = b": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\n"
    stream += b"data:  third event\n\n"
    assert decode([stream]) == [
        ServerSentEvent("first event", id="1"),
        ServerSentEvent("second event", id=""),  # "id" with no value resets it
        ServerSentEvent(" third event", id=""),  # only one leading space is dropped
    ]


def test_whatwg_example_empty_data_and_unterminated_last_event() -> None:
    # "data" alone is a data line with an empty value; the final "data:" has no blank
    # line after it, so per the standard it is discarded at the end of the stream
    assert decode([b"data\n\ndata\ndata\n\ndata:"]) == [
        ServerSentEvent(""),
        ServerSentEvent("\n"),
    ]


def test_whatwg_example_space_after_colon_is_optional() -> None:
    assert decode([b"data:test\n\ndata: test\n\n"]) == [ServerSentEvent("test")] * 2


@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"])
def test_every_line_ending(eol: bytes) -> None:
    lines = [b"event: update", b"data: a", b"data: b", b"id: 7", b"retry: 100", b""]
    stream = eol.join(lines) + eol
    assert decode([stream]) == [ServerSentEvent("a\nb", "update", "7", 100)]
    assert decode([stream[i : i + 1] for i in range(len(stream))]) == decode([stream])


def test_cr_at_end_of_chunk_and_lf_at_start_of_next_is_one_line_end() -> None:
    # were the LF a line of its own, it would dispatch "a" and "b" separately
    assert decode([b"data: a\r", b"\ndata: b\r", b"", b"\n\r\n"]) == [ServerSentEvent("a\nb")]


def test_cr_then_cr_is_a_blank_line() -> None:
    assert decode([b"data: a\r", b"\rdata: b\r\r"]) == [ServerSentEvent("a"), ServerSentEvent("b")]


def test_bom_only_at_start_of_stream() -> None:
    bom = "\ufeff".encode()
    assert decode([bom[:1], bom[1:] + b"data: x\n\n"]) == [ServerSentEvent("x")]
    # a second BOM is not skipped: it makes the field name "\ufeffdata", which is unknown
    assert decode([bom + bom + b"data: x\n\n"]) == []
    assert decode([b"data: " + bom + b"x\n\n"]) == [ServerSentEvent("\ufeffx")]


def test_comments_and_unknown_fields_are_ignored() -> None:
    stream = b":keep-alive\n: another\nfoo: bar\ndata: x\n:in the middle\n\n:\n\n"
    assert decode([stream]) == [ServerSentEvent("x")]


def test_event_with_no_data_is_not_dispatched_and_its_type_is_reset() -> None:
    assert decode([b"event: lonely\n\ndata: x\n\n"]) == [ServerSentEvent("x", "message")]


def test_retry_applies_to_its_block_and_sticks_on_the_decoder() -> None:
    decoder = SSEDecoder()
    events = decoder.feed(b"retry: 3000\ndata: a\n\ndata: b\n\nretry: -1\nretry: 1.5\n\n")
    assert events == [ServerSentEvent("a", retry=3000), ServerSentEvent("b")]
    assert decoder.retry == 3000


def test_field_without_colon_and_value_colons_kept() -> None:
    assert decode([b"event\ndata: a: b :c\n\n"]) == [ServerSentEvent("a: b :c")]


def test_utf8_split_inside_a_character_and_invalid_bytes_replaced() -> None:
    raw = "data: 🎋é\n\n".encode()
    assert decode([raw[:7], raw[7:9], raw[9:]]) == [ServerSentEvent("🎋é")]
    assert decode([b"data: \xff\xfe ok\n\n"]) == [ServerSentEvent("\ufffd\ufffd ok")]


def test_incomplete_utf8_at_close_is_discarded_with_the_event() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: x\n\ndata: \xf0\x9f") == [ServerSentEvent("x")]
    assert decoder.pending
    assert decoder.close() == []
    with pytest.raises(RuntimeError):
        decoder.feed(b"data: y\n\n")


def test_str_input_is_taken_as_decoded_text() -> None:
    decoder = SSEDecoder()
    assert decoder.feed("data: ü\r") == []
    assert decoder.feed("\n\n") == [ServerSentEvent("ü")]


def test_long_line_limit() -> None:
    decoder = SSEDecoder(max_line_length=100)
    decoder.feed(b"data: " + b"x" * 90)
    with pytest.raises(SSEDecodeError):
        decoder.feed(b"x" * 20)
    ok = SSEDecoder(max_line_length=100)
    assert ok.feed(b"data: " + b"x" * 90 + b"\n\n") == [ServerSentEvent("x" * 90)]


def test_many_small_feeds_of_one_long_line_stay_linear() -> None:
    decoder = SSEDecoder()
    payload = b"y" * 200_000
    decoder.feed(b"data: ")
    for i in range(0, len(payload), 7):
        assert decoder.feed(payload[i : i + 7]) == []
    assert decoder.feed(b"\n\n") == [ServerSentEvent("y" * 200_000)]
