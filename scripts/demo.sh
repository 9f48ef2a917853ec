#!/usr/bin/env bash
# `make demo`: the main job on a bundled example. Until checkpoint conversion lands, that is: inspect a bundled GGUF
# (written by gguf-py), rewrite it through Kiln's reader and writer, and show the copy is byte-identical.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.build/release
example=fixtures/gguf/all-value-types.gguf
out=$(mktemp -d)/demo.gguf
echo "== inspect $example"
$bin/inspect "$example"
echo
echo "== convert $example -o $out"
$bin/convert "$example" -o "$out"
echo "== byte-identical: $(cmp -s "$example" "$out" && echo yes || echo NO)"
echo
echo "== inspect --tensor t.f32 --stats --json"
$bin/inspect "$example" --tensor t.f32 --stats --json
