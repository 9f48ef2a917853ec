#!/usr/bin/env bash
# The goldens environment for scripts/gen_llama_converter_goldens.py: a venv with what llama.cpp's
# convert_hf_to_gguf.py needs (its requirements/requirements-convert_hf_to_gguf.txt, from PyPI only) plus the llama.cpp
# tree from the llama-cpp-python 0.3.36 sdist (unpacked by scripts/build-llama-tools.sh). Dev-only: `make test` never
# uses it. torch: PyPI's wheel (a few GB with its CUDA libraries; a local CPU wheel is used when pip's find-links
# offers one). Prints the venv's python.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dev="${KILN_DEV_CACHE:-$HOME/.cache/kiln-dev}"
venv="$dev/llama-converter-venv"
tree="$dev/llama-tools/src/llama_cpp_python-0.3.36/vendor/llama.cpp"
if [ ! -f "$tree/convert_hf_to_gguf.py" ]; then
  echo "llama-converter-env: unpacking the llama.cpp tree (scripts/build-llama-tools.sh)" >&2
  KILN_UNPACK_ONLY=1 bash "$here/build-llama-tools.sh" >/dev/null
fi
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import torch, transformers, sentencepiece' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "torch>=2.6" "transformers==4.57.6" \
    "numpy~=2.2.6" "sentencepiece>=0.1.98,<0.3.0" "protobuf>=4.21.0,<5.0.0" safetensors tqdm pyyaml requests pillow >&2
fi
echo "$venv/bin/python"
