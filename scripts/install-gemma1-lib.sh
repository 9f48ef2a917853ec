#!/usr/bin/env bash
# Installs `gemma-llm` 1.0.0 (PyPI) — Google DeepMind's original Gemma 1 Flax library (import name `gemma`), the
# reference reader (`gemma.params.load_and_format_params`) and forward pass (`gemma.transformer.Transformer`) for
# Kaggle's Gemma 1 / CodeGemma Flax checkpoints — into the venv named by $1 (default
# $HOME/.cache/kiln-dev/venv-gemma1). Dev-only: used by scripts/make_gemma1_fixtures.py, never by `make test`.
#
# Its own venv: its import name `gemma` collides with the `gemma` 3.3.0 library (scripts/install-gemma-lib.sh), and it
# needs flax < 0.8, hence the jax/jaxlib 0.4.23, orbax-checkpoint 0.4.8 and numpy < 2 of that time (Python 3.11).
set -euo pipefail
V=${1:-$HOME/.cache/kiln-dev/venv-gemma1}
[ -x "$V/bin/python" ] || python3.11 -m venv "$V"
"$V/bin/pip" install -q "gemma-llm==1.0.0" "flax==0.7.5" "jax==0.4.23" "jaxlib==0.4.23" "numpy==1.26.4" \
    "orbax-checkpoint==0.4.8" "sentencepiece==0.1.99"
"$V/bin/python" - <<'PY'
import flax, jax, orbax.checkpoint
from gemma import params, transformer  # noqa: F401  (gemma-llm 1.0.0)
print("gemma-llm 1.0.0 ok: jax", jax.__version__, "flax", flax.__version__)
PY
