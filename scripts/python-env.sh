#!/usr/bin/env bash
# Makes sure the Kiln cache venv ($KILN_CACHE/venv, default ~/.cache/kiln/venv) exists and has the given pip
# requirements installed; a pinned requirement (`name==version`) is reinstalled when another version is present.
# Used by the scripts that need a Python library (gguf-py, safetensors, orbax, ...). Usage: python-env.sh REQ...
set -euo pipefail
cache="${KILN_CACHE:-$HOME/.cache/kiln}"
venv="$cache/venv"
mkdir -p "$cache"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
missing=$("$venv/bin/python" - "$@" <<'PY'
import re, sys
from importlib import metadata
for req in sys.argv[1:]:
    name, pinned = re.split(r"[=<>!~]", req, maxsplit=1)[0], req.partition("==")[2]
    try:
        have = metadata.version(name)
    except metadata.PackageNotFoundError:
        print(req)
        continue
    if pinned and have != pinned:
        print(req)
PY
)
if [ -n "$missing" ]; then
  # shellcheck disable=SC2086 # one requirement per word
  "$venv/bin/python" -m pip install -q --disable-pip-version-check $missing
fi
