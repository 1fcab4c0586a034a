"""Cluster tests: run in the second environment (``scripts/actors_env.sh``).

tractor 0.1.0a5 needs trio 0.23.x, so these tests are separate from ``tests/``.  Every
``async def`` test runs under pytest-trio, whatever the ini file says.
"""

from __future__ import annotations

import inspect
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

pytest.importorskip("tractor", reason="the cluster tests need the 'actors' extra")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "anyio_backend" in getattr(item, "fixturenames", ()):
            # Run by AnyIO's plugin (test_cluster_frontends: trio and asyncio), so not by
            # pytest-trio, whose trio mode marks every async test.
            item.own_markers[:] = [m for m in item.own_markers if m.name != "trio"]
            continue
        fn = getattr(item, "function", None)
        if fn is not None and inspect.iscoroutinefunction(fn):
            item.add_marker(pytest.mark.trio)


def child_pids(parent: int | None = None) -> list[int]:
    """Processes whose parent is ``parent`` (default: this process), from /proc."""
    parent = os.getpid() if parent is None else parent
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        if int(fields[1]) == parent:
            found.append(int(entry))
    return found
