# Two commands do all the set-up on a fresh Debian machine:
#   make demo   - virtual environment, install, napari with the sample clip and the plugin docked
#   make test   - everything the tests need, then every test (GUI tests under Xvfb)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
XVFB := xvfb-run -a -s "-screen 0 1600x1000x24"

.PHONY: demo test benchmarks system-deps lint clean

$(BIN)/.installed: pyproject.toml
	PYTHON=$(PYTHON) ./scripts/system_deps.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=25.1"
	$(BIN)/python -m pip install --quiet -e . --group dev
	touch $@

system-deps:
	PYTHON=$(PYTHON) ./scripts/system_deps.sh

demo: system-deps $(BIN)/.installed
	@if [ -n "$$DISPLAY" ] || [ -n "$$WAYLAND_DISPLAY" ]; then \
		$(BIN)/roadlabel demo; \
	else \
		echo "No display: running the demo under Xvfb and saving a screenshot."; \
		$(XVFB) $(BIN)/roadlabel demo --headless; \
	fi

test: system-deps $(BIN)/.installed
	$(XVFB) $(BIN)/python -m pytest

benchmarks: system-deps $(BIN)/.installed
	@for bench in benchmarks/bench_*.py; do echo "== $$bench"; $(XVFB) $(BIN)/python $$bench || exit 1; done

lint: $(BIN)/.installed
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) demo_output .pytest_cache
