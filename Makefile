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

# The alert tests run promtool (tests/test_monitoring.py), which Debian ships in its prometheus
# package (22.5 MB to download, about 330 MB installed with its web UI's JavaScript libraries).
promtool:
	@if command -v promtool >/dev/null 2>&1; then exit 0; fi; \
	$(call apt_install,prometheus,promtool,the alert rule tests)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy --strict adcbridge mocks

imports: $(STAMP)
	$(BIN)/lint-imports

pytest: $(STAMP) bind9 kubectl promtool
	$(BIN)/pytest

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
