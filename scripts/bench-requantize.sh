#!/usr/bin/env bash
# Requantization speed: Kiln's `convert --type T` against llama-quantize (llama_cpp.llama_model_quantize) on the same
# F32 source of the real Gemma 3 270M, same thread count, alternating runs; prints each median and the ratio
# (ours / llama-quantize; below 1.0 means Kiln is faster). Usage: scripts/bench-requantize.sh [runs] [threads]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
threads=${2:-$(nproc)}
cache="${KILN_CACHE:-$HOME/.cache/kiln}"
py="${KILN_PYTHON:-$cache/venv/bin/python}"
[ -x "$py" ] || { bash scripts/python-env.sh llama-cpp-python==0.3.36; py="$cache/venv/bin/python"; }
"$py" -c "import llama_cpp" 2>/dev/null || { echo "installing llama-cpp-python (builds llama.cpp, ~7 min)"; bash scripts/python-env.sh llama-cpp-python==0.3.36; }
bin=.build/release/convert
gguf=$(bash scripts/fetch-gemma270m.sh)
work=$(mktemp -d "$cache/bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
src="$work/270m-F32.gguf"
$bin "$gguf" -o "$src" --type F32 --allow-requantize 2>/dev/null

cat > "$work/llama_quantize.py" <<'PY'
import ctypes, sys, time, llama_cpp
src, dst, t, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
p = llama_cpp.llama_model_quantize_default_params()
p.nthread = n
p.ftype = {"Q8_0": 7, "Q4_0": 2, "Q4_K_M": 15}[t]
t0 = time.perf_counter()
assert llama_cpp.llama_model_quantize(src.encode(), dst.encode(), ctypes.byref(p)) == 0
print(time.perf_counter() - t0)
PY
now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
echo "source: $src (F32, $(du -h "$src" | cut -f1)), threads=$threads, runs=$runs"
printf '%-8s %12s %16s %8s\n' type "kiln (s)" "llama-quant (s)" ratio
for t in Q8_0 Q4_0 Q4_K_M; do
  ours=() theirs=()
  for i in $(seq "$runs"); do
    a=$(now); $bin "$src" -o "$work/ours.gguf" --type "$t" --threads "$threads" 2>/dev/null; b=$(now)
    ours+=("$(echo "$b - $a" | bc -l)")
    theirs+=("$("$py" "$work/llama_quantize.py" "$src" "$work/theirs.gguf" "$t" "$threads" 2>/dev/null | tail -n 1)")
  done
  same=$(cmp -s "$work/ours.gguf" "$work/theirs.gguf" && echo identical || echo DIFFERENT)
  mo=$(printf '%s\n' "${ours[@]}" | median); mt=$(printf '%s\n' "${theirs[@]}" | median)
  printf '%-8s %12.3f %16.3f %8.2f   (%s bytes)\n' "$t" "$mo" "$mt" "$(echo "$mo / $mt" | bc -l)" "$same"
done
