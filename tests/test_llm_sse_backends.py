"""The C SSE decoder against the pure-Python reference: the same events, cut anywhere.

Every recording and stream fixture is cut at every byte (every two-piece split) and fed one
byte at a time; generated streams cover every line ending, BOMs, comments, fields without
colon, ``id`` with NUL, ``retry`` values, invalid UTF-8 and ``str`` input.  After each feed
the two decoders must agree on the events and on ``pending``, ``last_event_id`` and
``retry``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import split_at
from jsonvisor.llm import load_recording, recording_names, sse
from jsonvisor.llm.sse import PureSSEDecoder, ServerSentEvent, SSEDecodeError, SSEDecoder
from llm_backends import sse_backend  # noqa: F401 -- a fixture

C = sse.ACCELERATOR
needs_c = pytest.mark.skipif(C is None, reason="the C accelerator is not built")
STREAMS = Path(__file__).parent / "data" / "streams"
INPUTS = {n.removesuffix(".sse"): load_recording(n) for n in recording_names()} | {
    p.stem: p.read_bytes() for p in sorted(STREAMS.glob("*.sse"))
}


def state(decoder: Any) -> tuple[Any, ...]:
    return (decoder.pending, decoder.last_event_id, decoder.retry)


def both(chunks: list[bytes]) -> list[ServerSentEvent]:
    """Feed both decoders the same chunks, checking they agree after every one."""
    ref, fast = PureSSEDecoder(), C.Decoder()
    events: list[ServerSentEvent] = []
    for chunk in chunks:
        want = ref.feed(chunk)
        assert fast.feed(chunk) == want, chunk
        assert state(fast) == state(ref), chunk
        events += want
    assert fast.close() == ref.close() == []
    assert state(fast) == state(ref)
    return events


def boundaries(data: bytes) -> list[int]:
    """Offsets just after each event's blank line (where a decoder holds no state but
    ``last_event_id`` and ``retry``), with 0 and the end."""
    ends = {0, len(data)}
    for sep in (b"\n\n", b"\r\n\r\n", b"\r\r"):
        start = 0
        while (i := data.find(sep, start)) >= 0:
            ends.add(i + len(sep))
            start = i + 1
    clean = []
    for e in sorted(ends):  # not between the CR and LF of a CRLF
        if 0 < e < len(data) and data[e - 1 : e] == b"\r" and data[e : e + 1] == b"\n":
            continue
        clean.append(e)
    return clean


@needs_c
@pytest.mark.parametrize("name", sorted(INPUTS))
def test_every_two_piece_split_gives_the_reference_events(name: str) -> None:
    """Every cut, fed as ``data[a:i] + data[i:b]`` where a, b are the event boundaries
    around i (the decoder's state there is the same as after the events before a)."""
    data = INPUTS[name]
    whole = PureSSEDecoder().feed(data)
    assert C.Decoder().feed(data) == whole
    marks = boundaries(data)
    for a, b in zip(marks, marks[2:] + [len(data)] * 2, strict=False):
        piece = data[a:b]
        ref = PureSSEDecoder()
        want = ref.feed(piece)
        if a == 0:
            assert want == whole[: len(want)]
        for i in range(len(piece) + 1):
            fast = C.Decoder()
            got = fast.feed(piece[:i])
            got += fast.feed(piece[i:])
            assert got == want, (name, a + i)
            assert fast.pending == ref.pending


@needs_c
@pytest.mark.parametrize("name", sorted(INPUTS))
def test_whole_streams_split_anywhere_and_byte_by_byte(name: str) -> None:
    data = INPUTS[name]
    whole = both([data])
    assert both([data[i : i + 1] for i in range(len(data))]) == whole
    step = max(1, len(data) // 97)
    for i in range(0, len(data) + 1, step):
        assert both([data[:i], data[i:]]) == whole


# -- generated streams ----------------------------------------------------------------------

FIELDS = [b"data", b"event", b"id", b"retry", b"", b"dat", b"Data", b"\xef\xbb\xbfdata", b"foo"]
VALUES = [
    b"",
    b" ",
    b"  two",
    b"x",
    b'{"a": 1}',
    b"123",
    b"12x",
    b"-1",
    b"99999999999999999999999",
    b"a\x00b",
    b"caf\xc3\xa9",
    b"\xf0\x9f\x8e\x8b",
    b"\xff\xfe",
    b"\xe2\x82",
    b"\xed\xa0\x80",
    b"a:b:c",
    b"\xef\xbb\xbf",
]
EOLS = [b"\n", b"\r\n", b"\r"]


@st.composite
def sse_texts(draw: st.DrawFn) -> bytes:
    out = [b"\xef\xbb\xbf"] if draw(st.booleans()) else []
    for _ in range(draw(st.integers(0, 14))):
        kind = draw(st.integers(0, 5))
        if kind == 0:
            line = b""  # dispatch
        elif kind == 1:
            line = b":" + draw(st.sampled_from(VALUES))  # comment
        elif kind == 2:
            line = draw(st.sampled_from(FIELDS))  # field without colon
        else:
            colon = draw(st.sampled_from([b":", b": ", b":  "]))
            line = draw(st.sampled_from(FIELDS)) + colon + draw(st.sampled_from(VALUES))
        out.append(line + draw(st.sampled_from(EOLS)))
    if draw(st.booleans()):
        out.append(draw(st.sampled_from(VALUES)))  # an unterminated tail
    return b"".join(out)


@needs_c
@settings(max_examples=300, deadline=None)
@given(sse_texts(), st.lists(st.integers(0, 400), max_size=8))
def test_generated_streams_agree_cut_anywhere(data: bytes, cuts: list[int]) -> None:
    whole = both([data])
    assert both(split_at(data, cuts)) == whole
    assert both([data[i : i + 1] for i in range(len(data))]) == whole


@needs_c
@settings(max_examples=60, deadline=None)
@given(sse_texts())
def test_generated_streams_every_two_piece_split(data: bytes) -> None:
    whole = both([data])
    for i in range(len(data) + 1):
        assert both([data[:i], data[i:]]) == whole


@needs_c
@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.sampled_from("da:t \r\n\ufeff\ud800é🎋x")), st.integers(0, 50))
def test_str_input_is_its_utf8_on_both(text: str, cut: int) -> None:
    ref, fast = SSEDecoder(), SSEDecoder()
    ref._core = PureSSEDecoder()
    for part in (text[:cut], text[cut:]):
        assert fast.feed(part) == ref.feed(part)
        assert state(fast) == state(ref)


def test_the_backend_fixture_picks_the_implementation(sse_backend: str) -> None:  # noqa: F811
    decoder = SSEDecoder()
    assert decoder.accelerated == (sse_backend == "c")
    assert decoder.feed(b"data: x\n\n") == [ServerSentEvent("x")]


@pytest.mark.parametrize("make", [PureSSEDecoder, SSEDecoder])
def test_limit_counts_bytes_of_the_unterminated_line(make: Any) -> None:
    decoder = make(max_line_length=10)
    decoder.feed("data: é".encode())  # 8 bytes, 7 characters
    with pytest.raises(SSEDecodeError):
        decoder.feed("éé".encode())  # 12 bytes
    ok = make(max_line_length=10)
    assert ok.feed(b"data: 0123456789abcdef\n\n") == [ServerSentEvent("0123456789abcdef")]


@pytest.mark.parametrize("make", [PureSSEDecoder, SSEDecoder])
def test_close_forgets_everything_and_later_feeds_fail(make: Any) -> None:
    decoder = make()
    assert decoder.feed(b"\xef\xbb") == []
    assert decoder.pending  # two bytes that may start a BOM
    decoder = make()
    decoder.feed(b"event: x\nretry: 5\ndata: y")
    assert decoder.pending and decoder.retry == 5
    assert decoder.close() == []
    assert not decoder.pending
    assert decoder.close() == []
    with pytest.raises(RuntimeError):
        decoder.feed(b"data: z\n\n")


@pytest.mark.parametrize("make", [PureSSEDecoder, SSEDecoder])
def test_a_retry_too_long_for_an_int_is_ignored(make: Any) -> None:
    decoder = make()
    stream = b"retry: 7\n\nretry: " + b"9" * 5000 + b"\ndata: x\n\n"
    assert decoder.feed(stream) == [ServerSentEvent("x")]
    assert decoder.retry == 7


@needs_c
def test_c_decoder_rejects_what_is_not_bytes() -> None:
    with pytest.raises(TypeError):
        C.Decoder().feed(12)
    with pytest.raises(TypeError):
        C.Decoder().feed_pairs(b"", {"not": "compiled"})
    assert C.Decoder().feed(memoryview(b"data: a\n\n")) == [ServerSentEvent("a")]
    assert C.Decoder().feed(bytearray(b"data: a\n\n")) == [ServerSentEvent("a")]


@needs_c
def test_feed_pairs_gives_type_and_data_and_keeps_ids() -> None:
    decoder = SSEDecoder()
    pairs = decoder.feed_pairs(b"id: 7\nevent: ping\ndata: [1]\n\ndata: {}\n\n", None)
    assert pairs == [("ping", "[1]"), ("message", "{}")]
    assert decoder.last_event_id == "7"
    assert PureSSEDecoder().feed_pairs(b"event: a\ndata: 1\n\n") == [("a", "1")]
