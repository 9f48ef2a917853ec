#!/usr/bin/env bash
# Peak memory and time of the streamed float path (StreamedFloatModel over ~1,500 tokens: every layer, then logits in
# blocks of 64 positions) on a checkpoint, e.g. the 1B-shaped one from scripts/make_1b_shape_checkpoint.py.
# Usage: scripts/measure-float-path.sh CHECKPOINT [threads]
set -euo pipefail
cd "$(dirname "$0")/.."
ckpt=${1:?usage: scripts/measure-float-path.sh CHECKPOINT [threads]}
scratch=.build-bench-float
swift build -c release --build-tests --scratch-path "$scratch" >&2
xctest=$(find "$scratch/release" -maxdepth 1 -name 'KilnPackageTests.xctest' | head -1)
LOG=$(mktemp)
KILN_MEASURE_FLOAT_PATH="$ckpt" KILN_MEASURE_THREADS="${2:-2}" /usr/bin/time -v "$xctest" --testing-library swift-testing \
  --filter FloatPathMeasureTests > "$LOG" 2>&1 || { cat "$LOG"; exit 1; }
grep -E "float-path-measure" "$LOG"
grep -E "Maximum resident set size|Elapsed \(wall clock\)" "$LOG"
rm -f "$LOG"
