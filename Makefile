# Every target bootstraps .venv itself: a fresh machine needs only python3 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_PASSWORD ?= demo-password

.PHONY: test lint typecheck imports pytest demo bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

test: lint typecheck imports pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy --strict adcbridge mocks

imports: $(STAMP)
	$(BIN)/lint-imports

pytest: $(STAMP)
	$(BIN)/pytest

demo: $(STAMP)
	@echo "Mock ADC: REST API on http://127.0.0.1:8443, DNS on 127.0.0.1:8053 (user admin, password $(DEMO_PASSWORD))."
	@echo "In another terminal:"
	@echo "  TOKEN=\$$(curl -s -X POST http://127.0.0.1:8443/adc/v3.0/login -d '{\"username\":\"admin\",\"password\":\"$(DEMO_PASSWORD)\"}' | sed 's/.*\"token\": \"\([^\"]*\)\".*/\1/')"
	@echo "  curl -s -X POST http://127.0.0.1:8443/adc/v3.0/dns/domain -H \"x-access-token: \$$TOKEN\" -d '{\"name\":\"www.example.com\",\"type\":\"A\",\"addresses\":[\"192.0.2.10\"]}'"
	@echo "  dig @127.0.0.1 -p 8053 www.example.com A      # dig is in Debian's bind9-dnsutils"
	@echo "  curl -s http://127.0.0.1:8443/_mock/state     # everything the appliance holds"
	@echo "Stop with Ctrl-C."
	$(BIN)/adcbridge-mock-adc --listen 127.0.0.1:8443 --dns-listen 127.0.0.1:8053 --username admin --password $(DEMO_PASSWORD)

bench: $(STAMP)
	$(BIN)/python benchmarks/mock_adc_throughput.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis build *.egg-info
