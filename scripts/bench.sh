#!/usr/bin/env bash
# `make bench`: every benchmark, each printing ratios against its reference tool measured in the same run (the one
# figure that is not, the Python converter's, is printed as a recorded anchor). Everything it needs is made from the
# repository: the venv in $KILN_CACHE/venv (llama-cpp-python builds llama.cpp on first use, ~7 min; or KILN_PYTHON),
# the real-model inputs (scripts/prepare-real-model.sh), the Orbax benchmark checkpoint and llama-bench
# (scripts/build-llama-tools.sh, into ~/.cache/kiln-dev when missing). A failing benchmark fails it.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "### requantize vs llama-quantize";   bash scripts/bench-requantize.sh 3
echo; echo "### convert (Kaggle-layout 270M) vs floor (and the Python converter's recorded anchor)"; bash scripts/bench-convert.sh 3
echo; echo "### Orbax read vs zstd CLI and tensorstore"; bash scripts/bench-orbax-read.sh
echo; echo "### float path products: Kiln's AVX2 kernel vs OpenBLAS cblas_sgemm"; bash scripts/bench-float-path.sh
echo; echo "### engine vs llama-bench (pp512 / tg128, 1 and 2 threads), and chat's peak RSS"; bash scripts/bench-engine.sh
echo; echo "### image encoding (full-size random SigLIP mmproj) vs libmtmd"; bash scripts/bench-vision.sh
