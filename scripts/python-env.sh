#!/usr/bin/env bash
# Makes sure the Kiln cache venv ($KILN_CACHE/venv, default ~/.cache/kiln/venv) exists and has the given pip
# requirements installed. Used by the scripts that need an oracle library (gguf-py, safetensors, orbax, ...).
set -euo pipefail
cache="${KILN_CACHE:-$HOME/.cache/kiln}"
venv="$cache/venv"
mkdir -p "$cache"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
missing=()
for req in "$@"; do
  name="${req%%[=<>]*}"
  "$venv/bin/python" -m pip show -q "$name" >/dev/null 2>&1 || missing+=("$req")
done
if [ ${#missing[@]} -gt 0 ]; then
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "${missing[@]}"
fi
