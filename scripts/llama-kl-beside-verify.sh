#!/usr/bin/env bash
# llama.cpp's own KL figure beside `verify`'s runtime row: the same tokens, scored against the same source logits.
#
# 1. `verify SOURCE CANDIDATE --text TEXT --ctx N --save-base BASE --json` for each candidate: Kiln's float32 source
#    log-probabilities go to BASE in llama-perplexity's --kl-divergence-base format (the source side is the same for
#    every candidate, so the first run's BASE serves them all), and the JSON holds verify's weights and runtime rows.
# 2. llama.cpp's `llama-perplexity -m CANDIDATE --kl-divergence-base BASE --kl-divergence -c N` (built by
#    scripts/build-llama-tools.sh from the llama.cpp tree vendored in the llama-cpp-python 0.3.36 sdist) runs each
#    candidate on llama.cpp itself and prints its Mean KLD and "Same top p" against that base.
# Prints one line per candidate: verify's weights-row and runtime-row mean KL and top-1, llama.cpp's mean KL and same
# top p. Dev-only (needs the built llama.cpp tools); nothing in `make test` runs it.
#
# Usage: scripts/llama-kl-beside-verify.sh SOURCE TEXT CTX CANDIDATE.gguf...
#   VERIFY       the verify binary (default .build/release/verify)
#   LLAMA_TOOLS  directory holding llama-perplexity (default $KILN_DEV_CACHE/llama-tools/bin, KILN_DEV_CACHE defaulting
#                to ~/.cache/kiln-dev)
#   THREADS      threads for both tools (default 2)
#   OUT          directory for the base file, JSON documents and llama-perplexity logs (default a new temp directory)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source_ckpt=${1:?usage: scripts/llama-kl-beside-verify.sh SOURCE TEXT CTX CANDIDATE.gguf...}
text=${2:?text file}
ctx=${3:?context}
shift 3
[ $# -gt 0 ] || { echo "no candidates given" >&2; exit 2; }
verify="${VERIFY:-$here/../.build/release/verify}"
tools="${LLAMA_TOOLS:-${KILN_DEV_CACHE:-$HOME/.cache/kiln-dev}/llama-tools/bin}"
threads="${THREADS:-2}"
out="${OUT:-$(mktemp -d)}"
mkdir -p "$out"
base="$out/base.kld"
[ -x "$tools/llama-perplexity" ] || { echo "$tools/llama-perplexity is missing (scripts/build-llama-tools.sh)" >&2; exit 1; }

for cand in "$@"; do
  name=$(basename "$cand" .gguf)
  save=()
  [ -f "$base" ] || save=(--save-base "$base")
  # verify exits 1 when a threshold fails; the figures are still wanted.
  "$verify" "$source_ckpt" "$cand" --text "$text" --ctx "$ctx" --threads "$threads" "${save[@]}" --json > "$out/$name.verify.json" || true
  "$tools/llama-perplexity" -m "$cand" --kl-divergence-base "$base" --kl-divergence -c "$ctx" -t "$threads" \
    > "$out/$name.llama.log" 2>&1
  python3 - "$out/$name.verify.json" "$out/$name.llama.log" "$name" <<'EOF'
import json, re, sys
doc = json.load(open(sys.argv[1]))
log = open(sys.argv[2]).read()
kld = re.search(r"Mean\s+KLD:\s+([-0-9.e]+)\s+±\s+([-0-9.e]+)", log)
top = re.search(r"Same top p:\s+([-0-9.e]+)\s+±\s+([-0-9.e]+)", log)
w, r = doc["weights"], doc["runtime"]
print(f"{sys.argv[3]}: positions {w['tokens']}; verify weights KL {w['kl_mean']:.4g} ± {w['kl_mean_unc']:.2g}, "
      f"top-1 {100 * w['top1']:.2f} %; verify runtime KL {r['kl_mean']:.4g} ± {r['kl_mean_unc']:.2g}, "
      f"top-1 {100 * r['top1']:.2f} %; llama.cpp KL {kld.group(1)} ± {kld.group(2)}, same top p {top.group(1)} ± {top.group(2)} %")
EOF
done
echo "logs and documents in $out" >&2
