# wizfi360: build, test and tool entry points.
#
#   make help          this list (what `make` alone does)
#   make test          every suite: host, device, device with real quirks, lint, typecheck
#   make test-host     the host tests: pytest tests_host -q
#   make test-device   the device tests on the MicroPython unix port, against the emulator
#                      (ARGS="-k name" to filter; QUIRKS=real: the emulator as real
#                      modules behave, see tools/wizfi360_emu/quirks.py; WIZFI_QUIRKS=real works too)
#   make test-device-real  the core device tests with the emulator's "real" quirks
#   make test-board    the device tests on a real board: PORT=/dev/ttyACM0 (not in CI)
#   make fuzz          the parser's property tests, and its fast path against them on the unix
#                      port, with many examples (FUZZ_EXAMPLES=20000)
#   make soak          the soak test on the unix port, long (SOAK_CYCLES=5000)
#   make lint          ruff check + ruff format --check (LINT_FILES=..., default: everything)
#   make typecheck     pyright (basedpyright) against the Pico's MicroPython stubs
#                      (TYPE_FILES=..., default: lib/, main.py, board.py, boot.py)
#   make demo          the firmware against the emulator and an HTTP sink (tools/demo.py)
#   make emulator      the emulated module, tools/emulator.py (ARGS="--help" for its options)
#   make example       a program of examples/ on the unix port against the emulator
#                      (NAME=first, http_get, mqtt_pubsub, ...; without NAME: the list)
#   make deploy        compile and copy the driver and the firmware to a board
#                      (PORT=/dev/ttyACM0 to choose it, ARGS="--dry-run" to see how)
#   make repl          the board's REPL through mpremote (PORT=...)
#   make bench         speed and memory figures: a table, docs/bench.md and docs/bench.png
#                      (ARGS="--only stalls" for the event-loop stalls alone, in 30 s, table only)
#   make package-json  regenerate package.json from lib/wizfi360 (its version: __version__)
#   make mplib         the MicroPython libraries of requirements-mplib.txt into build/mplib
#   make .venv         the project's .venv from requirements.txt (the other targets do it too)
#   make clean         remove .venv, build/ and the caches
#
# Everything runs from the project's own .venv, created from requirements.txt
# on first use and re-installed whenever requirements.txt changes. The
# MicroPython libraries the device tests use (requirements-mplib.txt) are
# installed as sources into build/mplib, for the unix port's MICROPYPATH.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.requirements-installed
MPLIB  := build/mplib
MPLIB_STAMP := $(MPLIB)/.requirements-installed
ARGS   ?=
NAME   ?=
PORT   ?=
QUIRKS ?=

# What `make test` lints (the whole tree) and type-checks (the MicroPython
# code, against the Pico stubs).
LINT_CLEAN := .
TYPE_CLEAN := main.py board.py boot.py fwconfig.py senders.py backlog.py lib/wizfi360
LINT_FILES ?= .
TYPE_FILES ?=

.PHONY: help all .venv mplib test test-host test-device test-device-real fuzz soak demo emulator example package-json lint typecheck deploy repl test-board clean

# `make` alone lists the targets: the header comment's "make NAME" lines.
.DEFAULT_GOAL := help
help:
	@echo "wizfi360: make TARGET, one of:"
	@sed -n 's/^#   make /  /p' $(firstword $(MAKEFILE_LIST))
	@echo "Options (ARGS=, PORT=, QUIRKS=, ...): the comment at the top of the Makefile."

all: test

.venv: $(STAMP)

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	touch $@

mplib: $(MPLIB_STAMP)

# Into a fresh directory (nothing left over from an older pin); pip for wheels,
# micropython-lib's source-only sdists unpacked (tools/install_mplib.py says why).
$(MPLIB_STAMP): requirements-mplib.txt tools/install_mplib.py $(STAMP)
	$(PY) tools/install_mplib.py --target $(MPLIB) requirements-mplib.txt
	touch $@

# Runs every suite even when one fails, and fails if any failed.
test: $(STAMP)
	@status=0; \
	$(MAKE) --no-print-directory test-host || status=1; \
	$(MAKE) --no-print-directory test-device || status=1; \
	$(MAKE) --no-print-directory test-device-real || status=1; \
	$(MAKE) --no-print-directory lint LINT_FILES="$(LINT_CLEAN)" || status=1; \
	$(MAKE) --no-print-directory typecheck TYPE_FILES="$(TYPE_CLEAN)" || status=1; \
	exit $$status

# The bench's own pins (matplotlib) go into the same .venv, on top of requirements.txt.
BENCH_STAMP := $(VENV)/.bench-requirements-installed

$(BENCH_STAMP): requirements-bench.txt $(STAMP)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements-bench.txt
	touch $@

.PHONY: bench
bench: $(BENCH_STAMP)
	$(PY) tools/bench/run.py $(ARGS)

test-host: $(STAMP) $(MPLIB_STAMP)
	$(PY) -m pytest tests_host -q

test-device: $(STAMP) $(MPLIB_STAMP)
	$(PY) tools/run_device_tests.py $(if $(QUIRKS),--quirks $(QUIRKS)) $(ARGS)

# The core suite again, with the emulator behaving as real modules do
# (tools/wizfi360_emu/quirks.py, profile "real"). Left out: the files that
# check lossless backpressure or measure throughput (test_flow, test_echo_1mb,
# test_concurrent_real_streams, test_alloc, test_soak): a real module's own
# buffer drops data it cannot hold while the host holds RTS (module-notes),
# which no driver can see, and its network-paced SEND OK makes them slow.
REAL_CORE := test_smoke test_tcp test_streams test_faults test_station test_net_surface \
	test_concurrency test_aio test_lazy_load test_hostile_input test_unmodified_clients \
	test_concurrent_real_server test_examples test_stray_closed
test-device-real: $(STAMP) $(MPLIB_STAMP)
	$(PY) tools/run_device_tests.py --quirks real $(REAL_CORE)

demo: $(STAMP)
	$(PY) tools/demo.py $(ARGS)

emulator: $(STAMP)
	$(PY) tools/emulator.py $(ARGS)

example: $(STAMP) $(MPLIB_STAMP)
	$(PY) tools/run_example.py $(if $(NAME),$(NAME),--list) $(ARGS)

package-json: $(STAMP)
	$(PY) tools/gen_package_json.py

# Long runs of two suites `make test` runs short: the parser's properties with
# many fresh random examples, and thousands of connect/request/close cycles.
FUZZ_EXAMPLES ?= 20000
SOAK_CYCLES   ?= 5000

fuzz: $(STAMP)
	HYPOTHESIS_MAX_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest tests_host/wire/test_parser_properties.py \
		tests_host/wire/test_parser_fastpath.py -q --hypothesis-show-statistics $(ARGS)

soak: $(STAMP) $(MPLIB_STAMP)
	WIZFI_SOAK_CYCLES=$(SOAK_CYCLES) $(PY) tools/run_device_tests.py --timeout 3600 test_soak $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check $(LINT_FILES)
	$(VENV)/bin/ruff format --check $(LINT_FILES)

# The stubs' MicroPython standard library replaces CPython's (--typeshedpath).
typecheck: $(STAMP)
	$(VENV)/bin/basedpyright --pythonpath $(PY) \
		--typeshedpath "$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" $(TYPE_FILES)

deploy: $(STAMP)
	$(PY) tools/deploy.py $(if $(PORT),--port $(PORT)) $(ARGS)

repl: $(STAMP)
	$(PY) -m mpremote $(if $(PORT),connect $(PORT)) repl

test-board: $(STAMP)
	@test -n "$(PORT)" || { echo "usage: make test-board PORT=/dev/ttyACM0 (see docs/development.md, Tests on a board)"; exit 2; }
	$(PY) tools/run_device_tests.py --board $(PORT) $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
