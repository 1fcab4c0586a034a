"""Whether the C accelerator (``_speedups``) is used: loaded once, or None.

It is None when the extension was not built (no C compiler at install time) or when
``JSONVISOR_PURE=1`` is set in the environment.  :mod:`.events` takes its event classes
from it and :mod:`.accelerator` its parser core, so the two always agree.
"""

from __future__ import annotations

import os
from types import ModuleType

__all__ = ["native"]


def _load() -> ModuleType | None:
    if os.environ.get("JSONVISOR_PURE", "") not in ("", "0"):
        return None
    try:
        from . import _speedups
    except ImportError:
        return None
    return _speedups


native: ModuleType | None = _load()
