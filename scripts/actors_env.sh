#!/usr/bin/env bash
# Second test environment for the cluster layer (jsonvisor.cluster, the `actors` extra).
#
# tractor 0.1.0a5 (the only release on PyPI) imports `trio.MultiError`, so it needs trio 0.23.x,
# and its `pdbpp` requirement is a git URL that cannot be installed from the registry. This
# script builds `.venv-actors` with trio 0.23.x, tractor installed with `--no-deps` plus its real
# registry dependencies, the test tools, and jsonvisor itself (editable, trio pinned), then runs
# `pytest tests_actors` with any arguments passed through.
#
# Idempotent: a stamp file records a hash of the pins and pyproject.toml; re-runs skip pip.
# Environment: ACTORS_PYTHON (interpreter for the venv, default python3),
#              ACTORS_ENV_ONLY=1 (build the venv, do not run pytest).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv-actors
PY="${ACTORS_PYTHON:-python3}"
PIP="$VENV/bin/pip"
STAMP="$VENV/.installed-actors"

PINS=(
    "trio==0.23.2"
    # the supervisor's AnyIO: 4.4.x is the last line that supports trio 0.23 (4.5 needs
    # trio >= 0.26.1); it brings sniffio and idna.
    "anyio==4.4.0"
    # tractor's registry dependencies (its setup.py minus the git-pinned pdbpp).
    "msgspec>=0.18"
    "tricycle>=0.2"
    "colorlog"
    "wrapt"
    "async_generator"
    "trio_typing"
    "pdbpp"
    # the project's runtime dependencies and the test tools.
    "ujson>=5.8"
    "pytest>=7.4"
    "pytest-trio==0.8.0"
    "hypothesis>=6.90"
)
TRACTOR="tractor==0.1.0a5"

want="$( { printf '%s\n' "${PINS[@]}" "$TRACTOR"; cat pyproject.toml; } | sha256sum | cut -d' ' -f1)"

if [[ ! -f "$STAMP" || "$(cat "$STAMP")" != "$want" ]]; then
    test -x "$VENV/bin/python" || "$PY" -m venv "$VENV"
    "$PIP" install -q --disable-pip-version-check "${PINS[@]}"
    "$PIP" install -q --disable-pip-version-check --no-deps "$TRACTOR"
    "$PIP" install -q --disable-pip-version-check --no-deps -e .
    # Fail early and clearly if the combination does not import.
    "$VENV/bin/python" -c "import trio, anyio, tractor, jsonvisor; assert trio.__version__.startswith('0.23')"
    echo "$want" > "$STAMP"
fi

if [[ "${ACTORS_ENV_ONLY:-0}" == "1" ]]; then
    exit 0
fi
exec "$VENV/bin/python" -m pytest tests_actors "$@"
