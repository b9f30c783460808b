# Every target bootstraps .venv itself: a fresh machine needs only python3 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: test lint typecheck imports pytest bind9 demo bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

test: bind9 lint typecheck imports pytest

# The DNS tests run a real BIND 9 (tests/bind_server.py). Quiet when named is there; otherwise
# install Debian's bind9 (apt-get update only if the first try fails), as root or through sudo.
NAMED := /usr/sbin/named
BIND_PACKAGE := bind9
APT_INSTALL := env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(BIND_PACKAGE)
bind9:
	@if [ -x $(NAMED) ] || command -v named >/dev/null 2>&1; then exit 0; fi; \
	fail() { echo "make: named (BIND 9) is missing and $$1; install the '$(BIND_PACKAGE)' package: the DNS tests need it" >&2; exit 1; }; \
	command -v apt-get >/dev/null 2>&1 || fail "apt-get is not available"; \
	if [ "$$(id -u)" -eq 0 ]; then sudo=; elif command -v sudo >/dev/null 2>&1; then sudo="sudo -n"; \
	else fail "this is not root and sudo is absent"; fi; \
	echo "make: installing $(BIND_PACKAGE) for the DNS tests"; \
	$$sudo $(APT_INSTALL) || { $$sudo apt-get update -q && $$sudo $(APT_INSTALL); } || fail "apt-get could not install it"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy --strict adcbridge mocks

imports: $(STAMP)
	$(BIN)/lint-imports

pytest: $(STAMP) bind9
	$(BIN)/pytest

demo: $(STAMP)
	$(BIN)/python -m mocks.demo

bench: $(STAMP)
	$(BIN)/python benchmarks/mock_adc_throughput.py
	$(BIN)/python benchmarks/engine_sync.py
	$(BIN)/python benchmarks/k8s_sync.py
	$(BIN)/python benchmarks/dns_publish.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis build *.egg-info
