# The project's two set-up commands are `make demo` and `make test`; both make .venv first.
# The cluster layer (tractor, the `actors` extra) needs trio 0.23.x, so its tests run in a
# second environment, .venv-actors, built by scripts/actors_env.sh.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: install demo test test-core test-actors sanitize sanitize-selftest fuzz lint docs bench clean

# After the install, the parser's accelerator is rebuilt with profile-guided optimisation
# where the compiler is gcc (scripts/pgo.py; it keeps the plain build on any failure).
$(STAMP): pyproject.toml setup.py src/jsonvisor/parsers/*.c src/jsonvisor/parsers/*.h \
		src/jsonvisor/llm/*.c scripts/pgo.py scripts/pgo_train.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	$(BIN)/python scripts/pgo.py
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/jsonvisor demo

lint: $(STAMP)
	$(BIN)/ruff check src tests tests_actors bench examples scripts setup.py docs/conf.py

# Every parser test runs over both backends (tests/conftest.py swaps the class); the whole
# suite then runs again with the accelerator off (JSONVISOR_PURE=1), which is what runs
# without a C compiler, fast-path checks and scanners included.
test-core: $(STAMP)
	$(BIN)/python -m pytest
	JSONVISOR_PURE=1 $(BIN)/python -m pytest

# The C accelerator rebuilt with ASan+UBSan (a copy under build/sanitize/; the in-place .so
# is untouched) runs the parser suites and a short fuzz; one line and a pass where the
# compiler lacks the sanitizers (CI requires them).
SANITIZE_TESTS := tests/test_speedups.py tests/test_scanners.py tests/test_parser_errors.py \
	tests/test_parser_regressions.py tests/test_fuzz_regressions.py tests/test_fuzz_invariants.py \
	tests/test_parser_bulk.py tests/test_parser_extracting.py tests/test_parser_repair.py \
	tests/test_event_classes.py tests/test_tracking.py tests/test_parser_reuse.py \
	tests/test_llm_sse_backends.py tests/test_llm_projection.py tests/test_llm_adapters.py
sanitize: $(STAMP)
	PYTHON=$(BIN)/python SANITIZE_REQUIRED=$(if $(CI),1,0) JSONVISOR_FUZZ_EXAMPLES=10 \
		scripts/sanitize.sh $(SANITIZE_TESTS) -q -x -p no:cacheprovider

# Proves the harness catches faults: an injected out-of-bounds read / signed overflow must
# abort the run.
sanitize-selftest: $(STAMP)
	PYTHON=$(BIN)/python SANITIZE_SELFTEST=asan scripts/sanitize.sh
	PYTHON=$(BIN)/python SANITIZE_SELFTEST=ubsan scripts/sanitize.sh

# The grammar fuzzer over every option set and both backends for FUZZ_MINUTES; a failure is
# shrunk into tests/data/fuzz_regressions.jsonl.  Then the same fuzzer under the sanitizers.
FUZZ_MINUTES ?= 10
fuzz: $(STAMP)
	$(BIN)/python scripts/fuzz.py --minutes $(FUZZ_MINUTES)
	PYTHON=$(BIN)/python SANITIZE_REQUIRED=1 JSONVISOR_FUZZ_EXAMPLES=300 \
		scripts/sanitize.sh tests/test_fuzz_invariants.py tests/test_fuzz_regressions.py -q -x \
		-p no:cacheprovider

test-actors:
	PYTHON=$(PYTHON) ACTORS_PYTHON=$(PYTHON) scripts/actors_env.sh

# The documentation (README.md and docs/*.md, Markdown through MyST) as HTML in build/docs/.
# Any warning fails it, and -n (nitpicky) makes every reference one that must resolve: a
# broken link, a missing heading anchor or an API name that does not exist.  Offline.
docs: $(STAMP)
	$(BIN)/python -m sphinx -b html -E -W --keep-going -n -q docs build/docs

test: lint test-core sanitize sanitize-selftest docs test-actors

# Every benchmark merges its sections into bench/results.json; bench/tables.py then renders
# the README's headline table and docs/benchmarks*.md from that file.
bench: $(STAMP)
	$(BIN)/python bench/bench_parser.py
	$(BIN)/python bench/bench_supervisor.py
	$(BIN)/python bench/bench_supervisor.py --backend asyncio
	$(BIN)/python bench/bench_pipeline.py
	$(BIN)/python bench/bench_serve.py
	ACTORS_ENV_ONLY=1 ACTORS_PYTHON=$(PYTHON) scripts/actors_env.sh
	.venv-actors/bin/python bench/bench_cluster.py
	$(BIN)/python bench/tables.py

clean:
	rm -rf $(VENV) .venv-actors build dist src/*.egg-info .pytest_cache .hypothesis
	rm -f src/jsonvisor/parsers/*.so src/jsonvisor/llm/*.so
