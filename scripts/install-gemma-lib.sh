#!/usr/bin/env bash
# Installs Google DeepMind's `gemma` library 3.3.0 — the reference reader (`gm.ckpts.load_params`) and float32 forward
# pass (`gm.nn.Transformer`) that Kaggle's Gemma Flax checkpoints are made for — into the venv named by $1
# (default $HOME/.cache/kiln-dev/venv-gemma). Dev-only: used by scripts/gen_gemma_goldens.py, never by `make test`.
#
# Versions are pinned in scripts/gemma-lib-requirements.txt and installed with `pip --no-deps`: on Python 3.11 pip's
# resolver alone picks newer jax / kauldron / typeguard releases that do not import together with gemma 3.3.0
# (kauldron 1.3.0 needs jax 0.6.x; its jaxtyping annotation checks lag typeguard, so the generator switches them off).
set -euo pipefail
V=${1:-$HOME/.cache/kiln-dev/venv-gemma}
here=$(cd "$(dirname "$0")" && pwd)
[ -x "$V/bin/python" ] || python3 -m venv "$V"
"$V/bin/pip" install -q --no-deps -r "$here/gemma-lib-requirements.txt"
"$V/bin/python" - <<'PY'
import kauldron.typing.type_check as tc
tc.TYPECHECKING_ENABLED = False
import gemma
from gemma import gm
from gemma.gm.ckpts import load_params  # noqa: F401
print("gemma", gemma.__version__, "ok")
PY
