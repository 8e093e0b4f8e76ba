# The two commands a newcomer needs: `make run` and `make test`. Both create .venv themselves.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# make test's pytest processes (pytest-xdist): most end-to-end tests wait on simulated time
# and sockets rather than compute, so 3 on 2 cores finish in about half the time of 1, and a
# fourth still shortens the run (12.5 min with 3 for 1,026 tests).
PYTEST_WORKERS ?= 4

.PHONY: install run test test-fast test-asterisk asterisk browser check bench bench-phones lint typecheck wallboard clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

run: install
	$(BIN)/hotline serve

# Every database test runs on SQLite; with HOTLINE_TEST_DATABASE_URL set (as .ci/run does)
# it runs on PostgreSQL too. The tests against a real Asterisk are `make test-asterisk`.
test: install
	@if [ -z "$$HOTLINE_TEST_DATABASE_URL" ]; then \
	  echo "*** HOTLINE_TEST_DATABASE_URL is not set: the PostgreSQL half of the database tests is SKIPPED (SQLite only). ***"; \
	fi
	@$(BIN)/python -c "from pbx.private_asterisk import find_asterisk as f; a = f(); \
	  print('*** The asterisk tier is SKIPPED by make test: ' + ('run make test-asterisk (Asterisk %s at %s).' % (a.version, a.binary) if a else 'no Asterisk found; make asterisk builds one, then make test-asterisk.') + ' ***')"
	$(BIN)/python -m pytest -m "not asterisk" -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

# The tests against a real Asterisk started from pbx/asterisk/ (skipped, loudly, without one).
test-asterisk: install
	$(BIN)/python -m pytest -m asterisk tests/asterisk $(PYTEST_ARGS)

# Builds ../shared/asterisk/src/asterisk-20.20.1.tar.xz into .asterisk/20.20.1 (reused when
# already there). ASTERISK_SOURCE and ASTERISK_PREFIX override; see scripts/build-asterisk.sh.
asterisk:
	./scripts/build-asterisk.sh

# Debian's chromium and chromium-driver (when missing; needs root), then the pages in that
# headless browser: the desk page, /docs and /redoc (tests/browser; `make test` runs them too,
# skipped loudly without the browser).
browser: install
	./scripts/install-chromium.sh
	$(BIN)/python -m pytest -m browser tests/browser $(PYTEST_ARGS)

# The pure cores and the adapters alone, in well under a minute: no end-to-end run, no
# statistical steady state (markers in pyproject). `make test` still runs everything.
test-fast: install
	$(BIN)/python -m pytest -m "not slow and not e2e and not asterisk" $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy, strict, on the pure cores listed in pyproject's [tool.mypy].
typecheck: install
	$(BIN)/mypy

check: lint typecheck test

bench: install
	$(BIN)/python -m bench
	@$(MAKE) --no-print-directory bench-phones

# Real SIP phones through a private Asterisk (bench/phones.py); skipped without an Asterisk.
bench-phones: install
	@if $(BIN)/python -c "from pbx.private_asterisk import find_asterisk as f; raise SystemExit(f() is None)"; then \
	  $(BIN)/python -W ignore::UserWarning -m bench.phones --steps 10,20,40,80; \
	else echo "*** no Asterisk found: the SIP phone benchmark is SKIPPED (make asterisk builds one). ***"; fi

# The supervisors' Grafana dashboard, from metrics/grafana/wallboard.py into
# metrics/grafana/dashboards/hotline-wallboard.json (committed; a test checks it is current).
wallboard: install
	$(BIN)/python -m metrics.grafana.wallboard

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
