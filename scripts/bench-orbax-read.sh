#!/usr/bin/env bash
# Read throughput of FlaxCheckpoint on a >= 1 GB zstd OCDBT checkpoint, against `zstd -d` of the same chunk bytes
# and tensorstore's own read. Usage: scripts/bench-orbax-read.sh [checkpoint dir]  (default $KILN_CACHE/bench-orbax,
# written once by scripts/make_orbax_fixtures.py with the real orbax library). Kiln's side is the BenchmarkTests suite
# (Tests/FlaxCheckpointTests), run here with KILN_BENCH_ORBAX set; `make test` leaves it out.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${KILN_CACHE:-$HOME/.cache/kiln}"
CKPT=${1:-$cache/bench-orbax}
# The versions scripts/make_orbax_fixtures.py names.
bash scripts/python-env.sh orbax-checkpoint==0.12.8 tensorstore==0.1.86 jax==0.10.2 jaxlib==0.10.2 ml_dtypes==0.6.0 numpy==2.4.6
python() { "$cache/venv/bin/python" "$@"; }
command -v zstd >/dev/null || { echo "installing zstd"; apt-get install -y -qq zstd >/dev/null; }
if [ ! -f "$CKPT/manifest.ocdbt" ]; then
  python scripts/make_orbax_fixtures.py --bench "$CKPT" --bench-mb 1100
fi
echo "== checkpoint: $(du -sh "$CKPT" | cut -f1) on disk"
# Warm the page cache so every reader sees the same (cached) input.
cat "$CKPT"/ocdbt.process_*/d/* > /dev/null

echo "== Kiln (release build, the scratch path make test uses)"
LOG=$(mktemp)
if ! KILN_BENCH_ORBAX="$CKPT" swift test -c release -Xswiftc -enable-testing --scratch-path .build-test \
      --filter BenchmarkTests > "$LOG" 2>&1; then
  grep -E "error" "$LOG" | head -5; echo "Kiln benchmark build or run failed; full log: $LOG"; exit 1
fi
grep -E "orbax-bench|Test run" "$LOG"; rm -f "$LOG"

echo "== zstd -d of the same chunk frames (single thread, output discarded)"
python - "$CKPT" <<'PY'
import os, subprocess, sys, time, tempfile
import tensorstore as ts
ckpt = sys.argv[1]
kv = ts.KvStore.open({'driver': 'ocdbt', 'base': f'file://{ckpt}/'}).result()
keys = [k for k in kv.list().result() if not k.endswith(b'.zarray')]
with tempfile.NamedTemporaryFile(delete=False) as f:
    total = 0
    for k in keys:
        v = kv.read(k).result().value
        f.write(v)
        total += len(v)
    name = f.name
t = time.time()
subprocess.run(['zstd', '-d', '-c', '-q', name], stdout=subprocess.DEVNULL, check=True)
dt = time.time() - t
out = int(subprocess.run(f'zstd -d -c -q {name} | wc -c', shell=True, capture_output=True, text=True).stdout)
os.unlink(name)
print(f'zstd -d: {total/1e6:.0f} MB compressed -> {out/1e6:.0f} MB in {dt:.2f} s = {out/1e6/dt:.0f} MB/s')
PY

echo "== tensorstore (orbax's reader), every array read fully"
python - "$CKPT" <<'PY'
import json, sys, time
import tensorstore as ts
ckpt = sys.argv[1]
meta = json.load(open(f'{ckpt}/_METADATA'))
names = ['.'.join(k['key'] for k in v['key_metadata']) for v in meta['tree_metadata'].values()]
t = time.time()
total = 0
for n in names:
    a = ts.open({'driver': 'zarr', 'kvstore': {'driver': 'ocdbt', 'base': f'file://{ckpt}/', 'path': n + '/'}}).result()
    total += a.read().result().nbytes
dt = time.time() - t
print(f'tensorstore: {len(names)} arrays, {total/1e6:.0f} MB in {dt:.2f} s = {total/1e6/dt:.0f} MB/s')
PY
