"""pytest plugin for scripts/sanitize.sh: prove the run exercises the sanitized C extension.

Loaded with ``-p sanitize_env`` (scripts/ is on PYTHONPATH). sanitize.sh sets
SANITIZE_EXPECTED_SO to the path of the extension it built with ASan/UBSan; the session
stops with a usage error (pytest exit status 4) unless ``jsonvisor.parsers._speedups`` was
imported from exactly that file and ``jsonvisor.parsers.streaming.SPEEDUPS`` is True, so a
silently unsanitized or pure-Python run cannot pass.
"""

from __future__ import annotations

import os

import pytest


def _check() -> str:
    expected = os.environ.get("SANITIZE_EXPECTED_SO", "")
    if not expected:
        raise pytest.UsageError("sanitize_env: SANITIZE_EXPECTED_SO is not set")
    try:
        from jsonvisor.parsers import _speedups
    except ImportError as err:
        raise pytest.UsageError(
            f"sanitize_env: the sanitized extension does not import: {err}"
        ) from err
    from jsonvisor.parsers.streaming import SPEEDUPS

    loaded = _speedups.__file__ or ""
    if not (os.path.exists(loaded) and os.path.samefile(loaded, expected)):
        raise pytest.UsageError(
            f"sanitize_env: _speedups was loaded from {loaded}, not the sanitized {expected}"
        )
    if SPEEDUPS is not True:
        raise pytest.UsageError("sanitize_env: streaming.SPEEDUPS is not True (C half off)")
    line = f"sanitize: _speedups.__file__ = {loaded}; streaming.SPEEDUPS = {SPEEDUPS}"
    sse_expected = os.environ.get("SANITIZE_EXPECTED_SSE_SO", "")
    if sse_expected and os.path.exists(sse_expected):
        from jsonvisor.llm import sse

        sse_loaded = getattr(sse.ACCELERATOR, "__file__", "") or ""
        if not (os.path.exists(sse_loaded) and os.path.samefile(sse_loaded, sse_expected)):
            raise pytest.UsageError(
                f"sanitize_env: llm._sse was loaded from {sse_loaded!r}, not {sse_expected}"
            )
        line += f"; llm._sse.__file__ = {sse_loaded}"
    return line


def pytest_configure(config: pytest.Config) -> None:
    line = _check()
    config.stash[_LINE] = line
    print(line, flush=True)


def pytest_report_header(config: pytest.Config) -> str:
    return config.stash[_LINE]


_LINE = pytest.StashKey[str]()
