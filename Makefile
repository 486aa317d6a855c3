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
# prometheus-client at both ends of pyproject's pin (tests/test_client_pin.py keeps the three in
# step). The request recorder reads the client's private value layout (exporter/fastpath.py),
# so `make client-compat` runs the exporter tests on each end.
CLIENT_OLDEST := 0.20.0
CLIENT_NEWEST := 0.26.0
COMPAT        := .venv-compat

.PHONY: help venv promtool engines browser test check lint typecheck client-compat golden rules run health \
        test-e2e-quick chaos-orchestrator bench clean

help:
	@echo "make run    - render rules, start the demo orchestrator, traffic, Prometheus and Alertmanager on 127.0.0.1"
	@echo "make test   - ruff, exporter tests on the oldest and newest prometheus-client, pytest"
	@echo "              (incl. promtool and end-to-end tests), rules freshness"
	@echo "make check  - the edit loop: ruff, mypy, unit tests without engines or e2e (< 1 min)"
	@echo "make client-compat - the exporter tests on prometheus-client $(CLIENT_OLDEST) and $(CLIENT_NEWEST)"
	@echo "make rules  - re-render rules/ from the embedded default spec"
	@echo "make golden - re-render tests/golden/ (every fixture x format x naming)"
	@echo "make engines - fetch Prometheus 3.5/2.53, VictoriaMetrics, Alertmanager into .tools/ (make test does)"
	@echo "make bench  - benchmarks (not part of make test)"

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,demo,serve]'
	touch $(STAMP)

venv: $(STAMP)

# promtool and prometheus come from Debian's prometheus package (2.42).
promtool:
	@command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1 || { \
	  echo "installing Debian's prometheus package (promtool, prometheus)"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends prometheus >/dev/null; }

# Headless Chromium for the status page's browser tests: Debian's chromium package, installed
# system-wide like prometheus when missing. Where it cannot be installed (no root, no apt) the
# browser tests skip and say so.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium package (headless browser tests)"; \
	  { $(SUDO) apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium >/dev/null; } || \
	  echo "warning: chromium could not be installed; the browser tests will skip" >&2; }

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
	$(BIN)/slo-gen alertmanager -o rules/alertmanager.yml

golden: venv
	$(BIN)/python -m tests.golden_files

# The edit loop: no engine binaries, no processes, no long property runs.
check: lint typecheck
	$(BIN)/python -m pytest -q -m "not e2e and not engine and not slow" $(PYTEST_ARGS)

# One `pip install --target` per client version, of prometheus-client alone (everything else
# comes from .venv), put first on PYTHONPATH: a version costs one small download, once.
$(COMPAT)/%/.installed: | venv
	rm -rf $(COMPAT)/$*
	$(BIN)/python -m pip install --quiet --no-deps --target $(COMPAT)/$* 'prometheus-client==$*'
	touch $@

client-compat: venv $(COMPAT)/$(CLIENT_OLDEST)/.installed $(COMPAT)/$(CLIENT_NEWEST)/.installed
	@set -e; for v in $(CLIENT_OLDEST) $(CLIENT_NEWEST); do \
	  echo "== tests/exporter on prometheus-client $$v"; \
	  PYTHONPATH=$(CURDIR)/$(COMPAT)/$$v $(BIN)/python -c "import sys, importlib.metadata as m, \
	    prometheus_client as p; ok = m.version('prometheus-client') == '$$v' and \
	    '/$(COMPAT)/$$v/' in p.__file__; sys.exit(0 if ok else 'not the client under test: ' + p.__file__)"; \
	  PYTHONPATH=$(CURDIR)/$(COMPAT)/$$v $(BIN)/python -m pytest tests/exporter -q -p no:cacheprovider; \
	done

# pytest exits 5 when it collected nothing; that is not a pass, so it fails here too.
test: venv promtool engines browser lint typecheck client-compat
	$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$rc

run: venv promtool engines
	$(BIN)/python -m demo.stack $(RUN_ARGS)

health: venv
	$(BIN)/python -m demo.health $(HEALTH_ARGS)

# Prometheus 3.5 from .tools/ by default; PROMETHEUS=/usr/bin/prometheus runs them on 2.42.
test-e2e-quick: venv promtool engines browser
	$(BIN)/python -m pytest -m e2e -x -q

chaos-orchestrator: venv
	$(BIN)/python -m demo.chaos --dependency pms --outage $(CHAOS_ARGS)

bench: venv promtool engines
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) $(COMPAT) var .pytest_cache .ruff_cache .hypothesis
