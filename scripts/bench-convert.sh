#!/usr/bin/env bash
# The main job on real weights: `convert` of the Kaggle-layout Gemma 3 270M int4 checkpoint (built by
# scripts/prepare-real-model.sh) → lossless Q4_0 GGUF. Prints wall time and peak RSS, the floor measured in the same
# run (reading the checkpoint's chunk bytes and zstd-decompressing them with the zstd CLI), and a recorded anchor that
# is NOT measured in the run: the published Python converter (gau-nernst/gemma3-int4 + donor GGUF) took 29.4 s and
# 3.33 GB peak RSS on the same checkpoint on this machine kind during development; it needs a donor GGUF and its own
# stack, so this script cannot run it. Usage: scripts/bench-convert.sh [runs] [threads]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
threads=${2:-$(nproc)}
cache="${KILN_CACHE:-$HOME/.cache/kiln}"
py="${KILN_PYTHON:-$cache/venv/bin/python}"
env=$(bash scripts/prepare-real-model.sh)
eval "$env"
ckpt="$KILN_KAGGLE270M"
command -v zstd >/dev/null || { echo "installing zstd"; apt-get install -y -qq zstd >/dev/null; }
work=$(mktemp -d "$cache/bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
cat "$ckpt"/gemma3-270m-int4/d/* "$ckpt"/gemma3-270m-int4/ocdbt.process_*/d/* > /dev/null 2>&1 || true  # warm the page cache

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
times=() rss=()
for i in $(seq "$runs"); do
  /usr/bin/time -f "%e %M" -o "$work/time" .build/release/convert "$ckpt" -o "$work/out.gguf" --threads "$threads" 2>/dev/null
  read -r t m < "$work/time"; times+=("$t"); rss+=("$m")
done
wall=$(printf '%s\n' "${times[@]}" | median); peak=$(printf '%s\n' "${rss[@]}" | sort -n | tail -1)

# Floor: the compressed chunk values (extracted once with tensorstore's OCDBT reader), decompressed by zstd.
"$py" - "$ckpt/gemma3-270m-int4" "$work/chunks.zst" <<'PY'
import sys, tensorstore as ts
kv = ts.KvStore.open({'driver': 'ocdbt', 'base': f'file://{sys.argv[1]}/'}).result()
with open(sys.argv[2], 'wb') as f:
    for k in kv.list().result():
        if not k.endswith((b'.zarray', b'.zattrs', b'zarr.json')):
            f.write(kv.read(k).result().value)
PY
floors=()
for i in $(seq "$runs"); do
  a=$(date +%s.%N); zstd -d -c -q -T1 "$work/chunks.zst" > /dev/null; b=$(date +%s.%N)
  floors+=("$(echo "$b - $a" | bc -l)")
done
floor=$(printf '%s\n' "${floors[@]}" | median)
echo "convert kaggle270m → Q4_0 (threads=$threads, median of $runs): $wall s, peak RSS $((peak / 1024)) MB"
echo "floor (zstd -d of the $(du -h "$work/chunks.zst" | cut -f1) of chunk bytes, 1 thread): $(printf %.2f "$floor") s → ours / floor = $(printf %.2f "$(echo "$wall / $floor" | bc -l)")"
echo "recorded anchor (not measured in this run) gau-nernst/gemma3-int4: 29.4 s, 3.33 GB → speed-up $(printf %.1f "$(echo "29.4 / $wall" | bc -l)")×, RSS ratio $(printf %.2f "$(echo "$peak / 1024 / 3330" | bc -l)")"
