#!/usr/bin/env python3
"""libmtmd's image embeddings for Kiln's mmproj conversions of the tiny vision fixtures, as goldens.

Produced by: llama.cpp's libmtmd and libllama as bundled in llama-cpp-python 0.3.36 (`llama_cpp.mtmd_cpp`:
mtmd_init_from_file, mtmd_bitmap_init, mtmd_tokenize, mtmd_encode_chunk, mtmd_get_output_embd; CPU, 2 threads),
run on the mmproj (and text model) that Kiln's `convert` writes from fixtures/gemma3/tiny-kaggle-vision (Flax) and
fixtures/gemma3/tiny-hf-vision (HF), with `--name gemma3-tiny-vision` and otherwise default options.

Regenerate:  ~/.cache/kiln-dev/oracle/bin/python scripts/gen_mmproj_goldens.py [--kiln .build/release/convert]
             (needs `swift build -c release` first; the oracle venv holds llama-cpp-python 0.3.36, numpy, gguf,
             safetensors)
Writes:
  fixtures/gemma3/mmproj-image.ppm       the input: a 224x224 RGB gradient with a checkerboard, made by this script
                                         (binary PPM, so any reader can load it; already the model's image size, so
                                         no resize happens before normalisation)
  fixtures/gemma3/mmproj-goldens.json    per fixture: the mmproj's sha256 and size (the exact bytes libmtmd encoded),
                                         the text model's sha256, the embedding shape, statistics, the first rows, and
                                         the comparison with an independent NumPy SigLIP + Gemma 3 projector forward
                                         pass from the HF reference weights (scripts/check_mmproj.py)
  fixtures/gemma3/mmproj-embeddings-<sha256[:12]>.npy   libmtmd's full embeddings (float32, n_tokens x n_embd)

What is checked where: `make test` (Tests/ConversionTests/MMProjGoldenTests.swift) checks that Kiln still writes an
mmproj byte-identical to the file libmtmd encoded here (a regression lock on the bytes whose embeddings are
recorded); libmtmd's embeddings against the NumPy SigLIP are checked by this script (it fails when they disagree).
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIX = os.path.join(ROOT, "fixtures", "gemma3")
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from check_mmproj import encode_image, mtmd_context, numpy_reference_embeddings  # noqa: E402  (same repo)

FIXTURES = ["tiny-kaggle-vision", "tiny-hf-vision"]
REFERENCE = os.path.join(FIX, "tiny-hf-vision")  # the HF weights both fixtures carry
NAME = "gemma3-tiny-vision"
SIZE = 224
FIRST_ROWS = 2
# libmtmd runs the tower with F16 matrices (Kiln's default mmproj types, as llama.cpp's converter's) and F32
# activations; the NumPy reference runs in float64 from the float32 weights. 2% of max |ref| is the bound
# check_mmproj.py uses; cosine must be essentially 1.
MAX_REL = 2e-2
MIN_COS = 0.9999


def make_image():
    """A deterministic 224x224 RGB test image: three gradients plus an 8-pixel checkerboard in the blue channel."""
    y, x = np.mgrid[0:SIZE, 0:SIZE]
    r = np.round(x * 255 / (SIZE - 1))
    g = np.round(y * 255 / (SIZE - 1))
    b = np.where(((x // 8) + (y // 8)) % 2 == 0, 40, 215) + np.round((x + y) * 40 / (2 * (SIZE - 1))) - 20
    return np.stack([r, g, b], axis=-1).clip(0, 255).astype(np.uint8)


def write_ppm(path, rgb):
    h, w, _ = rgb.shape
    with open(path + ".tmp", "wb") as f:
        f.write(b"P6\n%d %d\n255\n" % (w, h))
        f.write(rgb.tobytes())
    os.replace(path + ".tmp", path)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def encode(text_path, mmproj_path, rgb):
    import llama_cpp
    from llama_cpp import mtmd_cpp as mtmd
    llama_cpp.llama_backend_init()
    model = llama_cpp.llama_model_load_from_file(text_path.encode(), llama_cpp.llama_model_default_params())
    if not model:
        raise SystemExit(f"llama.cpp could not load {text_path}")
    ctx = mtmd_context(mmproj_path, model)
    if not ctx:
        raise SystemExit(f"libmtmd could not load {mmproj_path}")
    try:
        return encode_image(ctx, model, rgb)
    finally:
        mtmd.mtmd_free(ctx)
        llama_cpp.llama_model_free(model)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kiln", default=os.path.join(ROOT, ".build", "release", "convert"), help="Kiln's convert binary")
    a = ap.parse_args()
    import llama_cpp

    for f in os.listdir(FIX):
        if f.startswith("mmproj-embeddings-") and f.endswith(".npy"):
            os.remove(os.path.join(FIX, f))
    rgb = make_image()
    image_path = os.path.join(FIX, "mmproj-image.ppm")
    write_ppm(image_path, rgb)
    pixels = (rgb.astype(np.float32) / 255.0 - 0.5) / 0.5  # Gemma 3's preprocessing: rescale 1/255, mean 0.5, std 0.5
    want = numpy_reference_embeddings(REFERENCE, pixels.transpose(2, 0, 1))

    doc = {"generator": "scripts/gen_mmproj_goldens.py",
           "llama_cpp_python": llama_cpp.__version__, "numpy": np.__version__,
           "kiln_convert": f"convert FIXTURE -o tiny.gguf --name {NAME} (mmproj beside it, default types)",
           "image": {"file": "gemma3/mmproj-image.ppm", "sha256": sha256(image_path), "width": SIZE, "height": SIZE},
           "numpy_reference": "scripts/check_mmproj.py numpy_reference_embeddings on fixtures/gemma3/tiny-hf-vision",
           "tolerance": {"max_rel": MAX_REL, "min_cosine": MIN_COS},
           "fixtures": []}
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for fx in FIXTURES:
            out = os.path.join(tmp, fx, "tiny.gguf")
            os.makedirs(os.path.dirname(out))
            subprocess.run([a.kiln, os.path.join(FIX, fx), "-o", out, "--name", NAME], check=True, stdout=subprocess.DEVNULL)
            mmproj = os.path.join(os.path.dirname(out), "mmproj-tiny.gguf")
            got = encode(out, mmproj, rgb)
            digest = sha256(mmproj)
            npy = f"mmproj-embeddings-{digest[:12]}.npy"
            np.save(os.path.join(FIX, npy), got.astype(np.float32))
            err = float(np.abs(got - want).max())
            rel = err / float(np.abs(want).max())
            cos = float((got * want).sum() / np.linalg.norm(got) / np.linalg.norm(want))
            good = got.shape == want.shape and rel <= MAX_REL and cos >= MIN_COS
            ok = ok and good
            doc["fixtures"].append({
                "fixture": f"gemma3/{fx}",
                "mmproj_sha256": digest, "mmproj_bytes": os.path.getsize(mmproj),
                "text_sha256": sha256(out),
                "embeddings": {"file": f"gemma3/{npy}", "shape": list(got.shape),
                               "min": float(got.min()), "max": float(got.max()), "mean": float(got.mean()),
                               "std": float(got.std()),
                               "first_rows": [[round(float(v), 6) for v in row] for row in got[:FIRST_ROWS]]},
                "vs_numpy_siglip": {"max_abs_diff": err, "max_rel_diff": rel, "cosine": cos, "ok": good},
            })
            print(f"{fx}: mmproj {digest[:12]} ({os.path.getsize(mmproj)} bytes), embeddings {got.shape}; "
                  f"vs NumPy SigLIP max |Δ| {err:.3g} ({rel:.3g} of max), cosine {cos:.6f} -> {'OK' if good else 'MISMATCH'}")
    dst = os.path.join(FIX, "mmproj-goldens.json")
    with open(dst + ".tmp", "w") as f:
        json.dump(doc, f, indent=1)
    os.replace(dst + ".tmp", dst)
    print(f"wrote {dst}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
