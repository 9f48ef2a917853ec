#!/usr/bin/env bash
# Command-line checks run by `make test`: exit codes, messages on stderr, atomic output, and the byte-identical
# rewrite of the real llama.cpp-written Gemma 3 270M file (sha256 a5fd3b62…).
set -uo pipefail
cd "$(dirname "$0")/.."
bin=.build/release
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
check() {  # check NAME COMMAND...: the command must succeed
  local name=$1; shift
  if "$@" >"$tmp/out" 2>"$tmp/err"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $name"; cat "$tmp/err"; fi
}
fails_with() {  # fails_with NAME PATTERN COMMAND...: exit code 1, PATTERN on stderr, nothing on stdout
  local name=$1 pattern=$2; shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"; local rc=$?
  if [ $rc -eq 1 ] && grep -q -- "$pattern" "$tmp/err" && [ ! -s "$tmp/out" ]; then pass=$((pass + 1))
  else fail=$((fail + 1)); echo "FAIL: $name (exit $rc)"; cat "$tmp/err"; fi
}

check "inspect gguf" $bin/inspect fixtures/gguf/all-value-types.gguf
check "inspect gguf --json parses" bash -c "$bin/inspect fixtures/gguf/all-value-types.gguf --json | python3 -m json.tool >/dev/null"
check "inspect safetensors dir" $bin/inspect fixtures/safetensors/sharded
check "inspect --stats" bash -c "$bin/inspect fixtures/safetensors/all-dtypes.safetensors --tensor f32 --stats | grep -q mean"
check "inspect --npy" bash -c "$bin/inspect fixtures/safetensors/all-dtypes.safetensors --tensor f16 --npy $tmp/f16.npy && cmp $tmp/f16.npy fixtures/safetensors/expected/f16.npy"

head -c 100 fixtures/gguf/all-value-types.gguf > "$tmp/truncated.gguf"
fails_with "truncated gguf" "truncated.gguf" $bin/inspect "$tmp/truncated.gguf"
printf 'XGUF0000000000000000000000' > "$tmp/magic.gguf"
fails_with "wrong magic" "not a GGUF" $bin/inspect "$tmp/magic.gguf"
fails_with "missing file" "no such file" $bin/inspect "$tmp/missing.gguf"
fails_with "unknown tensor" "no tensor named" $bin/inspect fixtures/gguf/all-value-types.gguf --tensor nope --stats
cp fixtures/gguf/all-value-types.gguf "$tmp/in.gguf"
fails_with "output equals input" "same file as the input" $bin/convert "$tmp/in.gguf" -o "$tmp/in.gguf"
check "input untouched" cmp "$tmp/in.gguf" fixtures/gguf/all-value-types.gguf
fails_with "convert of a truncated file writes nothing" "truncated" $bin/convert "$tmp/truncated.gguf" -o "$tmp/never.gguf"
check "no output left behind" bash -c "! ls -A $tmp | grep -q never"

# The main job on the tiny Kaggle-layout checkpoint, read back by gguf-py (the reference reader) and checked there.
check "convert tiny Kaggle checkpoint" $bin/convert fixtures/gemma3/tiny-kaggle -o "$tmp/tiny.gguf"
py="${KILN_CACHE:-$HOME/.cache/kiln}/venv/bin/python"
check "python venv with gguf-py" bash scripts/python-env.sh numpy==2.4.6 gguf==0.19.0 safetensors==0.8.0
check "gguf-py reads the conversion" "$py" scripts/check_gguf_conversion.py "$tmp/tiny.gguf" fixtures/gemma3/tiny-hf
# Gemma 2: the gemma library's FLAT tree, checked by gguf-py against its transformers-written HF twin.
check "convert tiny Gemma 2 FLAT checkpoint" $bin/convert fixtures/gemma2/tiny-flat -o "$tmp/g2.gguf"
check "gguf-py reads the Gemma 2 conversion" "$py" scripts/check_gguf_conversion.py "$tmp/g2.gguf" fixtures/llama-converter/gemma2-tiny
check "inspect the Gemma 2 conversion" bash -c "$bin/inspect $tmp/g2.gguf | grep -q 'gemma2.attn_logit_softcapping'"
check "convert --dry-run names the family" bash -c "$bin/convert fixtures/gemma2/tiny-nested -o $tmp/never.gguf --dry-run | grep -q '^gemma2 174K: 4 layers'"
check "chat on the Gemma 2 conversion" bash -c "$bin/chat $tmp/g2.gguf -p 'once upon a time' --raw -n 4 --temp 0 | grep -q ."
check "chat on the Gemma 2 checkpoint = chat on its conversion" bash -c "[ \"\$($bin/chat fixtures/gemma2/tiny-flat -p 'once upon a time' --raw -n 8 --temp 0 2>/dev/null)\" = \"\$($bin/chat $tmp/g2.gguf -p 'once upon a time' --raw -n 8 --temp 0 2>/dev/null)\" ]"
check "verify the Gemma 2 checkpoint against its conversion: PASS, weights KL below 1e-6" bash -c "$bin/verify fixtures/gemma2/tiny-flat $tmp/g2.gguf --json -n 4 2>/dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if d[\"weights\"][\"kl_mean\"] < 1e-6 and d[\"pass\"] else 1)'"
# Gemma 1 (llama.cpp `gemma`): gemma-llm's FLAT tree with the fused qkv_einsum, and its multi-query int4-grid one.
check "convert tiny Gemma 1 FLAT checkpoints" bash -c "$bin/convert fixtures/gemma1/tiny-7b -o $tmp/g1.gguf 2>/dev/null && $bin/convert fixtures/gemma1/tiny-2b -o $tmp/g1q.gguf 2>/dev/null"
check "gguf-py reads the Gemma 1 conversions" bash -c "$py scripts/check_gguf_conversion.py $tmp/g1q.gguf fixtures/llama-converter/gemma1-tiny-2b && $py scripts/check_gguf_conversion.py $tmp/g1.gguf fixtures/llama-converter/gemma1-tiny-7b"
check "chat on the Gemma 1 checkpoint = chat on its conversion" bash -c "[ \"\$($bin/chat fixtures/gemma1/tiny-7b -p 'once upon a time' --raw -n 8 --temp 0 2>/dev/null)\" = \"\$($bin/chat $tmp/g1.gguf -p 'once upon a time' --raw -n 8 --temp 0 2>/dev/null)\" ]"
check "verify the Gemma 1 checkpoints against their conversions: PASS, weights KL below 1e-6" bash -c "for m in g1:tiny-7b g1q:tiny-2b; do $bin/verify fixtures/gemma1/\${m#*:} $tmp/\${m%%:*}.gguf --json -n 4 2>/dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if d[\"weights\"][\"kl_mean\"] < 1e-6 and d[\"pass\"] else 1)' || exit 1; done"
check "gguf-py reads the mmproj" bash -c "$bin/convert fixtures/gemma3/tiny-kaggle-vision -o $tmp/v.gguf 2>/dev/null && $py scripts/check_mmproj.py $tmp/mmproj-v.gguf --reference fixtures/gemma3/tiny-hf-vision"
check "convert --checksum writes a sha256sum file" bash -c "$bin/convert fixtures/gemma3/tiny-kaggle -o $tmp/sum.gguf --checksum 2>/dev/null && (cd $tmp && sha256sum -c --status sum.gguf.sha256)"
check "inspect --verify-checksum" $bin/inspect "$tmp/sum.gguf" --verify-checksum
printf 'x' >> "$tmp/sum.gguf"
fails_with "inspect --verify-checksum on a changed file" "checksum mismatch" $bin/inspect "$tmp/sum.gguf" --verify-checksum
check "chat on the converted model" bash -c "$bin/chat $tmp/tiny.gguf -p 'the capital of france is' --raw -n 4 --temp 0 | grep -q ."
# --ignore-eos only takes EOS and <end_of_turn> out of the choice (ChatSessionWiringTests checks that it then generates
# -n tokens): greedy, a reply that does not reach them is the same with it.
check "chat --ignore-eos = chat when no stop token is picked" bash -c "[ \"\$($bin/chat $tmp/tiny.gguf -p 'once upon a time' --raw -n 8 --temp 0 --ignore-eos 2>/dev/null)\" = \"\$($bin/chat $tmp/tiny.gguf -p 'once upon a time' --raw -n 8 --temp 0 2>/dev/null)\" ]"
# engine-bench runs llama-bench's two tests (pp: one prompt batch, tg: single tokens) and reports them as llama-bench -o json.
check "engine-bench --json: pp8 and tg4, 2 repetitions each" bash -c "$bin/engine-bench $tmp/tiny.gguf -p 8 -n 4 -r 2 --threads 1 --json | python3 -c 'import json, sys; r = json.load(sys.stdin); assert [(t[\"n_prompt\"], t[\"n_gen\"], t[\"n_ctx\"], len(t[\"samples_ts\"])) for t in r] == [(8, 0, 8, 2), (0, 4, 4, 2)] and all(t[\"avg_ts\"] > 0 for t in r), r'"
# chat on the checkpoint itself (float path) continues the prompt as chat on its lossless conversion does.
check "chat on the checkpoint = chat on its conversion" bash -c "[ \"\$($bin/chat fixtures/gemma3/tiny-kaggle -p 'once upon a time' --raw -n 8 --temp 0 2>/dev/null)\" = \"\$($bin/chat $tmp/tiny.gguf -p 'once upon a time' --raw -n 8 --temp 0 2>/dev/null)\" ]"
# Image chat on the tiny vision fixture: the mmproj convert wrote beside v.gguf is found by name; two images in order.
check "chat --image finds mmproj-v.gguf" bash -c "$bin/chat $tmp/v.gguf --image fixtures/gemma3/vision-wide.png --image fixtures/gemma3/vision-small.jpg -p 'describe' -n 2 --temp 0 2>$tmp/img.err && grep -q '2 images encoded' $tmp/img.err"
check "chat --image on the checkpoint = on its conversion" bash -c "[ \"\$($bin/chat fixtures/gemma3/tiny-kaggle-vision --image fixtures/gemma3/vision-wide.png -p 'describe' -n 4 --temp 0 2>/dev/null | od -c)\" = \"\$($bin/chat $tmp/v.gguf --image fixtures/gemma3/vision-wide.png -p 'describe' -n 4 --temp 0 2>/dev/null | od -c)\" ]"
head -c 300 fixtures/gemma3/vision-wide.png > "$tmp/broken.png"
fails_with "chat --image with a truncated PNG names it" "broken.png: cannot decode the image" $bin/chat "$tmp/v.gguf" --image "$tmp/broken.png" -p x
mkdir -p "$tmp/textonly" && cp "$tmp/tiny.gguf" "$tmp/textonly/"
fails_with "chat --image without an mmproj says where it looked" "no mmproj-tiny.gguf" $bin/chat "$tmp/textonly/tiny.gguf" --image fixtures/gemma3/vision-small.png -p x
check "chat --dump-logits on the checkpoint" bash -c "$bin/chat fixtures/gemma3/tiny-kaggle -p 'once upon a time' --raw --dump-logits $tmp/ckpt.npy && [ -s $tmp/ckpt.npy ]"
# verify / convert --verify: exit 0 within the thresholds; exit 1 with the failing metric on stderr (report on stdout).
check "convert --verify passes on the lossless conversion" bash -c "$bin/convert fixtures/gemma3/tiny-kaggle -o $tmp/verified.gguf --verify 2>/dev/null | grep -q 'PASS' && [ -s $tmp/verified.gguf ]"
check "verify --max-kl fails with exit 1 naming the metric" bash -c "$bin/convert fixtures/gemma3/tiny-kaggle -o $tmp/q2.gguf --type q2_k 2>/dev/null; $bin/verify fixtures/gemma3/tiny-kaggle $tmp/q2.gguf --max-kl 1e-12 >$tmp/v.out 2>$tmp/v.err; [ \$? -eq 1 ] && grep -q 'verify failed: weights mean KL .* exceeds --max-kl 1e-12' $tmp/v.err && grep -q FAIL $tmp/v.out"
check "convert --verify on a failing conversion: exit 1, metric named, output kept and readable" bash -c "$bin/convert fixtures/gemma3/tiny-kaggle -o $tmp/failing.gguf --type q8_0 --verify --max-kl 1e-12 >$tmp/cv.out 2>$tmp/cv.err; [ \$? -eq 1 ] && grep -q 'verify failed: weights mean KL .* exceeds --max-kl 1e-12 ($tmp/failing.gguf is kept)' $tmp/cv.err && grep -q FAIL $tmp/cv.out && $bin/inspect $tmp/failing.gguf >/dev/null"
check "convert's verify thresholds need --verify" bash -c "$bin/convert fixtures/gemma3/tiny-kaggle -o $tmp/nv.gguf --max-kl 1 2>&1 >/dev/null | grep -q 'need --verify' && [ ! -e $tmp/nv.gguf ]"
check "verify --image reports the image check and the image turns' row" bash -c "$bin/verify fixtures/gemma3/tiny-kaggle-vision $tmp/v.gguf --image fixtures/gemma3/vision-wide.png --json 2>/dev/null | grep -q '\"turns\": 1'"
fails_with "verify of a different model names the difference" "layers: source 1, candidate 6" $bin/verify fixtures/gemma3/tiny-hf-offgrid "$tmp/tiny.gguf"

# A fine-tune as the gemma library saves it (NESTED, bfloat16) and a Kauldron trainer checkpoint: inspect, convert
# (auto keeps BF16), chat on the checkpoint = chat on its conversion, --step.
check "inspect a NESTED fine-tune" bash -c "$bin/inspect fixtures/gemma-lib/tiny-nested | grep -q 'tree_layout=nested'"
check "convert a NESTED fine-tune keeps BF16" bash -c "$bin/convert fixtures/gemma-lib/tiny-nested -o $tmp/ft.gguf 2>&1 | grep -q '→ BF16'"
check "chat on the fine-tune = chat on its conversion" bash -c "[ \"\$($bin/chat fixtures/gemma-lib/tiny-nested -p 'once upon a time' --raw -n 8 --temp 0 2>/dev/null)\" = \"\$($bin/chat $tmp/ft.gguf -p 'once upon a time' --raw -n 8 --temp 0 2>/dev/null)\" ]"
check "convert a Kauldron checkpoint at --step 1" bash -c "$bin/convert fixtures/gemma-lib/tiny-kauldron --step 1 -o $tmp/k1.gguf 2>&1 | grep -q 'step 1'"
fails_with "a missing --step" "no step 9 here" $bin/convert fixtures/gemma-lib/tiny-kauldron --step 9 -o "$tmp/k9.gguf"
check "verify --step 1 against the step-1 conversion: weights KL 0; the default (newest) step differs" bash -c "$bin/verify fixtures/gemma-lib/tiny-kauldron --step 1 $tmp/k1.gguf --json -n 4 2>/dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if d[\"weights\"][\"kl_mean\"] == 0 and d[\"pass\"] else 1)' && ! $bin/verify fixtures/gemma-lib/tiny-kauldron $tmp/k1.gguf -n 4 >/dev/null 2>&1"
check "chat --step reads that step (logits differ from the newest; --step 2 is the newest)" bash -c "for s in 1 2; do $bin/chat fixtures/gemma-lib/tiny-kauldron --step \$s -p 'once upon a time' --raw --dump-logits $tmp/s\$s.npy || exit 1; done; $bin/chat fixtures/gemma-lib/tiny-kauldron -p 'once upon a time' --raw --dump-logits $tmp/sn.npy && ! cmp -s $tmp/s1.npy $tmp/sn.npy && cmp -s $tmp/s2.npy $tmp/sn.npy"
fails_with "chat --step that is not there" "no step 9 here" $bin/chat fixtures/gemma-lib/tiny-kauldron --step 9 -p x

# The real model: prepared by scripts/prepare-real-model.sh (make test); absent only on the explicit opt-out.
if [ "${KILN_SKIP_REAL_MODEL:-}" = 1 ]; then
  echo "cli-checks: real-model CLI checks skipped (KILN_SKIP_REAL_MODEL=1)"
else
  check "KILN_GEMMA270M is set and exists (run make test, or set KILN_SKIP_REAL_MODEL=1)" test -f "${KILN_GEMMA270M:-}"
  check "rewrite 270M" $bin/convert "${KILN_GEMMA270M:-}" -o "$tmp/rewrite.gguf"
  check "rewrite is byte-identical (sha256)" bash -c "[ \"\$(sha256sum < $tmp/rewrite.gguf)\" = \"\$(sha256sum < ${KILN_GEMMA270M:-})\" ]"
  rm -f "$tmp/rewrite.gguf"
fi

echo "cli-checks: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
