# wizfi360: build, test and tool entry points.
#
#   make test          host tests (pytest) then device tests (MicroPython unix port)
#   make test-host     pytest tests_host -q
#   make test-device   tools/run_device_tests.py (ARGS="-k name" to filter)
#   make demo          tools/demo.py
#   make emulator      tools/emulator.py (ARGS="--help" for its options)
#   make package-json  regenerate package.json from lib/wizfi360
#
# Everything runs from the project's own .venv, created from requirements.txt
# on first use and re-installed whenever requirements.txt changes.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.requirements-installed
ARGS   ?=

.PHONY: all .venv test test-host test-device demo emulator package-json clean

all: test

.venv: $(STAMP)

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	touch $@

# Runs both suites even when the first fails, and fails if either failed.
test: $(STAMP)
	@status=0; \
	$(MAKE) --no-print-directory test-host || status=1; \
	$(MAKE) --no-print-directory test-device || status=1; \
	exit $$status

test-host: $(STAMP)
	$(PY) -m pytest tests_host -q

test-device: $(STAMP)
	$(PY) tools/run_device_tests.py $(ARGS)

demo: $(STAMP)
	$(PY) tools/demo.py $(ARGS)

emulator: $(STAMP)
	$(PY) tools/emulator.py $(ARGS)

package-json: $(STAMP)
	$(PY) tools/gen_package_json.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
