"""The optional C accelerator (``_speedups.c``): loaded once, or None.

It is None when the extension was not built (no C compiler at install time) or when
``JSONVISOR_PURE=1`` is set in the environment; the parser then runs in pure Python with
the same behaviour.
"""

from __future__ import annotations

from typing import Any

import ujson

from ._native import native
from .errors import JsonStreamError
from .extract import Candidate
from .result import ParseResult, Repair

__all__ = ["SPEEDUPS", "orjson_loads", "speedups"]

try:  # a dependency on CPython; elsewhere the bulk path loads with ujson alone
    from orjson import loads as orjson_loads
except ImportError:  # pragma: no cover
    orjson_loads = None


def _load() -> Any:
    _speedups = native
    if _speedups is None:
        return None
    _speedups.setup(
        orjson_loads,
        ujson.loads,
        JsonStreamError,
        ParseResult,
        Repair,
        Candidate,
    )
    return _speedups


#: The ``_speedups`` module, or None.
speedups: Any = _load()
#: True when the C accelerator is in use.
SPEEDUPS = speedups is not None
