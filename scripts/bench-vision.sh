#!/usr/bin/env bash
# Image encoding time of Kiln's Gemma 3 SigLIP against llama.cpp's libmtmd on the same full-size random mmproj
# (scripts/make_random_mmproj.py: So400m/14, 896 px, 27 blocks) and the same image, 2 threads, alternating runs, best
# shown. Kiln: `chat MODEL --image IMG -p x -n 0`, its "image encoded in S s" (preprocessing + encoder + projector).
# llama.cpp: llama-cpp-python 0.3.36's libmtmd, mtmd_encode_chunk after mtmd_tokenize (which already preprocessed the
# image), default context parameters (flash attention auto), CPU. The text model is the real 270M (its width, 640,
# is the random projector's output width; the text model does no work here).
# Usage: scripts/bench-vision.sh [RUNS] [MODEL.gguf]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-2}"
MODEL="${2:-$(bash scripts/fetch-gemma270m.sh)}"
IMG=fixtures/gemma3/vision-wide.png
CHAT=.build/release/chat   # `make bench` builds it
[ -x "$CHAT" ] || swift build -c release --product chat >/dev/null
cache="${KILN_CACHE:-$HOME/.cache/kiln}"
bash scripts/python-env.sh numpy==2.4.6 gguf==0.19.0
PY="${KILN_PYTHON:-$cache/venv/bin/python}"
"$PY" -c "import llama_cpp" 2>/dev/null || { echo "installing llama-cpp-python (builds llama.cpp, ~7 min)"; bash scripts/python-env.sh llama-cpp-python==0.3.36; PY="$cache/venv/bin/python"; }

# The mmproj is keyed by the script that makes it; the model is linked beside it so `chat` finds it by name.
key=$(sha256sum scripts/make_random_mmproj.py | head -c 16)
dir="$cache/bench-vision-$key"
mkdir -p "$dir"
[ -f "$dir/mmproj-model.gguf" ] || "$cache/venv/bin/python" scripts/make_random_mmproj.py "$dir/mmproj-model.gguf" --text-width 640
ln -sf "$(realpath "$MODEL")" "$dir/model.gguf"

ours() {
  "$CHAT" "$dir/model.gguf" --image "$IMG" -p x -n 0 --threads 2 --ctx 512 2>&1 >/dev/null \
    | sed -n 's/.*image encoded in \([0-9.]*\) s.*/\1/p'
}

theirs() {
  "$PY" - "$dir/model.gguf" "$dir/mmproj-model.gguf" "$IMG" <<'PY' 2>/dev/null
import ctypes, sys, time
import llama_cpp
from llama_cpp import mtmd_cpp as mtmd
model_path, mmproj, image = sys.argv[1:4]
llama_cpp.llama_backend_init()
model = llama_cpp.llama_model_load_from_file(model_path.encode(), llama_cpp.llama_model_default_params())
cp = mtmd.mtmd_context_params_default()
cp.use_gpu, cp.n_threads, cp.print_timings = False, 2, False
ctx = mtmd.mtmd_init_from_file(mmproj.encode(), model, cp)
bitmap = mtmd.mtmd_helper_bitmap_init_from_file(ctx, image.encode(), False)
chunks = mtmd.mtmd_input_chunks_init()
prompt = f"<start_of_turn>user\n{mtmd.mtmd_default_marker().decode()}x<end_of_turn>".encode()
text = mtmd.mtmd_input_text()
text.text, text.text_len, text.add_special, text.parse_special = prompt, len(prompt), True, True
assert mtmd.mtmd_tokenize(ctx, chunks, ctypes.byref(text), (mtmd.mtmd_bitmap_p_ctypes * 1)(bitmap), 1) == 0
chunk = next(mtmd.mtmd_input_chunks_get(chunks, i) for i in range(mtmd.mtmd_input_chunks_size(chunks))
             if mtmd.mtmd_input_chunk_get_type(mtmd.mtmd_input_chunks_get(chunks, i)) == mtmd.MTMD_INPUT_CHUNK_TYPE_IMAGE)
t0 = time.perf_counter()
assert mtmd.mtmd_encode_chunk(ctx, chunk) == 0
print(f"{time.perf_counter() - t0:.2f}")
PY
}

echo "mmproj: $dir/mmproj-model.gguf ($(stat -c %s "$dir/mmproj-model.gguf") bytes); image $IMG; $RUNS alternating runs, 2 threads"
best_o=0; best_t=0
for i in $(seq "$RUNS"); do
  o=$(ours); t=$(theirs)
  echo "  run $i: kiln $o s | libmtmd $t s"
  best_o=$(python3 -c "print($o if $best_o == 0 else min($best_o, $o))"); best_t=$(python3 -c "print($t if $best_t == 0 else min($best_t, $t))")
done
python3 -c "print(f'best: kiln $best_o s, libmtmd $best_t s; ratio {$best_o/$best_t:.2f}x (target <= 1.5x)')"
