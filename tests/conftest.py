"""Say in the pytest header which parser implementation the run exercises."""

from __future__ import annotations

from jsonvisor.parsers.streaming import SPEEDUPS


def pytest_report_header() -> str:
    return f"jsonvisor parser: {'C accelerator' if SPEEDUPS else 'pure Python'}"
