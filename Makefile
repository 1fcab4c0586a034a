# The project's two set-up commands are `make demo` and `make test`; both make .venv first.
# The cluster layer (tractor, the `actors` extra) needs trio 0.23.x, so its tests run in a
# second environment, .venv-actors, built by scripts/actors_env.sh.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: install demo test test-core test-actors lint bench clean

$(STAMP): pyproject.toml setup.py src/jsonvisor/parsers/*.c src/jsonvisor/parsers/*.h
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/jsonvisor demo

lint: $(STAMP)
	$(BIN)/ruff check src tests tests_actors bench examples setup.py

# The parser runs on its C accelerator when it is built; the parser suites run a second
# time on the pure-Python parser (JSONVISOR_PURE=1), which is what runs without a compiler.
PURE_TESTS := tests/test_parser_behaviour.py tests/test_parser_errors.py \
	tests/test_parser_properties.py tests/test_fastpath.py tests/test_llm_mode.py \
	tests/test_llm_corpus.py tests/test_schema_mode.py

test-core: $(STAMP)
	$(BIN)/python -m pytest
	JSONVISOR_PURE=1 $(BIN)/python -m pytest $(PURE_TESTS)

test-actors:
	PYTHON=$(PYTHON) ACTORS_PYTHON=$(PYTHON) scripts/actors_env.sh

test: lint test-core test-actors

bench: $(STAMP)
	$(BIN)/python bench/bench_parser.py
	$(BIN)/python bench/bench_supervisor.py
	ACTORS_ENV_ONLY=1 ACTORS_PYTHON=$(PYTHON) scripts/actors_env.sh
	.venv-actors/bin/python bench/bench_cluster.py

clean:
	rm -rf $(VENV) .venv-actors build dist src/*.egg-info .pytest_cache .hypothesis
	rm -f src/jsonvisor/parsers/*.so
