# scanroute: `make run` serves the demo on SQLite; `make test` runs ruff, mypy and pytest.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 8080
PYTEST_ARGS ?=
LINT_PATHS := $(wildcard src tests bench)
# Dashboard assets: installed from the npm registry (package-lock.json), copied next to the code.
ASSETS := src/scanroute/web/dashboard/static/vendor/.installed

.PHONY: run test fuzz lint typecheck pytest install bench-redirect bench-qr clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml hatch_build.py $(wildcard src/scanroute/native/*.[ch]) | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

$(ASSETS): package.json package-lock.json src/scanroute/web/dashboard/vendor.py
	@command -v npm >/dev/null 2>&1 || { echo "error: npm is needed to install the dashboard's assets (e.g. apt-get install npm)" >&2; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	$(PYTHON) src/scanroute/web/dashboard/vendor.py
	touch $@

install: $(STAMP) $(ASSETS)

run: $(STAMP) $(ASSETS)
	SCANROUTE_DATA_DIR=$${SCANROUTE_DATA_DIR:-./data} $(BIN)/scanroute serve --demo --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)

typecheck: $(STAMP)
	$(BIN)/mypy src

pytest: $(STAMP) $(ASSETS)
	$(BIN)/pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

test: lint typecheck pytest

# every test module with property-based tests
HYPOTHESIS_TESTS = $(shell grep -rl --include='test_*.py' 'from hypothesis' tests)

fuzz: $(STAMP) $(ASSETS)
	SCANROUTE_TEST_HYPOTHESIS=explore $(BIN)/pytest -n 2 $(HYPOTHESIS_TESTS) $(PYTEST_ARGS)

bench-redirect: $(STAMP)
	$(BIN)/python bench/redirect/run.py

bench-qr: $(STAMP)
	$(BIN)/python bench/qr/bench_render.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache node_modules src/scanroute/web/dashboard/static/vendor
