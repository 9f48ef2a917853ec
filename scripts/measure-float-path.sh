#!/usr/bin/env bash
# Peak memory and time of the streamed float path (StreamedFloatModel over ~1,500 tokens: every layer, then logits in
# blocks of 64 positions) on a checkpoint, e.g. the 1B-shaped one from scripts/make_1b_shape_checkpoint.py.
# Usage: scripts/measure-float-path.sh CHECKPOINT [threads]
set -euo pipefail
cd "$(dirname "$0")/.."
ckpt=${1:?usage: scripts/measure-float-path.sh CHECKPOINT [threads]}
scratch=.build-bench-float
# Build (the test returns at once without KILN_MEASURE_FLOAT_PATH), then run the test bundle alone under time -v so
# the peak RSS is the measured process's, not the build's.
swift test -c release --scratch-path "$scratch" --filter FloatPathMeasureTests >&2
xctest="$scratch/release/KilnPackageTests.xctest"
LOG=$(mktemp)
KILN_MEASURE_FLOAT_PATH="$ckpt" KILN_MEASURE_THREADS="${2:-2}" /usr/bin/time -v "$xctest" --testing-library swift-testing \
  --filter FloatPathMeasureTests > "$LOG" 2>&1 || { cat "$LOG"; exit 1; }
grep -E "float-path-measure" "$LOG"
grep -E "Maximum resident set size|Elapsed \(wall clock\)" "$LOG"
rm -f "$LOG"
