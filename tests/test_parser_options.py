"""ParserOptions: a parser's configuration, checked and resolved once, shared."""

from __future__ import annotations

import pickle

import pytest

from jsonvisor.parsers import JsonStreamError, ParserOptions, PurePythonParser, StreamingJsonParser

BACKENDS = [StreamingJsonParser, PurePythonParser]


def test_same_keywords_share_one_options_object() -> None:
    a = StreamingJsonParser(lenient=True, max_depth=10)
    b = PurePythonParser(max_depth=10, lenient=True)
    assert a.options is b.options
    assert a.options is ParserOptions.of(lenient=True, max_depth=10)
    assert a.options is not StreamingJsonParser(lenient=True).options
    assert a.options.tolerances.single_quotes and a.options.max_depth == 10


@pytest.mark.parametrize("cls", BACKENDS)
def test_a_parser_built_from_options_behaves_like_one_built_from_keywords(cls: type) -> None:
    text = "Sure: {name: 'Ada', tags: ['x',], n: 0x1F}"
    opts = ParserOptions.of(lenient=True, key_transform="camel")
    assert cls(options=opts).feed(text) == cls(lenient=True, key_transform="camel").feed(text)
    p = cls(options=ParserOptions.of(max_depth=2))
    with pytest.raises(JsonStreamError) as info:
        p.feed("[[[1]]]")
    assert info.value.limit == "max_depth"


def test_options_are_immutable_and_checked() -> None:
    opts = ParserOptions.of()
    with pytest.raises(AttributeError):
        opts.max_depth = 3  # type: ignore[misc]
    for bad in ({"max_depth": 0}, {"max_bytes": 1.5}, {"max_key_length": True}):
        with pytest.raises(ValueError, match="must be a positive int"):
            ParserOptions.of(**bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown_keys"):
        ParserOptions.of(unknown_keys="lose")
    with pytest.raises(TypeError, match="unexpected keyword argument 'tabs'"):
        ParserOptions.of(lenient=True, tabs=True)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="ParserOptions"):
        StreamingJsonParser(options={"lenient": True})  # type: ignore[arg-type]


def test_a_parser_with_shared_options_still_pickles() -> None:
    p = StreamingJsonParser(lenient=True)
    p.feed('{"a": [1, ')
    q = pickle.loads(pickle.dumps(p))
    q.feed("2]}")
    assert q.finish().value == {"a": [1, 2]}


def test_parsers_of_one_schema_share_their_options() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    a = StreamingJsonParser(schema=schema, coerce=True)
    b = PurePythonParser(schema=schema, coerce=True)
    assert a.options is b.options and a.options.schema is b.options.schema
    assert StreamingJsonParser(schema=schema).options is not a.options
    a.feed('{"a": "4')
    b.feed('{"a": "42"}')
    assert b.finish().value == {"a": 42}
    a.feed('2"}')
    assert a.finish().value == {"a": 42}


@pytest.mark.parametrize("cls", BACKENDS)
def test_a_limit_of_the_wrong_type_is_refused_even_after_an_equal_int(cls: type) -> None:
    cls(max_depth=5, max_bytes=1)  # resolves and remembers the int keywords
    for bad in ({"max_depth": 5.0, "max_bytes": 1}, {"max_depth": 5, "max_bytes": True}):
        with pytest.raises(ValueError, match="must be a positive int"):
            cls(**bad)


@pytest.mark.parametrize("cls", BACKENDS)
@pytest.mark.parametrize(
    "keywords",
    [{}, {"lenient": True}, {"multiple_values": True}, {"key_transform": "camel"}],
)
def test_parsers_built_from_one_prototype_share_no_state(cls: type, keywords: dict) -> None:
    """New parsers start as copies of one unfed parser per options: nothing mutable may
    be shared between them (stack, open string, documents, spine, extraction)."""
    a, b = cls(**keywords), cls(**keywords)
    text = 'Here: {"userName": "a' if keywords.get("lenient") else '{"userName": "a'
    a.feed(text)
    assert b.snapshot() is None
    assert a._stack is not b._stack and a._pieces is not b._pieces and a._done is not b._done
    assert a._spine is not b._spine
    if keywords.get("lenient"):
        assert a._x is not b._x
    a.feed('b"}\n' if keywords.get("multiple_values") else 'b"}')
    b.feed('{"userName": "z"}')
    key = "userName"
    assert b.finish().value == {key: "z"}
    if keywords.get("multiple_values"):
        assert a.get() == {key: "ab"}
    else:
        assert a.finish().value == {key: "ab"}


def test_parsers_of_one_schema_track_their_fields_apart() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    for cls in BACKENDS:
        a, b = cls(schema=schema), cls(schema=schema)
        a.feed('{"a": 1}')
        assert a.field_states()["$.a"] == "complete"
        assert b.field_states()["$.a"] == "pending"
        assert a._tracker is not b._tracker


def test_options_pickle_as_their_keywords() -> None:
    opts = ParserOptions.of(lenient=True, comments=False, max_depth=9, key_transform="snake")
    again = pickle.loads(pickle.dumps(opts))  # resolved again from its keywords
    assert again == opts and again.tolerances == opts.tolerances and not again.tolerances.comments
    assert pickle.loads(pickle.dumps(again)) is again  # (the same keywords: the cached one)
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    with_schema = ParserOptions.of(schema=schema, coerce=True)
    StreamingJsonParser(options=with_schema).feed('{"a": "1"}')  # fills the schema's memo
    again = pickle.loads(pickle.dumps(with_schema))
    assert again == with_schema and again.tolerances == with_schema.tolerances


def test_one_cache_serves_the_parser_and_options_of() -> None:
    # ParserOptions.of() and the parser's keywords resolve through one cache (one
    # resolution per combination), keyed by the parser's whole signature.
    import inspect

    from jsonvisor.parsers.options import BY_KEYWORDS, DEFAULTS, KEYWORDS

    params = inspect.signature(StreamingJsonParser).parameters
    assert KEYWORDS == tuple(n for n in params if n != "options")
    assert DEFAULTS == tuple(params[n].default for n in KEYWORDS)
    opts = ParserOptions.of(max_depth=77, comments=True)
    assert StreamingJsonParser(comments=True, max_depth=77).options is opts
    assert sum(o is opts for o in BY_KEYWORDS.values()) == 1
    # A dict schema (unhashable) is keyed by its compiled form: still shared.
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    assert ParserOptions.of(schema=schema) is StreamingJsonParser(schema=schema).options
