"""Run a test module on both SSE implementations: the C accelerator and pure Python.

A module opts in with ``pytestmark = pytest.mark.usefixtures("sse_backend")`` after
importing :func:`sse_backend`; every decoder and adapter its tests make then runs on one
backend, then on the other (only pure Python when the accelerator is not built, or with
``JSONVISOR_PURE=1``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jsonvisor.llm import sse

#: The backends to run: ``"c"`` when the accelerator is there, and always ``"pure"``.
BACKENDS = ["c", "pure"] if sse.ACCELERATOR is not None else ["pure"]


@pytest.fixture(scope="module", params=BACKENDS)
def sse_backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """``"c"`` or ``"pure"``: decoders and adapters made in the test use that backend."""
    saved = sse.ACCELERATOR
    if request.param == "pure":
        sse.ACCELERATOR = None
    try:
        yield request.param
    finally:
        sse.ACCELERATOR = saved
