"""Build the optional C accelerator; everything else is in pyproject.toml.

``optional=True``: without a C compiler the build still succeeds and jsonvisor runs on its
pure-Python parser and SSE decoder (same behaviour, slower).
"""

from pathlib import Path

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "jsonvisor.parsers._speedups",
            sources=["src/jsonvisor/parsers/_speedups.c"],
            # a unity build: _speedups.c includes one file per stage
            depends=sorted(str(p) for p in Path("src/jsonvisor/parsers").glob("_*.h")),
            optional=True,
        ),
        # the SSE decoder and envelope reader of jsonvisor.llm (sse.PureSSEDecoder without it)
        Extension(
            "jsonvisor.llm._sse",
            sources=["src/jsonvisor/llm/_sse.c"],
            optional=True,
        ),
    ]
)
