# The two commands a newcomer needs: `make run` and `make test`. Both create .venv themselves.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test test-fast check bench lint typecheck clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

run: install
	$(BIN)/hotline serve

# Every database test runs on SQLite; with HOTLINE_TEST_DATABASE_URL set (as .ci/run does)
# it runs on PostgreSQL too.
test: install
	@if [ -z "$$HOTLINE_TEST_DATABASE_URL" ]; then \
	  echo "*** HOTLINE_TEST_DATABASE_URL is not set: the PostgreSQL half of the database tests is SKIPPED (SQLite only). ***"; \
	fi
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The pure cores and the adapters alone, in well under a minute: no end-to-end run, no
# statistical steady state (markers in pyproject). `make test` still runs everything.
test-fast: install
	$(BIN)/python -m pytest -m "not slow and not e2e" $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy, strict, on the pure cores listed in pyproject's [tool.mypy].
typecheck: install
	$(BIN)/mypy

check: lint typecheck test

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
