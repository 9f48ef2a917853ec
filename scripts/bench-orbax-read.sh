#!/usr/bin/env bash
# Read throughput of FlaxCheckpoint on a >= 1 GB zstd OCDBT checkpoint, against `zstd -d` of the same chunk bytes
# and tensorstore's own read. Usage: scripts/bench-orbax-read.sh [checkpoint dir]  (default ~/.cache/kiln/bench-orbax)
set -euo pipefail
cd "$(dirname "$0")/.."
CKPT=${1:-$HOME/.cache/kiln/bench-orbax}
. ~/.venvs/oracle/bin/activate
if [ ! -f "$CKPT/manifest.ocdbt" ]; then
  python scripts/make_orbax_fixtures.py --bench "$CKPT" --bench-mb 1100
fi
echo "== checkpoint: $(du -sh "$CKPT" | cut -f1) on disk"
# Warm the page cache so every reader sees the same (cached) input.
cat "$CKPT"/ocdbt.process_*/d/* > /dev/null

echo "== Kiln (release build, scratch .build-flax-release)"
# (SWIFT_PACKAGE_DIR may point at another checkout of the package; the default is this repository.)
LOG=$(mktemp)
if ! (cd "${SWIFT_PACKAGE_DIR:-.}" && KILN_BENCH_ORBAX="$CKPT" swift test -c release --scratch-path .build-flax-release \
      --filter BenchmarkTests) > "$LOG" 2>&1; then
  grep -E "error" "$LOG" | head -5; echo "(Kiln benchmark build or run failed; full log: $LOG)"
else
  grep -E "orbax-bench|Test run" "$LOG"; rm -f "$LOG"
fi

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
