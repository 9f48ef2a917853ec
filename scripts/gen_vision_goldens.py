#!/usr/bin/env python3
"""libmtmd's image decoding and image embeddings for test images of other sizes than the model's, as goldens for
Kiln's image path (decoding, mtmd's Gemma 3 preprocessing, the SigLIP encoder).

Produced by: llama.cpp's libmtmd and libllama as bundled in llama-cpp-python 0.3.36 (`llama_cpp.mtmd_cpp`:
mtmd_helper_bitmap_init_from_file — libmtmd's own stb_image decode — mtmd_bitmap_get_data, mtmd_tokenize,
mtmd_encode_chunk, mtmd_get_output_embd; CPU, 2 threads) and Pillow (its BILINEAR `Image.resize`, the resampler
mtmd's `img_tool::resize_pillow` reproduces), run on the mmproj and text model that Kiln's `convert` writes from
fixtures/gemma3/tiny-kaggle-vision with `--name gemma3-tiny-vision` (the same bytes scripts/gen_mmproj_goldens.py
recorded; checked here).

Regenerate:  ~/.cache/kiln-dev/oracle/bin/python scripts/gen_vision_goldens.py [--kiln .build/debug/convert]
             (the oracle venv holds llama-cpp-python 0.3.36, numpy, gguf, safetensors and pillow)
Writes (fixtures/gemma3/):
  vision-wide.png, vision-tall-grey.png   test images made by this script (PNG written here with zlib): 300x180 RGB
                                          (downscaled to the model's 224, letterboxed) and 90x140 8-bit grey
                                          (upscaled, pillarboxed); gradients, a checkerboard and a diagonal line, so
                                          that a pixel of misalignment shows in the embeddings
  vision-small.png, vision-small.jpg      24x16 images for the decoder's damaged-input tests and JPEG parity (the
                                          JPEG written by Pillow, quality 90, baseline)
  vision-goldens.json                     per image: its sha256; libmtmd's decoded RGB (size, sha256); for the two
                                          large ones, mtmd's preprocessing re-stated with Pillow (resized size,
                                          offset, sha256 of the padded 224x224 RGB) and libmtmd's embeddings
  vision-embeddings-<name>.npy            libmtmd's embeddings (float32, 256 x 64)
  vision-logits.json                      llama.cpp's logits after images: per case the chat prompt with image
                                          markers (libmtmd's mtmd_tokenize: <start_of_image> + 256 soft tokens +
                                          <end_of_image> per image, BOS first), its chunks (text token ids, image
                                          files), the logits of every text position after the first image (whole rows:
                                          the tiny vocabulary has 400 tokens) and a greedy continuation. Image chunks are
                                          decoded by mtmd_helper_eval_chunk_single (one batch, non-causal attention as
                                          libmtmd sets it for gemma3), text chunks with llama_decode and logits on every
                                          token; llama context n_ctx 1024, n_batch = n_ubatch = 512, flash attention
                                          off, 2 threads (the settings of the text-only tiny goldens).
"""
import argparse
import hashlib
import json
import os
import struct
import subprocess
import sys
import tempfile
import zlib

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIX = os.path.join(ROOT, "fixtures", "gemma3")
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from check_mmproj import encode_bitmap, mtmd_context  # noqa: E402  (same repo)

FIXTURE = "tiny-kaggle-vision"
NAME = "gemma3-tiny-vision"
CHAT = "<start_of_turn>user\n{}<end_of_turn>\n<start_of_turn>model\n"
LOGIT_CASES = [  # (name, images in order, text after them in the same user turn)
    ("one-image", ["vision-wide.png"], "describe the picture"),
    ("two-images", ["mmproj-image.ppm", "vision-tall-grey.png"], "which one is brighter ?"),
]
GREEDY = 8


def sha256_bytes(b):
    return hashlib.sha256(b).hexdigest()


def sha256_file(path):
    with open(path, "rb") as f:
        return sha256_bytes(f.read())


def write_png(path, pixels):
    """A PNG of uint8 pixels (H, W) grey or (H, W, 3) RGB: one IDAT, filter 0 on every row."""
    h, w = pixels.shape[:2]
    colour = 0 if pixels.ndim == 2 else 2
    raw = b"".join(b"\x00" + pixels[y].tobytes() for y in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, colour, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
    with open(path + ".tmp", "wb") as f:
        f.write(png)
    os.replace(path + ".tmp", path)


def pattern(w, h):
    """Gradients, a 10-pixel checkerboard and a diagonal line (RGB uint8)."""
    y, x = np.mgrid[0:h, 0:w]
    r = np.round(x * 255 / (w - 1))
    g = np.round(y * 255 / (h - 1))
    b = np.where(((x // 10) + (y // 10)) % 2 == 0, 30, 225)
    line = np.abs(x * h - y * w) < max(w, h)
    b = np.where(line, 128, b)
    return np.stack([r, g, b], axis=-1).clip(0, 255).astype(np.uint8)


def mtmd_letterbox(rgb, size):
    """mtmd's Gemma 3 preprocessing (mtmd_image_preprocessor_fixed_size → img_tool::resize with RESIZE_ALGO_BILINEAR
    and PAD_CEIL, black padding) re-stated with Pillow's BILINEAR resize: returns the padded uint8 image, the resized
    size and the offset."""
    from PIL import Image
    h, w = rgb.shape[:2]
    if (w, h) == (size, size):
        return rgb, (w, h), (0, 0)
    scale = min(np.float32(size) / np.float32(w), np.float32(size) / np.float32(h))  # float, as mtmd
    nw = min(int(np.ceil(np.float32(w) * scale)), size)
    nh = min(int(np.ceil(np.float32(h) * scale)), size)
    resized = np.asarray(Image.fromarray(rgb).resize((nw, nh), Image.BILINEAR))
    out = np.zeros((size, size, 3), np.uint8)
    ox, oy = (size - nw) // 2, (size - nh) // 2
    out[oy:oy + nh, ox:ox + nw] = resized
    return out, (nw, nh), (ox, oy)


def logits_after_images(text_path, mmproj_path):
    """llama.cpp's logits on the LOGIT_CASES (see the module docstring)."""
    import ctypes
    import llama_cpp
    from llama_cpp import mtmd_cpp as mtmd
    model = llama_cpp.llama_model_load_from_file(text_path.encode(), llama_cpp.llama_model_default_params())
    mctx = mtmd_context(mmproj_path, model)
    vocab = llama_cpp.llama_model_get_vocab(model)
    n_vocab = llama_cpp.llama_vocab_n_tokens(vocab)
    cases = []
    try:
        for name, files, text in LOGIT_CASES:
            cp = llama_cpp.llama_context_default_params()
            cp.n_ctx, cp.n_batch, cp.n_ubatch = 1024, 512, 512
            cp.n_threads = cp.n_threads_batch = 2
            cp.flash_attn_type = llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED
            lctx = llama_cpp.llama_init_from_model(model, cp)
            batch = llama_cpp.llama_batch_init(512, 0, 1)
            bitmaps = [mtmd.mtmd_helper_bitmap_init_from_file(mctx, os.path.join(FIX, f).encode(), False) for f in files]
            chunks = mtmd.mtmd_input_chunks_init()
            try:
                prompt = CHAT.format(mtmd.mtmd_default_marker().decode() * len(files) + text).encode()
                inp = mtmd.mtmd_input_text()
                inp.text, inp.text_len, inp.add_special, inp.parse_special = prompt, len(prompt), True, True
                arr = (mtmd.mtmd_bitmap_p_ctypes * len(bitmaps))(*bitmaps)
                if mtmd.mtmd_tokenize(mctx, chunks, ctypes.byref(inp), arr, len(bitmaps)) != 0:
                    raise SystemExit(f"{name}: mtmd_tokenize failed")
                n_past, layout, rows, seen_image, last = 0, [], [], False, None

                def decode(tokens, want_rows):
                    nonlocal n_past, last
                    batch.n_tokens = len(tokens)
                    for i, t in enumerate(tokens):
                        batch.token[i], batch.pos[i], batch.n_seq_id[i] = t, n_past + i, 1
                        batch.seq_id[i][0], batch.logits[i] = 0, 1
                    if llama_cpp.llama_decode(lctx, batch) != 0:
                        raise SystemExit(f"{name}: llama_decode failed")
                    n_past += len(tokens)
                    out = [np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(lctx, i), shape=(n_vocab,)).copy()
                           for i in range(len(tokens))]
                    last = out[-1]
                    if want_rows:
                        rows.extend(out)

                i_image = 0
                for i in range(mtmd.mtmd_input_chunks_size(chunks)):
                    c = mtmd.mtmd_input_chunks_get(chunks, i)
                    if mtmd.mtmd_input_chunk_get_type(c) == mtmd.MTMD_INPUT_CHUNK_TYPE_TEXT:
                        n = ctypes.c_size_t()
                        p = mtmd.mtmd_input_chunk_get_tokens_text(c, ctypes.byref(n))
                        tokens = [int(p[j]) for j in range(n.value)]
                        layout.append({"text": tokens})
                        decode(tokens, seen_image)
                    else:
                        new_past = llama_cpp.llama_pos(0)
                        if mtmd.mtmd_helper_eval_chunk_single(mctx, lctx, c, n_past, 0, 512, False, ctypes.byref(new_past)) != 0:
                            raise SystemExit(f"{name}: image chunk failed")
                        layout.append({"image": f"gemma3/{files[i_image]}", "n_tokens": mtmd.mtmd_input_chunk_get_n_tokens(c)})
                        n_past = new_past.value
                        i_image += 1
                        seen_image = True
                greedy = []
                for _ in range(GREEDY):
                    top = np.argsort(-last)[:2]
                    greedy.append({"id": int(top[0]), "margin": round(float(last[top[0]] - last[top[1]]), 6)})
                    decode([int(top[0])], False)
                cases.append({"name": name, "prompt": prompt.decode(), "chunks": layout,
                              "logits": [[round(float(v), 5) for v in r] for r in rows], "greedy": greedy})
                print(f"{name}: {len(rows)} text positions after the first image, greedy {[g['id'] for g in greedy]}")
            finally:
                mtmd.mtmd_input_chunks_free(chunks)
                for b in bitmaps:
                    mtmd.mtmd_bitmap_free(b)
                llama_cpp.llama_batch_free(batch)
                llama_cpp.llama_free(lctx)
    finally:
        mtmd.mtmd_free(mctx)
        llama_cpp.llama_model_free(model)
    return cases


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kiln", default=os.path.join(ROOT, ".build", "debug", "convert"), help="Kiln's convert binary")
    a = ap.parse_args()
    import ctypes
    import llama_cpp
    import PIL
    from PIL import Image
    from llama_cpp import mtmd_cpp as mtmd

    for f in os.listdir(FIX):
        if f.startswith("vision-embeddings-") and f.endswith(".npy"):
            os.remove(os.path.join(FIX, f))
    images = {
        "vision-wide.png": pattern(300, 180),
        "vision-tall-grey.png": pattern(90, 140)[:, :, 0] // 2 + pattern(90, 140)[:, :, 2] // 2,
        "vision-small.png": pattern(24, 16),
    }
    for name, px in images.items():
        write_png(os.path.join(FIX, name), px)
    jpg = os.path.join(FIX, "vision-small.jpg")
    Image.fromarray(pattern(24, 16)).save(jpg + ".tmp", format="JPEG", quality=90)
    os.replace(jpg + ".tmp", jpg)
    mmproj_goldens = json.load(open(os.path.join(FIX, "mmproj-goldens.json")))
    want_mmproj = next(f for f in mmproj_goldens["fixtures"] if f["fixture"] == f"gemma3/{FIXTURE}")["mmproj_sha256"]

    doc = {"generator": "scripts/gen_vision_goldens.py", "llama_cpp_python": llama_cpp.__version__,
           "pillow": PIL.__version__, "numpy": np.__version__,
           "kiln_convert": f"convert fixtures/gemma3/{FIXTURE} -o tiny.gguf --name {NAME} (mmproj beside it)",
           "image_size": None, "mmproj_sha256": None, "images": []}
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "tiny.gguf")
        subprocess.run([a.kiln, os.path.join(FIX, FIXTURE), "-o", out, "--name", NAME], check=True, stdout=subprocess.DEVNULL)
        mmproj = os.path.join(tmp, "mmproj-tiny.gguf")
        doc["mmproj_sha256"] = sha256_file(mmproj)
        text_sha = sha256_file(out)
        if doc["mmproj_sha256"] != want_mmproj:
            raise SystemExit(f"convert wrote mmproj {doc['mmproj_sha256']}, not the {want_mmproj} of mmproj-goldens.json")
        import gguf
        size = int(gguf.GGUFReader(mmproj).fields["clip.vision.image_size"].contents())
        doc["image_size"] = size
        llama_cpp.llama_backend_init()
        model = llama_cpp.llama_model_load_from_file(out.encode(), llama_cpp.llama_model_default_params())
        ctx = mtmd_context(mmproj, model)
        if not model or not ctx:
            raise SystemExit("llama.cpp could not load the converted fixture")
        try:
            for name in ["vision-wide.png", "vision-tall-grey.png", "vision-small.png", "vision-small.jpg"]:
                path = os.path.join(FIX, name)
                bitmap = mtmd.mtmd_helper_bitmap_init_from_file(ctx, path.encode(), False)
                if not bitmap:
                    raise SystemExit(f"libmtmd could not decode {name}")
                try:
                    w, h = mtmd.mtmd_bitmap_get_nx(bitmap), mtmd.mtmd_bitmap_get_ny(bitmap)
                    n = mtmd.mtmd_bitmap_get_n_bytes(bitmap)
                    data = ctypes.string_at(mtmd.mtmd_bitmap_get_data(bitmap), n)
                    entry = {"file": f"gemma3/{name}", "sha256": sha256_file(path),
                             "decoded": {"width": w, "height": h, "rgb_sha256": sha256_bytes(data),
                                         "first_pixels": list(data[:12])}}
                    if not name.startswith("vision-small"):
                        rgb = np.frombuffer(data, np.uint8).reshape(h, w, 3)
                        padded, (nw, nh), (ox, oy) = mtmd_letterbox(rgb, size)
                        entry["pillow_preprocessed"] = {"resized": [nw, nh], "offset": [ox, oy],
                                                        "rgb_sha256": sha256_bytes(padded.tobytes())}
                        emb = encode_bitmap(ctx, model, bitmap)
                        npy = f"vision-embeddings-{name.split('.')[0][len('vision-'):]}.npy"
                        np.save(os.path.join(FIX, npy), emb.astype(np.float32))
                        entry["embeddings"] = {"file": f"gemma3/{npy}", "shape": list(emb.shape),
                                               "min": float(emb.min()), "max": float(emb.max())}
                        print(f"{name}: {w}x{h} -> {nw}x{nh} at ({ox},{oy}); embeddings {emb.shape}")
                    else:
                        print(f"{name}: {w}x{h} decoded")
                    doc["images"].append(entry)
                finally:
                    mtmd.mtmd_bitmap_free(bitmap)
        finally:
            mtmd.mtmd_free(ctx)
            llama_cpp.llama_model_free(model)
        logit_cases = logits_after_images(out, mmproj)
    dst = os.path.join(FIX, "vision-logits.json")
    with open(dst + ".tmp", "w") as f:
        json.dump({"generator": "scripts/gen_vision_goldens.py", "llama_cpp_python": llama_cpp.__version__,
                   "text_sha256": text_sha, "mmproj_sha256": doc["mmproj_sha256"], "cases": logit_cases}, f)
    os.replace(dst + ".tmp", dst)
    print(f"wrote {dst}")
    dst = os.path.join(FIX, "vision-goldens.json")
    with open(dst + ".tmp", "w") as f:
        json.dump(doc, f, indent=1)
    os.replace(dst + ".tmp", dst)
    print(f"wrote {dst}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
