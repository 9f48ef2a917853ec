#!/usr/bin/env bash
# Golden for verify's --save-base file, from the real llama-perplexity: Kiln converts the real-weight Kaggle-layout
# 270M ($KILN_KAGGLE270M from scripts/prepare-real-model.sh; auto: lossless Q4_0), `verify --text
# fixtures/verify/kl-base-text.txt --ctx 512 --save-base BASE` writes the checkpoint's float32 log-probabilities in
# llama.cpp's --kl-divergence-base format, and llama.cpp's own
# `llama-perplexity -m CANDIDATE --kl-divergence-base BASE --kl-divergence` (built by scripts/build-llama-tools.sh from
# the llama.cpp tree vendored in the llama-cpp-python 0.3.36 sdist) reads that file and runs the candidate on
# llama.cpp. Its printed figures go to fixtures/verify/llama-perplexity-kl.json with the candidate's sha256; the test
# (Kaggle270mVerifyTests.llamaPerplexityReadsTheBaseFile) checks verify's runtime row against them. (The tiny
# fixtures do not serve: their random weights give a runtime KL of 1e-6, below the six decimals llama-perplexity
# prints, and log-probabilities far below max − 16, which llama.cpp's base format drops.)
# Usage: scripts/gen_verify_kl_base_golden.sh [BIN_DIR]   (BIN_DIR holds Kiln's convert and verify; default
#   .build/release). LLAMA_TOOLS: directory of llama-perplexity (default ~/.cache/kiln-dev/llama-tools/bin).
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-.build/release}"
tools="${LLAMA_TOOLS:-${KILN_DEV_CACHE:-$HOME/.cache/kiln-dev}/llama-tools/bin}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
src="${KILN_KAGGLE270M:?export what scripts/prepare-real-model.sh prints}"
"$bin/convert" "$src" -o "$tmp/auto.gguf" 2>/dev/null
"$bin/verify" "$src" "$tmp/auto.gguf" --text fixtures/verify/kl-base-text.txt --ctx 512 \
  --save-base "$tmp/base.kld" --threads 2 --json > "$tmp/verify.json"
"$tools/llama-perplexity" -m "$tmp/auto.gguf" --kl-divergence-base "$tmp/base.kld" --kl-divergence -c 512 -t 2 \
  > "$tmp/llama.log" 2>&1
python3 - "$tmp" <<'PY'
import hashlib, json, re, sys
tmp = sys.argv[1]
log = open(f"{tmp}/llama.log").read()
def grab(pattern):
    m = re.search(pattern, log)
    if not m:
        sys.exit(f"llama-perplexity printed no '{pattern}':\n{log[-3000:]}")
    return float(m.group(1)), float(m.group(2))
kld = grab(r"Mean\s+KLD:\s+([-0-9.e]+)\s+±\s+([-0-9.e]+)")
top = grab(r"Same top p:\s+([-0-9.e]+)\s+±\s+([-0-9.e]+)")
ppl_base = grab(r"Mean PPL\(base\s*\)\s*:\s+([-0-9.e]+)\s+±\s+([-0-9.e]+)")
ppl = grab(r"Mean PPL\(Q\)\s*:\s+([-0-9.e]+)\s+±\s+([-0-9.e]+)")
verify = json.load(open(f"{tmp}/verify.json"))
golden = {
    "tool": "llama-perplexity --kl-divergence (llama.cpp vendored in llama-cpp-python 0.3.36, scripts/build-llama-tools.sh)",
    "source": "the Kaggle-layout 270M of scripts/prepare-real-model.sh (KILN_KAGGLE270M)",
    "text": "fixtures/verify/kl-base-text.txt",
    "ctx": 512,
    "candidate_sha256": hashlib.sha256(open(f"{tmp}/auto.gguf", "rb").read()).hexdigest(),
    "scored_positions": verify["runtime"]["tokens"],
    "mean_kld": kld[0], "mean_kld_unc": kld[1],
    "same_top_p_percent": top[0], "same_top_p_unc": top[1],
    "ppl_base": ppl_base[0], "ppl_candidate": ppl[0],
    "note": "recorded beside it, not checked: verify's runtime row in the same run",
    "verify_runtime_kl_mean": verify["runtime"]["kl_mean"], "verify_runtime_kl_mean_unc": verify["runtime"]["kl_mean_unc"],
}
json.dump(golden, open("fixtures/verify/llama-perplexity-kl.json", "w"), indent=1)
print(json.dumps(golden, indent=1))
PY
