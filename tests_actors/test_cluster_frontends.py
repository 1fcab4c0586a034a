"""The front-end suite (``tests/test_frontends.py``) run here, where the cluster runs too:
every test once against the supervisor (trio, asyncio) and once against a cluster."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from test_frontends import *  # noqa: F403 (the tests, their fixtures, pytestmark)
