# Two commands for a fresh clone: `make run` and `make test`. Everything else is set up on demand
# by scripts/install.sh, from the hashed locks in requirements/ (also what the Dockerfile runs).
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint lock lowest bench fuzz soak review-sheet pins screenshots clean venv venv-dev

# Checked on every run (well under a second when up to date): a venv made by another Python or
# whose packages do not import is rebuilt; new locks are installed.
venv:
	@scripts/install.sh $(VENV)

venv-dev:
	@scripts/install.sh --dev $(VENV)

# gunicorn with WORKERS uvicorn workers on HOST:PORT (127.0.0.1:8000; PORT=NNNN make run), open
# mode (loopback only), the store in ~/.local/state/baclofen-cds/cds.sqlite3 ($XDG_STATE_HOME;
# CDS_DATABASE_URL overrides). Every setting comes from the environment: docs/operators.md.
run: venv
	$(BIN)/gunicorn -c api/gunicorn.conf.py

test: venv-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest -q

lint: venv-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The rule catalogue as a sheet a committee signs (Markdown, HTML, JSON), with the scenario rows
# that pin each rule: var/review-sheet/.
review-sheet: venv-dev
	$(BIN)/python -m tests.review_sheet var/review-sheet

# The scenario rows that pin each rule, as the console ships them in the package
# (api/console/pins.json): after a change to rules/ or tests/scenarios/ (a test says when).
pins: venv-dev
	$(BIN)/python -m tests.review_sheet --pins api/console/pins.json

# The console's screenshots in docs/ (README, docs/pharmacists.md), taken by its browser tests
# from the real pages.
screenshots: venv-dev
	CONSOLE_SCREENSHOTS=docs/console $(BIN)/pytest -q tests/test_console_browser.py

# Refresh the locks from pyproject.toml (newest versions allowed; hashes for every platform's
# wheels, Python 3.11 and 3.12). The runtime lock carries no test tool; the dev lock adds them
# at the same versions.
UV_COMPILE = $(BIN)/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes
lock: venv-dev
	$(UV_COMPILE) requirements/build.in -o requirements/build.txt
	$(UV_COMPILE) pyproject.toml -o requirements/runtime.txt
	$(UV_COMPILE) pyproject.toml --extra dev -c requirements/runtime.txt -o requirements/dev.txt

# The suite against the lowest versions pyproject.toml allows (lower bounds that are true), in
# a throwaway venv.
lowest: venv-dev
	scripts/lowest.sh

# Prints the benchmark tables (engine mix; the real server at 1, 8, 64 clients vs /healthz,
# with and without the nginx least_conn proxy of deploy/; what refusing repeated JSON keys
# costs; feedback items stored per second on SQLite and PostgreSQL; what the check log costs a
# check).
bench: venv-dev
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.parse
	$(BIN)/python -m bench.cds_translate
	$(BIN)/python -m bench.feedback
	$(BIN)/python -m bench.check_log

fuzz: venv-dev
	FUZZ_EXAMPLES=2000 $(BIN)/pytest -q tests/test_fuzz_openapi.py tests/test_properties.py

# The full-length load tests: 100,000 distinct checks through one server process (RSS after
# 100,000 vs 10,000) and 10,000 from 16 concurrent clients. `make test` runs them shortened.
soak: venv-dev
	SOAK=1 $(BIN)/pytest -q -s tests/test_load.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
