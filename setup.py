"""Build the optional C accelerator; everything else is in pyproject.toml.

``optional=True``: without a C compiler the build still succeeds and jsonvisor runs on its
pure-Python parser (same behaviour, slower).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "jsonvisor.parsers._speedups",
            sources=["src/jsonvisor/parsers/_speedups.c"],
            depends=["src/jsonvisor/parsers/_validate.h", "src/jsonvisor/parsers/_scan.h"],
            optional=True,
        )
    ]
)
