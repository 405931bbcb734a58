# The two commands of the README: `make dev` serves the API, `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: dev test test-postgres test-sqlite lint contract services bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

## Serve http://127.0.0.1:8000/graphql on the embedded SQLite file under var/ (no services needed).
dev: $(STAMP)
	$(BIN)/tanpuhui migrate
	$(BIN)/tanpuhui serve --no-migrate

## Every test, in both lanes: PostgreSQL + Redis (started if down), then SQLite + in-process Redis.
## Debian's Chromium is installed for the certificate page's browser test when it is missing.
test: $(STAMP)
	infra/local/services.sh ensure
	infra/local/browser.sh
	TPH_REQUIRE_BROWSER=1 TPH_TEST_LANE=postgres $(BIN)/pytest
	TPH_REQUIRE_BROWSER=1 TPH_TEST_LANE=sqlite $(BIN)/pytest

test-postgres: $(STAMP)
	infra/local/services.sh ensure
	TPH_TEST_LANE=postgres $(BIN)/pytest

test-sqlite: $(STAMP)
	TPH_TEST_LANE=sqlite $(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check backend tests bench
	$(BIN)/ruff format --check backend tests bench
	$(BIN)/mypy

contract: $(STAMP)
	$(BIN)/tanpuhui check-contract

bench: $(STAMP)
	infra/local/services.sh ensure
	@mkdir -p bench/out && date +%s > bench/out/.started
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.reads --soak 600
	$(BIN)/python -m bench.ingestion
	$(BIN)/python -m bench.rewards
	$(BIN)/python -m bench.writes
	$(BIN)/python -m bench.report --since $$(cat bench/out/.started)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
