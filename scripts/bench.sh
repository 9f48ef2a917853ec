#!/usr/bin/env bash
# `make bench`: every benchmark, each printing ratios against its reference tool measured in the same run.
# Needs the oracles in $KILN_CACHE/venv (llama-cpp-python builds llama.cpp on first use, ~7 min) or KILN_PYTHON.
set -uo pipefail
cd "$(dirname "$0")/.."
echo "### requantize vs llama-quantize";   bash scripts/bench-requantize.sh 3
echo; echo "### convert (Kaggle-layout 270M) vs floor and the Python converter"; bash scripts/bench-convert.sh 3
echo; echo "### Orbax read vs zstd CLI and tensorstore"; bash scripts/bench-orbax-read.sh
echo; echo "### float path products: Kiln's AVX2 kernel vs OpenBLAS cblas_sgemm"; bash scripts/bench-float-path.sh
if [ -x scripts/bench-engine.sh ]; then echo; echo "### engine vs llama.cpp"; bash scripts/bench-engine.sh; fi
