"""The JSONPath subset that people write, for watching parts of a streamed document.

``$`` is the document, ``.key`` or ``["any key"]`` / ``['any key']`` an object member,
``[3]`` an array item, and the wildcards ``[*]`` and ``.*`` any item or member:
``$.summary``, ``$.items[*]``, ``$.steps[*].title``.  A leading ``$`` may be left out
(``items[*]``).  This is the form the parser's repairs print (see
:func:`~jsonvisor.parsers.format_path`), with wildcards added; there is no recursive
descent (``..``), no slices and no filters.

A *pattern* is the parsed form, a tuple of keys (``str``), indices (``int``) and
:data:`WILD`; a *path* (the parser's) is a tuple of keys and indices.

>>> parse_path("$.steps[*].title")
('steps', *, 'title')
>>> format_pattern(("steps", WILD, "title"))
'$.steps[*].title'
>>> list(expand({"steps": [{"title": "a"}, {"title": "b"}]}, ("steps", WILD, "title")))
[(('steps', 0, 'title'), 'a'), (('steps', 1, 'title'), 'b')]
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any, Final

__all__ = ["WILD", "Pattern", "expand", "format_pattern", "may_lead_to", "parse_path"]


class _Wild:
    """Matches any key or index (``[*]`` or ``.*``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "*"

    def __reduce__(self) -> str:
        return "WILD"


#: The wildcard in a pattern: any object key or array index.
WILD: Final = _Wild()

Pattern = tuple[Any, ...]
"""A parsed path pattern: ``str`` keys, ``int`` indices and :data:`WILD`."""

_TOKEN = re.compile(
    r"""\.(?P<name>[^.\[\]\s*]+)|\.\*|\[\*\]|\[(?P<index>\d+)\]
    |\[(?P<dq>"(?:[^"\\]|\\.)*")\]|\['(?P<sq>(?:[^'\\]|\\.)*)'\]""",
    re.VERBOSE,
)
_EXAMPLES = "write it like $.a.b, $.items[*] or $.items[0].title"


def parse_path(text: str) -> Pattern:
    """``"$.items[*].title"`` -> ``("items", WILD, "title")``.

    Raises :class:`ValueError` naming the part that is not understood.
    """
    s = text.strip()
    if not s.startswith("$"):
        s = "$" + (s if s[:1] in (".", "[") else "." + s)
    parts: list[Any] = []
    pos = 1
    while pos < len(s):
        m = _TOKEN.match(s, pos)
        if m is None:
            raise ValueError(f"bad path {text!r} at {s[pos:]!r}: {_EXAMPLES}")
        if m.group("name") is not None:
            parts.append(m.group("name"))
        elif m.group("index") is not None:
            parts.append(int(m.group("index")))
        elif m.group("dq") is not None:
            parts.append(json.loads(m.group("dq")))
        elif m.group("sq") is not None:
            parts.append(re.sub(r"\\(.)", r"\1", m.group("sq")))
        else:
            parts.append(WILD)
        pos = m.end()
    return tuple(parts)


def format_pattern(pattern: Pattern) -> str:
    """The text of a pattern (or a path): ``("items", WILD, "title")`` ->
    ``"$.items[*].title"``; :func:`parse_path` reads it back."""
    out = ["$"]
    for part in pattern:
        if part is WILD:
            out.append("[*]")
        elif isinstance(part, int):
            out.append(f"[{part}]")
        elif part.isidentifier():
            out.append(f".{part}")
        else:
            out.append(f"[{json.dumps(part, ensure_ascii=False)}]")
    return "".join(out)


def may_lead_to(pattern: Pattern, path: tuple[Any, ...]) -> bool:
    """Whether ``path`` is a match of ``pattern`` or an ancestor of one (a prefix)."""
    if len(path) > len(pattern):
        return False
    for want, got in zip(pattern, path, strict=False):
        if want is WILD:
            continue
        if want != got or isinstance(want, int) != isinstance(got, int):
            return False
    return True


def expand(
    value: Any, rest: Pattern, path: tuple[Any, ...] = ()
) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every ``(path, value)`` inside ``value`` (found at ``path``) that the remaining
    pattern ``rest`` names, in document order."""
    if not rest:
        yield path, value
        return
    head, tail = rest[0], rest[1:]
    if isinstance(value, dict):
        if head is WILD:
            keys: Iterable[Any] = list(value)
        else:
            keys = [head] if isinstance(head, str) and head in value else []
        for k in keys:
            yield from expand(value[k], tail, (*path, k))
    elif isinstance(value, list):
        if head is WILD:
            idx: Iterable[int] = range(len(value))
        else:
            idx = [head] if isinstance(head, int) and head < len(value) else []
        for i in idx:
            yield from expand(value[i], tail, (*path, i))
