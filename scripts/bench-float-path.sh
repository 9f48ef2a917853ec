#!/usr/bin/env bash
# Float path matrix products: Kiln's AVX2 kernel (ck_sgemm_nt) vs OpenBLAS cblas_sgemm, both through FloatGemm's
# fixed block partition, on Gemma 3 270M and 1B shapes, same run, GFLOP/s at 1 and 2 threads.
# Usage: scripts/bench-float-path.sh [thread counts, default 1,2]
set -euo pipefail
cd "$(dirname "$0")/.."
LOG=$(mktemp)
if ! KILN_BENCH_FLOAT_GEMM="${1:-1,2}" swift test -c release --scratch-path .build-bench-float \
     --filter FloatGemmTests/benchmark > "$LOG" 2>&1; then
  grep -E "error" "$LOG" | head -5; echo "(float path benchmark build or run failed; full log: $LOG)"; exit 1
fi
grep -E "float-gemm" "$LOG" | sed 's/^float-gemm //'
rm -f "$LOG"
