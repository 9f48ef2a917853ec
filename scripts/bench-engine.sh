#!/usr/bin/env bash
# Engine speed against llama.cpp, measured as llama-bench measures it, same run, alternating; then peak RSS.
#
# Speed: for each model and thread count, RUNS alternating pairs of
#   .build/release/engine-bench MODEL -p 512 -n 128 --threads T -r 1 --json   (llama-bench's tests on Kiln's engine)
#   llama-bench -m MODEL -p 512 -n 128 -t T -r 1 -o json                      (llama.cpp's own tool, its defaults)
# each with its one warm-up; the table shows the medians of the per-run tokens/s and their ratios (kiln / llama.cpp:
# above 1.0 Kiln is faster). pp512 evaluates 512 token ids (BOS, then random) from an empty cache; tg128 evaluates 128
# single tokens from an empty cache. llama-bench is the one scripts/build-llama-tools.sh builds from the llama.cpp tree
# the llama-cpp-python 0.3.36 sdist vendors (built into the dev cache when missing; that may download the sdist from
# PyPI and compile for a few minutes).
#
# Peak RSS: `/usr/bin/time -f %M` (max resident set, KB) of one process each, at context 640 with the same work:
#   chat MODEL --raw -p "<' the' x 511: 512 tokens with BOS>" -n 128 --ignore-eos --temp 0 --ctx 640 --threads T
#   llama-bench -m MODEL -p 0 -n 0 -pg 512,128 -r 1 -t T
# (llama-bench's pg test: a 512-token prompt then 128 generated tokens in one context of 512 + 128 = 640; its plain
# -p 512 -n 128 would make two contexts, of 512 and of 128). Both map the GGUF, so touched weight pages count in both.
#
# Models (BENCH_MODELS, default "q4km q4_0 q8_0 f16"):
#   q4km  the real Gemma 3 270M Q4_K_M (scripts/fetch-gemma270m.sh)
#   q4_0  Kiln's lossless Q4_0 conversion of the Kaggle-layout 270M checkpoint (scripts/prepare-real-model.sh makes it):
#         `convert KAGGLE270M -o x.gguf`; q8_0 and f16: the same with --type q8_0 / --type f16. Made once per convert
#         binary and checkpoint into $KILN_CACHE/bench-engine-<key>/.
# Environment: RUNS (default 3), THREADS (default "1 2"), LLAMA_BENCH (a llama-bench binary to use instead),
# KILN_KAGGLE270M (the checkpoint to convert; default: scripts/prepare-real-model.sh's), BENCH_PREPARE_ONLY=1 (make
# the inputs, print "NAME PATH" per model and stop).
# Quick check: BENCH_MODELS=q4km RUNS=1 scripts/bench-engine.sh. Any failing step fails the script.
set -euo pipefail
self="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
cd "$(dirname "$0")/.."
RUNS="${RUNS:-3}"
THREADS="${THREADS:-1 2}"
BENCH_MODELS="${BENCH_MODELS:-q4km q4_0 q8_0 f16}"
NP=512 NG=128
bin=.build/release   # `make bench` builds it
cache="${KILN_CACHE:-$HOME/.cache/kiln}"
for p in chat convert engine-bench; do
  [ -x "$bin/$p" ] || swift build -c release --product "$p" >&2
done

llama_bench="${LLAMA_BENCH:-${KILN_DEV_CACHE:-$HOME/.cache/kiln-dev}/llama-tools/bin/llama-bench}"
if [ ! -x "$llama_bench" ]; then
  echo "building llama-bench (scripts/build-llama-tools.sh)" >&2
  llama_bench="$(bash scripts/build-llama-tools.sh)/llama-bench"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The models, by name: their files (made when missing) and table labels.
convert_args() {  # NAME -> convert's type options (part of the cache key)
  case "$1" in q4_0) ;; q8_0) echo "--type q8_0" ;; f16) echo "--type f16" ;; esac
}
declare -A path
for m in $BENCH_MODELS; do
  case "$m" in
    q4km) path[$m]=$(bash scripts/fetch-gemma270m.sh); echo "$m 270M Q4_K_M (PyPI file)" >>"$work/labels" ;;
    q4_0|q8_0|f16)
      if [ -z "${KILN_KAGGLE270M:-}" ]; then env_out=$(bash scripts/prepare-real-model.sh); eval "$env_out"; fi
      key=$(cat "$bin/convert" <(echo "$KILN_KAGGLE270M") <(sed -n '/^convert_args()/,/^}/p' "$self") | sha256sum | cut -c1-16)
      dir="$cache/bench-engine-$key"
      path[$m]="$dir/gemma-3-270m-kaggle-$m.gguf"
      echo "$m 270M $(echo "$m" | tr a-z A-Z) (Kiln, from Kaggle)" >>"$work/labels"
      if [ ! -f "${path[$m]}" ]; then
        mkdir -p "$dir"
        echo "converting $KILN_KAGGLE270M -> ${path[$m]}" >&2
        # shellcheck disable=SC2046 # the options are words
        "$bin/convert" "$KILN_KAGGLE270M" -o "${path[$m]}" $(convert_args "$m") >"$work/convert.log" 2>&1 \
          || { cat "$work/convert.log" >&2; exit 1; }
      fi
      touch "$dir"
      ;;
    *) echo "bench-engine: unknown model '$m' (q4km, q4_0, q8_0, f16)" >&2; exit 1 ;;
  esac
done
# Conversions of other keys (older convert binaries, ~1 GB each) go: all but the most recent other one, and that one
# once unused for a week (as prepare-real-model.sh prunes its entries).
mapfile -t others < <(ls -1dt "$cache"/bench-engine-* 2>/dev/null | grep -vx "${dir:-/nonexistent}" || true)
for i in "${!others[@]}"; do
  if [ "$i" -gt 0 ] || [ -n "$(find "${others[$i]}" -maxdepth 0 -mtime +7 2>/dev/null)" ]; then rm -rf "${others[$i]}"; fi
done
if [ -n "${BENCH_PREPARE_ONLY:-}" ]; then
  for m in $BENCH_MODELS; do echo "$m ${path[$m]}"; done
  exit 0
fi
run() {  # OUT-FILE COMMAND...: stdout to OUT-FILE; on failure show stderr and fail
  local out=$1; shift
  "$@" >"$out" 2>"$work/err" || { echo "bench-engine: failed: $*" >&2; tail -20 "$work/err" >&2; exit 1; }
}
rates() {  # JSON-FILE -> "pp_tps tg_tps" (llama-bench's -o json fields, which engine-bench writes too)
  python3 - "$1" <<'PY'
import json, sys
r = {("pp" if t["n_prompt"] else "tg"): t["avg_ts"] for t in json.load(open(sys.argv[1]))}
print(f'{r["pp"]:.2f} {r["tg"]:.2f}')
PY
}

echo "llama-bench: $llama_bench; -p $NP -n $NG; $RUNS alternating runs of each tool per row (-r 1, one warm-up each), medians"
for m in $BENCH_MODELS; do
  for t in $THREADS; do
    for i in $(seq "$RUNS"); do
      run "$work/k.json" "$bin/engine-bench" "${path[$m]}" -p $NP -n $NG --threads "$t" -r 1 --json
      run "$work/l.json" "$llama_bench" -m "${path[$m]}" -p $NP -n $NG -t "$t" -r 1 -o json
      read -r kp kg < <(rates "$work/k.json"); read -r lp lg < <(rates "$work/l.json")
      echo "  $m threads=$t run $i: kiln pp$NP $kp tg$NG $kg | llama.cpp pp$NP $lp tg$NG $lg tok/s"
      echo "$m $t $kp $kg $lp $lg" >>"$work/rows"
    done
  done
done

# Peak RSS at context NP + NG, threads = the last of THREADS.
prompt=$(python3 -c "print(' the' * ($NP - 1), end='')")
t_rss=${THREADS##* }
python3 -c 'import json, sys; print(json.dumps([sys.argv[1]]))' "$prompt" >"$work/prompt.json"
for m in $BENCH_MODELS; do
  run "$work/ids" "$bin/chat" "${path[$m]}" --tokenize <"$work/prompt.json"
  n=$(python3 -c "import json, sys; print(len(json.load(open(sys.argv[1]))[0]))" "$work/ids")
  [ "$n" = "$NP" ] || { echo "bench-engine: the RSS prompt is $n tokens with BOS in ${path[$m]}, not $NP" >&2; exit 1; }
  run "$work/chat.out" /usr/bin/time -f %M -o "$work/k.rss" "$bin/chat" "${path[$m]}" --raw -p "$prompt" -n $NG --ignore-eos \
    --temp 0 --ctx $((NP + NG)) --threads "$t_rss"
  run "$work/l.out" /usr/bin/time -f %M -o "$work/l.rss" "$llama_bench" -m "${path[$m]}" -p 0 -n 0 -pg $NP,$NG -r 1 -t "$t_rss"
  echo "$m $(tail -n 1 "$work/k.rss") $(tail -n 1 "$work/l.rss")" >>"$work/rss"
done

python3 - "$work/rows" "$work/rss" "$work/labels" "$NP" "$NG" "$t_rss" <<'PY'
import statistics, sys
rows, rss, labels, np_, ng, t_rss = sys.argv[1:]
label = dict(line.rstrip("\n").split(" ", 1) for line in open(labels))
runs = {}
for line in open(rows):
    m, t, *v = line.split()
    runs.setdefault((m, t), []).append([float(x) for x in v])
print()
print(f"| model | threads | kiln pp{np_} | llama.cpp pp{np_} | ratio | kiln tg{ng} | llama.cpp tg{ng} | ratio |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for (m, t), v in runs.items():
    kp, kg, lp, lg = (statistics.median(c) for c in zip(*v))
    print(f"| {label[m]} | {t} | {kp:.1f} | {lp:.1f} | {kp / lp:.2f}x | {kg:.1f} | {lg:.1f} | {kg / lg:.2f}x |")
print()
print(f"Peak RSS at context {int(np_) + int(ng)} ({np_}-token prompt, {ng} generated, {t_rss} threads): "
      f"chat --ctx {int(np_) + int(ng)} --ignore-eos vs llama-bench -pg {np_},{ng}")
print("| model | kiln chat MB | llama.cpp MB | ratio |")
print("| --- | ---: | ---: | ---: |")
for line in open(rss):
    m, k, l = line.split()
    print(f"| {label[m]} | {int(k) / 1024:.0f} | {int(l) / 1024:.0f} | {int(k) / int(l):.2f}x |")
PY
