# Every target bootstraps .venv itself: a fresh machine needs only python3 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: test lint typecheck imports pytest bind9 kubectl promtool demo bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

test: bind9 kubectl promtool lint typecheck imports pytest

# Tools the tests run, installed when missing from Debian's packages (apt-get update only if the
# first try fails), as root or through sudo: $(call apt_install,PACKAGE,TOOL,THE TESTS THAT NEED IT).
define apt_install
fail() { echo "make: $(2) is missing and $$1; install the '$(1)' package: $(3) need it" >&2; exit 1; }; \
command -v apt-get >/dev/null 2>&1 || fail "apt-get is not available"; \
if [ "$$(id -u)" -eq 0 ]; then sudo=; elif command -v sudo >/dev/null 2>&1; then sudo="sudo -n"; \
else fail "this is not root and sudo is absent"; fi; \
echo "make: installing $(1) for $(3)"; \
install="env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(1)"; \
$$sudo $$install || { $$sudo apt-get update -q && $$sudo $$install; } || fail "apt-get could not install it"
endef

# The DNS tests run a real BIND 9 (tests/bind_server.py).
NAMED := /usr/sbin/named
bind9:
	@if [ -x $(NAMED) ] || command -v named >/dev/null 2>&1; then exit 0; fi; \
	$(call apt_install,bind9,named (BIND 9),the DNS tests)

# The kubectl tests run kubectl against the fake API server (tests/kubectl.py): the one
# ADCBRIDGE_TEST_KUBECTL names, else the one on PATH, else Debian's (kubectl 1.20).
kubectl:
	@if [ -n "$$ADCBRIDGE_TEST_KUBECTL" ] || command -v kubectl >/dev/null 2>&1; then exit 0; fi; \
	$(call apt_install,kubernetes-client,kubectl,the kubectl tests)

# The alert tests run promtool (tests/test_monitoring.py) from $(PROMTOOL): one found on PATH, or
# the one binary taken out of Debian's prometheus package (downloaded, not installed: installing it
# would pull about 330 MB of web UI libraries and enable a Prometheus service on port 9090).
PROMTOOL := $(VENV)/bin/promtool
promtool: $(PROMTOOL)
$(PROMTOOL): | $(STAMP)
	@if command -v promtool >/dev/null 2>&1; then ln -sf "$$(command -v promtool)" $@; exit 0; fi; \
	command -v apt-get >/dev/null 2>&1 || { echo "make: promtool is missing and apt-get is not available: the alert rule tests need it" >&2; exit 1; }; \
	work=$$(mktemp -d); trap 'rm -rf "$$work"' EXIT; cd "$$work" && \
	{ apt-get download -qq prometheus 2>/dev/null || { $(if $(filter 0,$(shell id -u)),,sudo -n) apt-get update -qq && apt-get download -qq prometheus; }; } && \
	dpkg-deb -x prometheus_*.deb root && install -m 0755 root/usr/bin/promtool $(abspath $(PROMTOOL)) && \
	echo "make: promtool taken from Debian's prometheus package into $(PROMTOOL)"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy --strict adcbridge mocks

imports: $(STAMP)
	$(BIN)/lint-imports

# Two workers (pytest-xdist): most of the suite's time is spent waiting on real processes, timers
# and sockets, so a second worker on the same two cores shortens it; PYTEST_WORKERS=0 runs it in one.
PYTEST_WORKERS ?= 2
pytest: $(STAMP) bind9 kubectl promtool
	$(BIN)/pytest $(if $(filter 0,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS) --dist worksteal)

# make demo ADC=bigip: the BIG-IP emulator instead of the mock ADC (mocks/demo.py).
demo: $(STAMP)
	$(BIN)/python -m mocks.demo$(if $(ADC), --adc $(ADC))

bench: $(STAMP)
	$(BIN)/python benchmarks/mock_adc_throughput.py
	$(BIN)/python benchmarks/engine_sync.py
	$(BIN)/python benchmarks/bigip_sync.py
	$(BIN)/python benchmarks/k8s_sync.py
	$(BIN)/python benchmarks/dns_publish.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis build *.egg-info
