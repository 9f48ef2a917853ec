#!/usr/bin/env bash
# `make demo`: the main job on a bundled example. A tiny Gemma 3 checkpoint in Kaggle's int4 layout (written by the
# real orbax library, with a SigLIP vision tower and a SentencePiece tokenizer.model) is converted to a llama.cpp
# GGUF — QAT weights packed losslessly as Q4_0 — plus its mmproj, then inspected, and chatted with (text and image).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.build/release
example=fixtures/gemma3/tiny-kaggle-vision
out=$(mktemp -d)
echo "== inspect $example (Orbax checkpoint)"
$bin/inspect "$example" > "$out/inspect.txt"
head -12 "$out/inspect.txt"
echo "   ..."
echo
echo "== convert $example -o $out/gemma3-tiny.gguf"
$bin/convert "$example" -o "$out/gemma3-tiny.gguf"
echo
echo "== inspect $out/gemma3-tiny.gguf"
$bin/inspect "$out/gemma3-tiny.gguf" > "$out/inspect-gguf.txt"
sed -n '1,4p;/^tensors/,/blk.0.ffn_up/p;/^total/,$p' "$out/inspect-gguf.txt"
echo
echo "== inspect --tensor blk.0.attn_q.weight --stats (dequantized Q4_0)"
$bin/inspect "$out/gemma3-tiny.gguf" --tensor blk.0.attn_q.weight --stats
if [ -x $bin/chat ]; then
  echo
  echo "== chat (random tiny weights: the words are nonsense, the machinery is real)"
  $bin/chat "$out/gemma3-tiny.gguf" -p "the capital of france is" --raw -n 8 --temp 0 || true
  echo
  echo "== chat --image fixtures/gemma3/vision-wide.png (a test image made by scripts/gen_vision_goldens.py; the mmproj"
  echo "   beside the model is found by name; random weights answer with newlines, as llama.cpp does on these files)"
  $bin/chat "$out/gemma3-tiny.gguf" --image fixtures/gemma3/vision-wide.png -p "Describe the picture." -n 8 --temp 0 | od -c | head -2 || true
fi
echo
echo "outputs in $out"
