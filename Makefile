# The README's commands call these targets. Each creates .venv and installs what is missing.
PYTHON  ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PYTEST_ARGS ?=
# Extra flags for the demo targets, e.g. make run RUN_ARGS='--prometheus-port 9091'
# (--prometheus PATH or PROMETHEUS=PATH: another Prometheus than 3.5 from .tools/;
# --engine victoriametrics: two Prometheus shards, VictoriaMetrics and vmalert)
RUN_ARGS    ?=
HEALTH_ARGS ?=
CHAOS_ARGS  ?=

.PHONY: help venv promtool engines test check lint typecheck golden rules run health test-e2e-quick chaos-orchestrator bench clean

help:
	@echo "make run    - render rules, start the demo orchestrator, traffic and Prometheus on 127.0.0.1"
	@echo "make test   - ruff, pytest (incl. promtool and end-to-end tests), rules freshness"
	@echo "make check  - the edit loop: ruff, mypy, unit tests without engines or e2e (< 1 min)"
	@echo "make rules  - re-render rules/ from the embedded default spec"
	@echo "make golden - re-render tests/golden/ (every fixture x format x naming)"
	@echo "make engines - fetch Prometheus 3.5/2.53, VictoriaMetrics, Alertmanager into .tools/ (make test does)"
	@echo "make bench  - benchmarks (not part of make test)"

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,demo]'
	touch $(STAMP)

venv: $(STAMP)

# promtool and prometheus come from Debian's prometheus package (2.42).
promtool:
	@command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1 || { \
	  echo "installing Debian's prometheus package (promtool, prometheus)"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends prometheus >/dev/null; }

# The other rule engines (Prometheus 3.5 and 2.53, VictoriaMetrics, Alertmanager 0.33 and 0.25),
# unpacked from Debian packages into .tools/ without installing them; paths in .tools/engines.env.
# Instant when they are in place; `.ci/fetch-engines --refresh` looks for newer packages.
engines: promtool
	@.ci/fetch-engines

lint: venv
	$(BIN)/ruff check .

typecheck: venv
	$(BIN)/mypy

rules: venv
	$(BIN)/slo-gen render -o rules

golden: venv
	$(BIN)/python -m tests.golden_files

# The edit loop: no engine binaries, no processes, no long property runs.
check: lint typecheck
	$(BIN)/python -m pytest -q -m "not e2e and not engine and not slow" $(PYTEST_ARGS)

# pytest exits 5 when it collected nothing; that is not a pass, so it fails here too.
test: venv promtool engines lint
	$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$rc

run: venv promtool engines
	$(BIN)/python -m demo.stack $(RUN_ARGS)

health: venv
	$(BIN)/python -m demo.health $(HEALTH_ARGS)

# Prometheus 3.5 from .tools/ by default; PROMETHEUS=/usr/bin/prometheus runs them on 2.42.
test-e2e-quick: venv promtool engines
	$(BIN)/python -m pytest -m e2e -x -q

chaos-orchestrator: venv
	$(BIN)/python -m demo.chaos --dependency pms --outage $(CHAOS_ARGS)

bench: venv promtool engines
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .hypothesis
