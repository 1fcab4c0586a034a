"""A parser's configuration: which departures from strict JSON it tolerates (LLM mode), key
styles, limits, and :class:`ParserOptions`, all of it checked and resolved once."""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any, Union

__all__ = ["KeyTransform", "ParserOptions", "Tolerances", "key_transformer"]

KeyTransform = Union[str, Callable[[str], str], None]  # noqa: UP007


@dataclass(frozen=True)
class Tolerances:
    """Each tolerance on its own; ``lenient=True`` turns them all on.

    Attributes:
        extract: skip prose before the first ``{``/``[`` or JSON fence (three backticks,
            ``json``), stop at the closing fence, ignore trailing prose after a complete value.
        comments: ``//`` and ``/* */`` comments wherever whitespace may stand.
        trailing_commas: ``[1, 2,]`` and ``{"a": 1,}``.
        single_quotes: ``'strings'`` and ``'keys'`` (with ``\\'`` escapes).
        unquoted_keys: ``{key: 1}`` (identifier-like keys).
        nan_infinity: ``NaN``, ``Infinity``, ``-Infinity``.
        python_literals: ``True``, ``False``, ``None``.
        hex_numbers: ``0x1F``, ``-0x10``.
        control_characters: raw control characters (a literal newline or tab, U+0000 to
            U+001F) inside strings, kept as they are.
        unknown_escapes: a backslash before a character that has no escape of its own
            stands for that character (``\\``` -> ````` ``, ``\\'`` -> ``'``), as in JSON5.
    """

    extract: bool = False
    comments: bool = False
    trailing_commas: bool = False
    single_quotes: bool = False
    unquoted_keys: bool = False
    nan_infinity: bool = False
    python_literals: bool = False
    hex_numbers: bool = False
    control_characters: bool = False
    unknown_escapes: bool = False

    @classmethod
    def resolve(cls, lenient: bool, **overrides: bool | None) -> Tolerances:
        """All tolerances set to ``lenient``, except those given explicitly (not None)."""
        names = {f.name for f in fields(cls)}
        unknown = set(overrides) - names
        if unknown:
            raise TypeError(f"unknown tolerance(s): {', '.join(sorted(unknown))}")
        return cls(
            **{n: (lenient if overrides.get(n) is None else bool(overrides[n])) for n in names}
        )

    @property
    def any(self) -> bool:
        """True when at least one tolerance is on."""
        return any(getattr(self, f.name) for f in fields(self))


_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_SEPARATORS = re.compile(r"[-_\s]+")


def _snake(key: str) -> str:
    parts = [p for p in _SEPARATORS.split(_CAMEL_BOUNDARY.sub("_", key)) if p]
    return "_".join(p.lower() for p in parts) if parts else key


def _camel(key: str) -> str:
    parts = [p for p in _SEPARATORS.split(_CAMEL_BOUNDARY.sub("_", key)) if p]
    if not parts:
        return key
    return parts[0].lower() + "".join(p[:1].upper() + p[1:].lower() for p in parts[1:])


def key_transformer(style: KeyTransform) -> Callable[[str], str] | None:
    """``"camel"`` (``user_name`` -> ``userName``), ``"snake"`` (``userName`` ->
    ``user_name``), a callable, or None; results are cached per key."""
    if style is None:
        return None
    if style == "camel":
        fn: Callable[[str], str] = _camel
    elif style == "snake":
        fn = _snake
    elif callable(style):
        fn = style
    else:
        raise ValueError(f"key_transform must be 'camel', 'snake' or a callable, not {style!r}")
    return _KeyTransformer(style, fn)


class _KeyTransformer:
    """A key transform with a bounded per-key cache; pickles as its style (process
    offload pickles parsers)."""

    __slots__ = ("_cache", "_fn", "_style")

    def __init__(self, style: KeyTransform, fn: Callable[[str], str]) -> None:
        self._style = style
        self._fn = fn
        self._cache: dict[str, str] = {}

    def __call__(self, key: str) -> str:
        try:
            return self._cache[key]
        except KeyError:
            out = self._fn(key)
            if not isinstance(out, str):
                raise TypeError(f"key_transform returned {type(out).__name__}, not str") from None
            if len(self._cache) < 10_000:
                self._cache[key] = out
            return out

    def __reduce__(self) -> tuple[Any, ...]:
        return (key_transformer, (self._style,))


_STRICT_LITERALS: dict[str, tuple[tuple[str, Any], ...]] = {
    "t": (("true", True),),
    "f": (("false", False),),
    "n": (("null", None),),
}


@dataclass(frozen=True)
class ParserOptions:
    """Everything that configures a parser, checked and resolved once.

    Build one with :meth:`of` (the keywords of :class:`StreamingJsonParser`) and share it:
    ``StreamingJsonParser(options=opts)``.  Parsers built with the same keywords share one
    cached instance, so a parser costs its mutable state only.  ``settings`` holds the
    parser attributes the options determine (resolved tolerances, literal tables, the key
    transform, the compiled schema...).
    """

    multiple_values: bool = False
    partial_strings: bool = True
    hold_numbers: bool = True
    max_bytes: int = 5 * 1024 * 1024
    max_depth: int = 256
    max_number_length: int = 1000
    max_key_length: int = 1000
    bulk_threshold: int = 256
    lenient: bool = False
    tolerances: Tolerances = Tolerances()
    key_transform: KeyTransform = None
    schema: Any = None  # a CompiledSchema, or None
    coerce: bool = False
    unknown_keys: str = "keep"
    validate: bool = False
    settings: tuple[tuple[str, Any], ...] = field(default=(), repr=False, compare=False)
    # A parser class -> a parser of it built with these options and never fed; new parsers
    # start as copies of it (see StreamingJsonParser.__init__).
    _prototypes: dict[type, Any] = field(default_factory=dict, repr=False, compare=False)

    def __reduce__(self) -> tuple[Any, tuple[dict[str, Any]]]:
        """Pickled as its keywords (resolved again on loading, and shared from the cache
        like any other): its settings and prototypes hold what does not pickle."""
        keywords = {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name not in ("tolerances", "settings", "_prototypes")
        }
        keywords.update((f.name, getattr(self.tolerances, f.name)) for f in fields(Tolerances))
        return _of_keywords, (keywords,)

    @classmethod
    def of(cls, **keywords: Any) -> ParserOptions:
        """The options of a parser's keywords (those of
        :class:`~jsonvisor.parsers.StreamingJsonParser`), checked and resolved once and
        shared: raises ValueError or TypeError for a bad value or an unknown keyword."""
        unknown = keywords.keys() - _INDEX.keys()
        if unknown:
            raise TypeError(f"unexpected keyword argument {sorted(unknown)[0]!r}")
        values = list(DEFAULTS)
        for name, value in keywords.items():
            values[_INDEX[name]] = value
        return options_for((*values, *[values[i].__class__ for i in _LIMITS]))


# One cache of resolved options, keyed by a parser's keywords: ParserOptions.of() and the
# parser's own constructor (which builds the key inline) both go through options_for().

#: The parser's keywords, in the order of its signature (``options=`` aside).
KEYWORDS: tuple[str, ...] = (
    "multiple_values", "partial_strings", "hold_numbers", "max_bytes", "max_depth",
    "max_number_length", "max_key_length", "bulk_threshold", "lenient", "extract", "comments",
    "trailing_commas", "single_quotes", "unquoted_keys", "nan_infinity", "python_literals",
    "hex_numbers", "control_characters", "unknown_escapes", "key_transform", "schema",
    "coerce", "unknown_keys", "validate",
)  # fmt: skip
#: Their defaults (a tolerance left as None follows ``lenient``).
DEFAULTS: tuple[Any, ...] = (
    False, True, True, 5 * 1024 * 1024, 256, 1000, 1000, 256, False,
    None, None, None, None, None, None, None, None, None, None,
    None, None, False, "keep", False,
)  # fmt: skip
_INDEX = {name: i for i, name in enumerate(KEYWORDS)}
_TOLERANCES = KEYWORDS[_INDEX["extract"] : _INDEX["unknown_escapes"] + 1]
_SCHEMA = _INDEX["schema"]
# The limits, whose types are part of a key: an equal 5.0 or True must not find the 5 or 1
# resolved before (and accepted), which it would in a plain tuple key.
_LIMITS = tuple(_INDEX[n] for n in KEYWORDS if n.startswith(("max_", "bulk_")))

#: Resolved options without a schema, by key (with a schema: on the compiled schema).
BY_KEYWORDS: dict[tuple[Any, ...], ParserOptions] = {}
_MAX_CACHED = 256


def options_for(key: tuple[Any, ...]) -> ParserOptions:
    """The options of a key: the parser's keyword values in :data:`KEYWORDS` order, then
    the types of the limits.  Resolved once per key; with a schema, remembered on the
    compiled schema (a module-level entry would keep a model class alive), so parsers of
    one schema cost what plain ones do.  A dict schema is keyed by its compiled form; any
    other unhashable value is resolved each time."""
    schema = key[_SCHEMA]
    if schema is None:
        memo = BY_KEYWORDS
    else:
        compiled = _compiled(schema)
        memo = compiled._by_keywords
        if compiled is not schema:  # (resolved with the compiled schema)
            try:
                hit = memo.get(key)
            except TypeError:  # (a dict schema: keyed by its compiled form instead)
                hit = None
            if hit is None:
                hit = options_for((*key[:_SCHEMA], compiled, *key[_SCHEMA + 1 :]))
                if len(memo) < _MAX_CACHED:
                    try:
                        memo[key] = hit
                    except TypeError:
                        pass
            return hit
    try:
        hit = memo.get(key)
    except TypeError:  # an unhashable value
        return _resolve(key)
    if hit is None:
        hit = _resolve(key)
        if len(memo) < _MAX_CACHED:
            memo[key] = hit
    return hit


_CompiledSchema: Any = None


def _compiled(schema: Any) -> Any:
    """The compiled form of a schema (the schema module loads on first use)."""
    global _CompiledSchema
    if schema.__class__ is _CompiledSchema:
        return schema
    compiled = schema.__dict__.get("__jsonvisor_schema__") if isinstance(schema, type) else None
    if compiled is None or compiled.source is not schema:
        from .schema import CompiledSchema

        _CompiledSchema = CompiledSchema
        compiled = CompiledSchema.compile(schema)
    return compiled


def _of_keywords(keywords: dict[str, Any]) -> ParserOptions:
    return ParserOptions.of(**keywords)


def _resolve(key: tuple[Any, ...]) -> ParserOptions:
    (
        multiple_values, partial_strings, hold_numbers, max_bytes, max_depth,
        max_number_length, max_key_length, bulk_threshold, lenient, *tolerance_values,
        key_transform, schema, coerce, unknown_keys, validate,
    ) = key[: len(KEYWORDS)]  # fmt: skip
    tolerance_items = [
        (name, v) for name, v in zip(_TOLERANCES, tolerance_values, strict=True) if v is not None
    ]
    for name, v in (
        ("max_bytes", max_bytes),
        ("max_depth", max_depth),
        ("max_number_length", max_number_length),
        ("max_key_length", max_key_length),
    ):
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ValueError(f"{name} must be a positive int, not {v!r}")
    if unknown_keys not in ("keep", "drop"):
        raise ValueError(f"unknown_keys must be 'keep' or 'drop', not {unknown_keys!r}")
    tol = Tolerances.resolve(bool(lenient), **dict(tolerance_items))
    kt = key_transformer(key_transform)
    compiled = None
    if schema is not None:
        from .schema import CompiledSchema

        compiled = CompiledSchema.compile(schema)
    literals = dict(_STRICT_LITERALS)
    if tol.nan_infinity:
        literals["N"] = (("NaN", math.nan),)
        literals["I"] = (("Infinity", math.inf),)
    if tol.python_literals:
        literals["T"] = (("True", True),)
        literals["F"] = (("False", False),)
        literals["N"] = (*literals.get("N", ()), ("None", None))
    # (numbers clamped to what the C half stores; no input can reach sys.maxsize anyway)
    settings = (
        ("multiple_values", bool(multiple_values)),
        ("partial_strings", partial_strings),
        ("hold_numbers", hold_numbers),
        ("max_bytes", min(max_bytes, sys.maxsize)),
        ("max_depth", min(max_depth, sys.maxsize)),
        ("max_number_length", min(max_number_length, sys.maxsize)),
        ("max_key_length", max_key_length),
        ("bulk_threshold", min(max(int(bulk_threshold), 2), sys.maxsize)),
        ("lenient", lenient),
        ("tolerances", tol),
        ("_kt", kt),
        # (the key transform's memo, which the C half reads before calling it; only
        # without a schema, whose checks of each key go through Python)
        ("_kt_cache", kt._cache if kt is not None and compiled is None else None),
        ("_literals", literals),
        # every literal a cut token may complete to (finish(), hold_numbers=False)
        (
            "_literal_words",
            (
                *(pair for cands in literals.values() for pair in cands),
                *((("-Infinity", -math.inf),) if tol.nan_infinity else ()),
            ),
        ),
        ("_schema", compiled),
        # (the tables the C half reads instead of calling the schema, when no key
        # transform is in the way: see CompiledSchema._remember)
        ("_quick", compiled._quick if compiled is not None and kt is None else None),
        ("_plain_keys", kt is None and compiled is None),
        ("_lax", tol.any),
        ("_comments", tol.comments),
        ("_single_quotes", tol.single_quotes),
        ("_unquoted_keys", tol.unquoted_keys),
        ("_trailing_commas", tol.trailing_commas),
        ("_nan_infinity", tol.nan_infinity),
        ("_python_literals", tol.python_literals),
        ("_hex_numbers", tol.hex_numbers),
        ("_control_characters", tol.control_characters),
        ("_unknown_escapes", tol.unknown_escapes),
        ("_extract", tol.extract),
        # snapshot() may show the open string directly (no candidate held back)
        ("_show_strings", bool(partial_strings and not tol.extract)),
        ("_partial_strings", bool(partial_strings)),
        ("_hold_numbers", bool(hold_numbers)),
    )
    return ParserOptions(
        bool(multiple_values), partial_strings, hold_numbers, max_bytes, max_depth,
        max_number_length, max_key_length, bulk_threshold, lenient, tol, key_transform,
        compiled, coerce, unknown_keys, validate, settings,
    )  # fmt: skip
