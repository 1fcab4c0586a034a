"""Every kind of malformed input is refused with a clear JsonStreamError at the right place."""

from __future__ import annotations

import pytest

from helpers import split_at
from jsonvisor.parsers import JsonStreamError, StreamingJsonParser

CASES = [
    # text, byte offset of the problem, a word the message must contain
    ("[01]", 2, "leading zero"),
    ("[1.]", 3, "incomplete number"),
    ("[1.e5]", 3, "invalid number"),
    ("[-]", 2, "incomplete number"),
    ("[-a]", 2, "incomplete number"),
    ("[1e+]", 4, "incomplete number"),
    ("[1.5.3]", 4, "invalid number"),
    ("[.5]", 1, "unexpected character"),
    ("[+1]", 1, "unexpected character"),
    ('["a\nb"]', 3, "control character"),
    ('["a\x01"]', 3, "control character"),
    ('["\\x"]', 3, "invalid escape"),
    ('["\\u12G4"]', 6, "invalid \\u escape"),
    ("[1,]", 3, "unexpected character"),
    ('{"a":1,}', 7, "trailing comma"),
    ("[1 2]", 3, "unexpected character"),
    ('{"a" 1}', 5, "unexpected character"),
    ('{"a":1 "b":2}', 7, "unexpected character"),
    ("{'a':1}", 1, "unexpected character"),
    ("{a:1}", 1, "unexpected character"),
    ("[NaN]", 1, "unexpected character"),
    ("[Infinity]", 1, "unexpected character"),
    ("[tru]", 4, "invalid literal"),
    ("[nulL]", 4, "invalid literal"),
    ("[truex]", 5, "unexpected character"),
    ("[1]]", 3, "extra data"),
    ("[1] [2]", 4, "extra data"),
    ("// c\n[1]", 0, "unexpected character"),
    ("[1 /* c */]", 3, "unexpected character"),
    ('{"a":1}}', 7, "extra data"),
    ("[}", 1, "unexpected character"),
    ('{"a"]', 4, "unexpected character"),
    ("\ufeff[1]", 0, "unexpected character"),
    ('["é", 01]', 8, "leading zero"),  # offsets count UTF-8 bytes
]


@pytest.mark.parametrize("text,offset,word", CASES)
@pytest.mark.parametrize("chunking", ["whole", "chars", "bytes", "bulk"])
def test_malformed_input_is_refused_at_its_offset(text, offset, word, chunking):
    if chunking == "bulk":
        p = StreamingJsonParser(bulk_threshold=2)
        chunks: list = [text]
    elif chunking == "whole":
        p = StreamingJsonParser()
        chunks = [text]
    elif chunking == "chars":
        p = StreamingJsonParser()
        chunks = list(text)
    else:
        p = StreamingJsonParser()
        data = text.encode()
        chunks = [data[i : i + 1] for i in range(len(data))]
    with pytest.raises(JsonStreamError) as info:
        for chunk in chunks:
            p.feed(chunk)
        p.finish(allow_partial=False)
    err = info.value
    assert err.offset == offset, str(err)
    assert word in str(err)
    assert err.found  # says what it found
    # The error is sticky.
    with pytest.raises(JsonStreamError) as again:
        p.feed("1")
    assert again.value is err


def test_message_names_expected_found_line_and_column():
    p = StreamingJsonParser()
    with pytest.raises(JsonStreamError) as info:
        p.feed('{\n  "a": 1,\n  "b" 2\n}')
    err = info.value
    assert (err.line, err.column) == (3, 7)
    assert err.expected == "':' after key" and err.found == "'2'"
    assert "line 3, column 7" in str(err) and "byte 18" in str(err)
    assert '"b" 2' in err.excerpt


def test_line_and_column_across_chunks():
    p = StreamingJsonParser()
    p.feed("[1,\n")
    p.feed("  2,\n   ")
    with pytest.raises(JsonStreamError) as info:
        p.feed("x]")
    assert (info.value.line, info.value.column, info.value.offset) == (3, 4, 12)


def test_invalid_utf8_is_refused_with_offset():
    p = StreamingJsonParser()
    p.feed(b'["ab')
    with pytest.raises(JsonStreamError) as info:
        p.feed(b'\xff"]')
    assert info.value.offset == 4 and "UTF-8" in str(info.value)


def test_truncated_input_says_so_when_partial_is_not_allowed():
    p = StreamingJsonParser()
    p.feed('{"a": [1, 2')
    with pytest.raises(JsonStreamError) as info:
        p.finish(allow_partial=False)
    assert info.value.truncated and info.value.found == "end of input"
    assert "',' or ']'" in info.value.expected
    # Not sticky: the repaired value is still available.
    assert p.finish().value == {"a": [1, 2]}


def test_limits_name_themselves():
    with pytest.raises(JsonStreamError) as info:
        StreamingJsonParser(max_depth=3).feed("[[[[1]]]]")
    assert info.value.limit == "max_depth" and info.value.offset == 3
    with pytest.raises(JsonStreamError) as info:
        StreamingJsonParser(max_depth=3, bulk_threshold=2).feed('{"a": [[[1]]], "b": 1}')
    assert info.value.limit == "max_depth"
    with pytest.raises(JsonStreamError) as info:
        p = StreamingJsonParser(max_number_length=5)
        for c in "[1234567]":
            p.feed(c)
    assert info.value.limit == "max_number_length"
    with pytest.raises(JsonStreamError) as info:
        p = StreamingJsonParser(max_bytes=10)
        p.feed('["abcdef')
        p.feed("ghij")
    assert info.value.limit == "max_bytes"
    p = StreamingJsonParser(max_bytes=10, multiple_values=True)
    for _ in range(5):
        p.feed('["abcd"]\n')  # many small documents are fine
    with pytest.raises(JsonStreamError) as info:
        p.feed('["abcdefghijk"]')
    assert info.value.limit == "max_bytes"


def test_limit_defaults():
    p = StreamingJsonParser()
    assert (p.max_bytes, p.max_depth, p.max_number_length) == (5 * 1024 * 1024, 256, 1000)
    deep = "[" * 256 + "]" * 256
    for chunks in ([deep], list(deep)):
        p = StreamingJsonParser()
        for c in chunks:
            p.feed(c)
        assert p.finish().complete
    with pytest.raises(JsonStreamError):
        StreamingJsonParser().feed("[" * 257)


def test_huge_depth_is_cheap_and_clear():
    # 100 000 brackets: refused at the limit, no RecursionError, no memory blow-up.
    with pytest.raises(JsonStreamError) as info:
        StreamingJsonParser().feed("[" * 100_000)
    assert info.value.offset == 256


@pytest.mark.parametrize("cuts", [[], [1], [3, 5], list(range(1, 30))])
def test_absurd_numbers_are_refused_before_int(cuts):
    text = "[" + "9" * 5000 + "]"
    p = StreamingJsonParser()
    with pytest.raises(JsonStreamError) as info:
        for chunk in split_at(text, cuts):
            p.feed(chunk)
    assert info.value.limit == "max_number_length"


def test_feed_rejects_non_text():
    with pytest.raises(TypeError):
        StreamingJsonParser().feed(12)  # type: ignore[arg-type]


def test_feed_after_finish():
    p = StreamingJsonParser()
    p.feed("1")
    p.finish()
    with pytest.raises(JsonStreamError):
        p.feed("2")
    assert p.finish().value == 1
