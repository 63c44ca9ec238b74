# Two commands for a fresh clone: `make run` and `make test`. Everything else is set up on demand.
# The first interpreter that really runs and is 3.11 or 3.12 (pyenv shims may exist but fail).
PYTHON ?= $(shell for p in python3.11 python3.12 python3; do \
  $$p -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] < (3, 13))' 2>/dev/null \
  && { command -v $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
HOST ?= 127.0.0.1
WORKERS ?= $(shell nproc 2>/dev/null || echo 2)
STAMP := $(VENV)/.installed

.PHONY: run test lint bench fuzz soak review-sheet clean

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11 or 3.12 is required (durable-rules does not build on 3.13)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# durable-rules ships only an sdist: gcc builds it here.
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m api.serve --host $(HOST) --port $(PORT) --workers $(WORKERS)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The rule catalogue as a sheet a committee signs (Markdown, HTML, JSON), with the scenario rows
# that pin each rule: var/review-sheet/.
review-sheet: $(STAMP)
	$(BIN)/python -m tests.review_sheet var/review-sheet

# Prints the benchmark tables (engine mix; the real server at 1, 8, 64 clients vs /healthz;
# what refusing repeated JSON keys costs).
bench: $(STAMP)
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.parse

fuzz: $(STAMP)
	FUZZ_EXAMPLES=2000 $(BIN)/pytest -q tests/test_fuzz_openapi.py tests/test_properties.py

# The full-length load tests: 100,000 distinct checks through one server process (RSS after
# 100,000 vs 10,000) and 10,000 from 16 concurrent clients. `make test` runs them shortened.
soak: $(STAMP)
	SOAK=1 $(BIN)/pytest -q -s tests/test_load.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
