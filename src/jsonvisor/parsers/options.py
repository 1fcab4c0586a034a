"""Which departures from strict JSON the parser tolerates (LLM mode), and key styles."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Union

__all__ = ["KeyTransform", "Tolerances", "key_transformer"]

KeyTransform = Union[str, Callable[[str], str], None]  # noqa: UP007


@dataclass(frozen=True)
class Tolerances:
    """Each tolerance on its own; ``lenient=True`` turns them all on.

    Attributes:
        extract: skip prose before the first ``{``/``[`` or ```` ```json ```` fence, stop at
            the closing fence, ignore trailing prose after a complete value.
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
    cache: dict[str, str] = {}

    def transform(key: str) -> str:
        try:
            return cache[key]
        except KeyError:
            out = fn(key)
            if not isinstance(out, str):
                raise TypeError(f"key_transform returned {type(out).__name__}, not str") from None
            if len(cache) < 10_000:
                cache[key] = out
            return out

    return transform
