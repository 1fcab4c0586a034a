"""Every test module that builds ``StreamingJsonParser`` runs over both parser backends.

As ijson runs each test over each of its backends: a module with a global
``StreamingJsonParser`` runs once with the C accelerator and once with that global swapped
for ``PurePythonParser`` (without the accelerator, once: they are the same class).  A module
that names ``PurePythonParser`` or ``BACKENDS`` compares the backends itself and runs once.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jsonvisor import parsers
from jsonvisor.parsers.streaming import SPEEDUPS

_CLASS = parsers.StreamingJsonParser


def pytest_report_header() -> str:
    return f"jsonvisor parser: {'C accelerator' if SPEEDUPS else 'pure Python'}"


def _swaps_backends(module: object) -> bool:
    names = vars(module)
    return (
        names.get("StreamingJsonParser") is _CLASS
        and "PurePythonParser" not in names
        and "BACKENDS" not in names
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if not SPEEDUPS:  # StreamingJsonParser is PurePythonParser already
        return
    if _swaps_backends(metafunc.module):  # (a test may also take it: which backend runs)
        if "parser_backend" not in metafunc.fixturenames:
            metafunc.fixturenames.append("parser_backend")
        metafunc.parametrize("parser_backend", ["c", "python"], scope="module")


@pytest.fixture
def parser_backend() -> str:
    """``"c"`` or ``"python"``: which class the module's ``StreamingJsonParser`` is (a
    module that swaps backends gets each value by parametrization)."""
    return "c" if SPEEDUPS else "python"


@pytest.fixture(autouse=True)
def _swap_parser_backend(request: pytest.FixtureRequest) -> Iterator[None]:
    """Under ``parser_backend="python"`` the module's ``StreamingJsonParser`` is
    ``PurePythonParser`` for the test.  (An autouse fixture, so that it runs: a value
    parametrized onto a test is not a fixture of its own.)"""
    callspec = getattr(request.node, "callspec", None)
    if callspec is None or callspec.params.get("parser_backend") != "python":
        yield
        return
    module = request.module
    module.StreamingJsonParser = parsers.PurePythonParser
    try:
        yield
    finally:
        module.StreamingJsonParser = _CLASS


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that takes AnyIO's ``anyio_backend`` fixture (the supervisor suite: each
    test once on trio and once on asyncio) runs under AnyIO's pytest plugin, so
    pytest-trio's trio mode, which marks every async test, lets go of it."""
    for item in items:
        if "anyio_backend" in getattr(item, "fixturenames", ()):
            item.own_markers[:] = [m for m in item.own_markers if m.name != "trio"]
