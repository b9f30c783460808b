# Every target bootstraps .venv itself: a fresh machine needs only python3 and make. make test also
# installs the Debian packages its tests run (below), so it needs apt-get as root or through sudo -n.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: test lint typecheck imports pytest bind9 kubectl promtool podman image lock demo bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

test: bind9 kubectl promtool podman image lint typecheck imports pytest

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
	$(call apt_install,bind9,named (BIND 9),the DNS tests and make demo ADC=acos)

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
pytest: $(STAMP) bind9 kubectl promtool podman image
	ADCBRIDGE_TEST_IMAGE=$(IMAGE) $(BIN)/pytest $(if $(filter 0,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS) --dist worksteal)

# ---- the container image (Dockerfile; tests/test_image.py runs it as the chart does) ---------------
#
# make image: the wheelhouse, then the two bases, then the image, each behind a stamp in build/image
# (a second run with nothing changed starts no build). Podman when it is installed, else docker
# when `docker info` reaches an engine, else Debian's podman and runc are installed. Podman is
# configured by config/image/containers.conf alone (CONTAINERS_CONF), never by files in /etc.
# IMAGE_BASES=debian (the default here): bases built from Debian's packages with mmdebstrap, as
# no registry of base images is reachable; IMAGE_BASES=official: the Dockerfile's own defaults,
# the pinned official python images (never built on the machines this project is tested on).
# make lock: regenerate the hash locks in config/image/ (pip-tools, in a venv of its own under build/).
IMAGE_VERSION := $(shell sed -n 's/^version = "\(.*\)"$$/\1/p' pyproject.toml)
IMAGE ?= localhost/adcbridge:$(IMAGE_VERSION)
IMAGE_BASES ?= debian
DEBIAN_MIRROR ?= http://deb.debian.org/debian
DEBIAN_SUITE ?= bookworm
BUILD_PACKAGES := python3,python3-venv,dash,coreutils,findutils
RUNTIME_PACKAGES := python3-minimal,libpython3.11-stdlib
IMAGE_KEY := $(IMAGE_BASES) $(DEBIAN_SUITE) $(DEBIAN_MIRROR) $(BUILD_PACKAGES) $(RUNTIME_PACKAGES)
BUILD_BASE := localhost/adcbridge-base:build-$(DEBIAN_SUITE)
RUNTIME_BASE := localhost/adcbridge-base:runtime-$(DEBIAN_SUITE)
# The Dockerfile's default, named in full: podman resolves no short names without registries.conf.
OFFICIAL_BASE := docker.io/library/$(shell sed -n 's/^ARG RUNTIME_IMAGE=//p' Dockerfile)
IMAGE_WORK := build/image
WHEELHOUSE := build/wheelhouse
LOCKS := config/image/requirements.txt config/image/build-requirements.txt
IMAGE_INPUTS := Dockerfile .dockerignore pyproject.toml README.md config/image/prune_distribution.py $(LOCKS) \
	$(shell find adcbridge mocks -type f -not -path '*/__pycache__/*' -not -name '*.py[co]' 2>/dev/null)
PODMAN := env CONTAINERS_CONF=$(CURDIR)/config/image/containers.conf podman

# The engine's command, decided in the shell of each recipe that needs it.
define engine
if command -v podman >/dev/null 2>&1; then engine="$(PODMAN)"; \
elif docker info >/dev/null 2>&1; then engine=docker; \
else $(call apt_install,podman runc,podman,the container image); engine="$(PODMAN)"; fi
endef

# The image's test runs podman, whatever built the image: make test installs it (with runc)
# before it makes the image, which is then built by podman too.
podman:
	@if command -v podman >/dev/null 2>&1 && command -v runc >/dev/null 2>&1; then exit 0; fi; \
	$(call apt_install,podman runc,podman (with runc),the container image and its test)

# The stamps of the bases and of the image hold a key line (what the bases are made of: IMAGE_KEY)
# and the image IDs: when the key changed (IMAGE_BASES=official, another suite, mirror or package
# list) or the engine's storage lost an image (podman system reset, say), the stamp goes and the
# image is built again.
image:
	@$(engine); check() { \
		[ -f "$$1" ] || return 0; \
		[ "$$(head -n 1 "$$1")" = "key $$2" ] || { rm -f "$$1"; return 0; }; \
		tail -n +2 "$$1" | while read -r name id; do \
			[ "$$($$engine image inspect --format '{{.Id}}' "$$name" 2>/dev/null)" = "$$id" ] || rm -f "$$1"; \
		done; \
	}; \
	check $(IMAGE_WORK)/bases.stamp "$(IMAGE_KEY)"; check $(IMAGE_WORK)/image.stamp "$(IMAGE_KEY) $(IMAGE)"
	@$(MAKE) --no-print-directory $(IMAGE_WORK)/image.stamp

# The wheels for the image's Python (Debian bookworm's CPython 3.11, glibc 2.36), whatever Python
# runs pip here: pip takes the platforms it is given literally, so every manylinux tag glibc 2.36
# runs is named (the legacy manylinux1/2010/2014 names included).
ARCH := $(shell uname -m)
WHEEL_TARGET := --implementation cp --python-version 3.11 --abi cp311 --abi abi3 --abi none \
	$(foreach tag,manylinux1 manylinux2010 manylinux2014 $(foreach minor,$(shell seq 5 36),manylinux_2_$(minor)),--platform $(tag)_$(ARCH))
$(WHEELHOUSE)/.stamp: $(LOCKS) | $(STAMP)
	rm -rf $(WHEELHOUSE) && mkdir -p $(WHEELHOUSE)
	$(BIN)/python -m pip download --quiet --disable-pip-version-check --require-hashes --no-deps \
		--only-binary=:all: $(WHEEL_TARGET) --dest $(WHEELHOUSE) $(addprefix -r ,$(LOCKS))
	touch $@

# One mmdebstrap run per base, both from the same mirror and suite (not a snapshot: snapshot.debian.org
# is not reachable here; tests/test_image.py checks both carry the same Python), unpacked (extract: no
# maintainer scripts, nothing runs them in these images) and without documentation.
MMDEBSTRAP = mmdebstrap --quiet --mode=root --variant=extract --format=tar \
	--customize-hook='rm -rf "$$1"/usr/share/doc "$$1"/usr/share/man "$$1"/usr/share/info "$$1"/usr/share/locale'
BASE_CHANGES := --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

$(IMAGE_WORK)/bases.stamp:
	@mkdir -p $(IMAGE_WORK); rm -f $@ $@.tmp; echo "key $(IMAGE_KEY)" > $@.tmp
	@if [ "$(IMAGE_BASES)" = debian ]; then \
		command -v mmdebstrap >/dev/null 2>&1 || { $(call apt_install,mmdebstrap,mmdebstrap,the image's Debian bases); }; \
	fi
	@$(engine); set -e; if [ "$(IMAGE_BASES)" = debian ]; then \
		echo "make: the bases from $(DEBIAN_MIRROR) $(DEBIAN_SUITE)"; \
		$(MMDEBSTRAP) --include=$(BUILD_PACKAGES) \
			$(DEBIAN_SUITE) $(IMAGE_WORK)/build-base.tar $(DEBIAN_MIRROR); \
		$(MMDEBSTRAP) --include=$(RUNTIME_PACKAGES) \
			$(DEBIAN_SUITE) $(IMAGE_WORK)/runtime-base.tar $(DEBIAN_MIRROR); \
		$$engine import $(BASE_CHANGES) $(IMAGE_WORK)/build-base.tar $(BUILD_BASE) >/dev/null; \
		$$engine import $(BASE_CHANGES) $(IMAGE_WORK)/runtime-base.tar $(RUNTIME_BASE) >/dev/null; \
		rm -f $(IMAGE_WORK)/build-base.tar $(IMAGE_WORK)/runtime-base.tar; \
		for name in $(BUILD_BASE) $(RUNTIME_BASE); do \
			echo "$$name $$($$engine image inspect --format '{{.Id}}' $$name)" >> $@.tmp; \
		done; \
	fi; \
	mv $@.tmp $@

$(IMAGE_WORK)/image.stamp: $(IMAGE_INPUTS) $(WHEELHOUSE)/.stamp $(IMAGE_WORK)/bases.stamp
	@$(engine); set -e; rm -f $@ $@.tmp; \
	if [ "$(IMAGE_BASES)" = debian ]; then \
		bases="--build-arg BUILD_IMAGE=$(BUILD_BASE) --build-arg RUNTIME_IMAGE=$(RUNTIME_BASE)"; \
	else bases="--build-arg BUILD_IMAGE=$(OFFICIAL_BASE) --build-arg RUNTIME_IMAGE=$(OFFICIAL_BASE)"; fi; \
	revision="$$(git rev-parse HEAD 2>/dev/null || true)"; \
	echo "make: building $(IMAGE) with $${engine##* }"; \
	$$engine build --network=none --build-context wheelhouse=$(CURDIR)/$(WHEELHOUSE) $$bases \
		--build-arg VERSION=$(IMAGE_VERSION) --build-arg REVISION="$$revision" --tag $(IMAGE) .; \
	echo "key $(IMAGE_KEY) $(IMAGE)" > $@.tmp; \
	echo "$(IMAGE) $$($$engine image inspect --format '{{.Id}}' $(IMAGE))" >> $@.tmp; \
	mv $@.tmp $@; \
	$$engine image inspect --format 'make: $(IMAGE) is {{.Size}} bytes' $(IMAGE)

lock:
	test -x build/lock/bin/pip-compile || { $(PYTHON) -m venv build/lock && build/lock/bin/pip install --quiet 'pip-tools==7.6.2'; }
	CUSTOM_COMPILE_COMMAND="make lock" build/lock/bin/pip-compile --quiet --generate-hashes --allow-unsafe \
		--strip-extras --no-emit-index-url --no-emit-find-links --output-file config/image/requirements.txt pyproject.toml
	CUSTOM_COMPILE_COMMAND="make lock" build/lock/bin/pip-compile --quiet --generate-hashes --allow-unsafe \
		--strip-extras --no-emit-index-url --no-emit-find-links --output-file config/image/build-requirements.txt \
		config/image/build-requirements.in

# make demo ADC=bigip: the BIG-IP emulator instead of the mock ADC (mocks/demo.py); make demo ADC=acos:
# the A10 Thunder emulator, with the names sent to a local BIND 9 by RFC 2136 (installed as make test does).
demo: $(STAMP) $(if $(filter acos,$(ADC)),bind9)
	$(BIN)/python -m mocks.demo$(if $(ADC), --adc $(ADC))

bench: $(STAMP)
	$(BIN)/python benchmarks/mock_adc_throughput.py
	$(BIN)/python benchmarks/engine_sync.py
	$(BIN)/python benchmarks/bigip_sync.py
	$(BIN)/python benchmarks/acos_sync.py
	$(BIN)/python benchmarks/k8s_sync.py
	$(BIN)/python benchmarks/dns_publish.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis build *.egg-info
