# The README's first commands. Each target installs what it needs into .venv first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN = $(VENV)/bin
STAMP = $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-12)

.PHONY: install run check test bench demo clean

# Debian packages: the CJK font of the label renderings (run); Chromium for the browser test and docker-compose
# (its client only, to validate docker-compose.yml) and zbar (a second QR decoder) for the tests; wrk for the
# benchmarks.
RUN_PACKAGES = fonts-wqy-microhei
TEST_PACKAGES = $(RUN_PACKAGES) chromium docker-compose libzbar0 poppler-utils
BENCH_PACKAGES = $(RUN_PACKAGES) wrk libzbar0

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

HOST ?= 127.0.0.1
PORT ?= 8000

# The service on its embedded defaults: SQLite in var/, tasks in-process, demo organisations, users and the
# example inventories (the demo passwords are printed at start). The Brightway project is built offline once.
run: install
	@scripts/system-packages $(RUN_PACKAGES)
	$(BIN)/pcf serve --demo --host $(HOST) --port $(PORT)

# Lint, format and the layers first (seconds), then the suite.
check: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

# Two workers, one test file each at a time (module fixtures build one service per file); ~12 min on 2 cores.
test: check
	@scripts/system-packages $(TEST_PACKAGES)
	$(BIN)/python -m pytest -n 2 --dist loadfile

bench: install
	@scripts/system-packages $(BENCH_PACKAGES)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .pytest_cache
