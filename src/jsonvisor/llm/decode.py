"""Decoding provider envelopes: one helper, the fastest JSON decoder installed.

``orjson`` when installed (measured fastest on provider envelopes: about 1.8x ``ujson`` and
3x the stdlib; ``make bench`` measures all three), else ``ujson`` (a dependency).  When the
fast decoder refuses a text (``NaN``, ``1e999``, a lone surrogate escape ...),
:func:`decode_json` asks ``json.loads``, which accepts it or raises ``json.JSONDecodeError``.
On valid JSON the values are ``json.loads``' except for integers past 64 bits, which
``orjson`` reads as floats; ``ujson`` also accepts a few invalid texts (``01``, ``1.``, a
raw control character in a string).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

__all__ = ["BACKEND", "decode_json"]


def _fast() -> tuple[str, Callable[[Any], Any]]:
    try:
        import orjson
    except ImportError:
        import ujson

        return "ujson", ujson.loads
    return "orjson", orjson.loads


#: The name of the fast decoder in use: ``"orjson"`` or ``"ujson"``.
BACKEND, _loads = _fast()
_stdlib = json.loads


def decode_json(data: str | bytes, *, exact: bool = False) -> Any:
    """``data`` decoded as JSON by the fast decoder, or by ``json.loads`` when it refuses.

    ``exact=True`` asks ``json.loads`` straight away: for JSON whose values are passed on as
    text (a tool's arguments), where an integer past 64 bits must stay an integer.  Raises
    ``ValueError`` (``json.JSONDecodeError``) for invalid JSON.
    """
    if exact:
        return _stdlib(data)
    try:
        return _loads(data)
    except (ValueError, OverflowError):
        return _stdlib(data)
