#!/usr/bin/env bash
# `make fuzz`: builds fuzz/ (libFuzzer + AddressSanitizer) and runs every target for FUZZ_SECONDS (default 60) each,
# one after the other. Seed corpora come from fixtures/ (regenerated into fuzz/corpus/, not committed); inputs that
# once crashed are in fuzz/regressions/<target>/ and are replayed first. Crashes land in fuzz/artifacts/<target>/.
# Usage: scripts/fuzz.sh [TARGET...]   (FUZZ_SECONDS; FUZZ_CONFIG=debug (default) or release)
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
seconds=${FUZZ_SECONDS:-60}
config=${FUZZ_CONFIG:-debug}
all=(gguf safetensors ocdbt-manifest ocdbt-version-node ocdbt-btree-node ocdbt-data-files zarr-v2-metadata zarr-v3-metadata zarr-chunk orbax-metadata sentencepiece tokenizer image)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")

(cd fuzz && swift build -c "$config" -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing) || exit 1
bin="$root/fuzz/.build/$config/KilnFuzz"

seed() {  # seed TARGET DIR: fill DIR with seeds from the fixtures
  local t=$1 d=$2
  case $t in
    gguf) cp fixtures/gguf/*.gguf "$d/" ;;
    safetensors) find fixtures/safetensors -name '*.safetensors' -exec cp {} "$d/" \; ;;
    ocdbt-manifest) find fixtures/orbax -name 'manifest.*' | while read -r f; do cp "$f" "$d/$(echo "$f" | tr / _)"; done ;;
    ocdbt-version-node|ocdbt-btree-node|ocdbt-data-files)
      python3 - "$t" "$d" <<'PY'
import os, struct, sys
target, out = sys.argv[1], sys.argv[2]
want = {"ocdbt-version-node": 0x0cdb1234, "ocdbt-btree-node": 0x0cdb20de}.get(target)
n = 0
for dirpath, _, files in os.walk("fixtures/orbax"):
    if "/d" not in dirpath: continue
    for f in files:
        b = open(os.path.join(dirpath, f), "rb").read()
        o = 0
        while o + 12 <= len(b):
            magic, length = struct.unpack(">I", b[o:o+4])[0], struct.unpack("<Q", b[o+4:o+12])[0]
            if magic not in (0x0cdb1234, 0x0cdb20de) or length < 18 or o + length > len(b): break
            node = b[o:o+length]
            if target == "ocdbt-data-files":
                # An uncompressed body starts (after height / arity bytes) with the data-file table; seed with
                # the raw bytes after the 14-byte envelope header so the fuzzer starts near real tables.
                open(os.path.join(out, f"{f}_{o}"), "wb").write(node[14:-4])
            elif magic == want:
                open(os.path.join(out, f"{f}_{o}"), "wb").write((b"\x04" if target == "ocdbt-version-node" else b"") + node)
            o += length; n += 1
PY
      ;;
    zarr-v2-metadata) find fixtures/orbax -name '.zarray' | while read -r f; do cp "$f" "$d/$(echo "$f" | tr / _)"; done ;;
    zarr-v3-metadata) find fixtures/orbax -name 'zarr.json' | while read -r f; do cp "$f" "$d/$(echo "$f" | tr / _)"; done ;;
    zarr-chunk)
      i=0; for f in $(find fixtures/orbax/no_ocdbt/ckpt fixtures/orbax/no_ocdbt_zarr3/ckpt -type f -path '*/*/*' ! -name '.z*' ! -name 'zarr.json' ! -path '*array_metadatas*'); do
        for s in 0 1 2; do { printf "\\x0$s"; cat "$f"; } > "$d/chunk$i-$s"; done; i=$((i + 1)); done ;;
    orbax-metadata) find fixtures/orbax -name '_METADATA' | while read -r f; do cp "$f" "$d/$(echo "$f" | tr / _)"; done ;;
    sentencepiece) cp fixtures/tokenizer/tiny.model "$d/" ;;
    image) cp fixtures/gemma3/vision-small.png fixtures/gemma3/vision-small.jpg fixtures/gemma3/vision-tall-grey.png "$d/" ;;
    tokenizer)
      python3 - "$d" <<'PY'
import json, sys
doc = json.load(open("fixtures/tokenizer/tiny_llama_goldens.json"))
cases = doc["cases"] if isinstance(doc, dict) and "cases" in doc else doc
texts = []
for c in (cases if isinstance(cases, list) else []):
    t = c.get("text") if isinstance(c, dict) else None
    if isinstance(t, str): texts.append(t)
for i, t in enumerate(texts[:200]):
    open(f"{sys.argv[1]}/s{i}", "wb").write(t.encode())
open(f"{sys.argv[1]}/special", "wb").write(b"<start_of_turn>user\nhi<end_of_turn>")
PY
      ;;
  esac
}

summary=()
for t in "${targets[@]}"; do
  corpus=fuzz/corpus/$t; artifacts=fuzz/artifacts/$t; regressions=fuzz/regressions/$t
  mkdir -p "$corpus" "$artifacts"
  [ -n "$(ls -A "$corpus")" ] || seed "$t" "$corpus"
  dirs=("$corpus"); [ -d "$regressions" ] && dirs+=("$regressions")
  log=fuzz/artifacts/$t.log
  KILN_FUZZ_TARGET=$t "$bin" "${dirs[@]}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -artifact_prefix="$artifacts/" -print_final_stats=1 >"$log" 2>&1
  rc=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  crashes=$(ls "$artifacts" | wc -l)
  summary+=("$t: ${seconds}s, ${execs:-?} executions, exit $rc, $crashes artifacts")
  echo "${summary[-1]}"
done
printf '%s\n' "fuzz summary:" "${summary[@]}"
