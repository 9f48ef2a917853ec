#!/usr/bin/env bash
# Prompt-processing and decode throughput of Kiln's engine (`chat`) against llama.cpp (llama-cpp-python) on the same
# GGUF, with 1 and 2 threads, alternating runs; also peak RSS of `chat`.
# Usage: scripts/bench-engine.sh [MODEL.gguf] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL="${1:-$(bash scripts/fetch-gemma270m.sh)}"
RUNS="${2:-3}"
NGEN=64
PROMPT="The history of the printing press begins in the fifteenth century, when Johannes Gutenberg combined movable metal type, oil-based inks and a wooden press adapted from those used to make wine. Within fifty years, presses had spread to more than two hundred cities across Europe, and"
CHAT=.build/release/chat   # `make bench` builds it
[ -x "$CHAT" ] || swift build -c release --product chat >/dev/null
cache="${KILN_CACHE:-$HOME/.cache/kiln}"
PY="${KILN_PYTHON:-$cache/venv/bin/python}"
"$PY" -c "import llama_cpp" 2>/dev/null || { echo "installing llama-cpp-python (builds llama.cpp, ~7 min)"; bash scripts/python-env.sh llama-cpp-python==0.3.36; PY="$cache/venv/bin/python"; }

ours() {  # threads -> "prompt_tps decode_tps rss_mb"
  local out
  out=$( { /usr/bin/time -f "RSS %M" "$CHAT" "$MODEL" --raw -p "$PROMPT" --temp 0 -n $NGEN --threads "$1" --ctx 512 >/dev/null; } 2>&1 )
  local p d r
  p=$(sed -n 's/^prompt \([0-9.]*\) tok\/s, decode \([0-9.]*\) tok\/s$/\1/p' <<<"$out")
  d=$(sed -n 's/^prompt \([0-9.]*\) tok\/s, decode \([0-9.]*\) tok\/s$/\2/p' <<<"$out")
  r=$(sed -n 's/^RSS \([0-9]*\)$/\1/p' <<<"$out")
  echo "$p $d $((r / 1024))"
}

theirs() {  # threads -> "prompt_tps decode_tps"
  "$PY" - "$MODEL" "$1" "$PROMPT" $NGEN <<'PY' 2>/dev/null
import sys, time
from llama_cpp import Llama
model, threads, prompt, ngen = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
llm = Llama(model_path=model, n_ctx=512, n_batch=512, n_threads=threads, n_threads_batch=threads, flash_attn=False, verbose=False)
ids = llm.tokenize(prompt.encode(), add_bos=True, special=True)
llm.eval(ids[:4]); llm.reset()                       # warm up
t0 = time.perf_counter(); llm.eval(ids); tp = time.perf_counter() - t0
import numpy as np
tok = int(np.argmax(llm.scores[llm.n_tokens - 1])); t1 = time.perf_counter()
for _ in range(ngen):
    llm.eval([tok]); tok = int(np.argmax(llm.scores[llm.n_tokens - 1]))
td = time.perf_counter() - t1
print(f"{len(ids)/tp:.1f} {ngen/td:.1f}")
PY
}

echo "model: $MODEL ($(stat -c %s "$MODEL") bytes); prompt $(echo "$PROMPT" | wc -w) words, $NGEN decoded tokens; $RUNS alternating runs, best shown"
for t in 1 2; do
  bo_p=0; bo_d=0; bt_p=0; bt_d=0; rss=0
  for i in $(seq "$RUNS"); do
    read -r p d r < <(ours "$t"); read -r tp td < <(theirs "$t")
    echo "  threads=$t run $i: kiln prompt $p decode $d tok/s (RSS ${r} MB) | llama.cpp prompt $tp decode $td tok/s"
    bo_p=$(python3 -c "print(max($bo_p,$p))"); bo_d=$(python3 -c "print(max($bo_d,$d))")
    bt_p=$(python3 -c "print(max($bt_p,$tp))"); bt_d=$(python3 -c "print(max($bt_d,$td))"); rss=$r
  done
  python3 -c "print(f'threads=$t best: kiln prompt $bo_p / decode $bo_d tok/s; llama.cpp prompt $bt_p / decode $bt_d tok/s; ratio prompt {$bo_p/$bt_p:.2f}x, decode {$bo_d/$bt_d:.2f}x; kiln RSS $rss MB')"
done
