#!/usr/bin/env python3
"""What the vision tower of the tiny Kaggle-layout vision checkpoint computes, according to Google DeepMind's own
`gemma` library: the soft tokens the text model reads for an image (`Transformer._encode_vision`: patchify with the
library's preprocessing, `SigLiPFromPatches`, then `Embedder.encode_vision` — soft-embedding RMSNorm and projection).

Ground truth: `gemma` 3.3.0 (scripts/install-gemma-lib.sh), reading fixtures/gemma3/tiny-kaggle-vision itself with
`gm.ckpts.load_params`; the model is the library's `Gemma3_4B` config with the checkpoint's shapes, exactly as
scripts/gen_gemma_goldens.py builds it (`tiny_model`), float32, `jax_default_matmul_precision = highest`.
Images are given at the model's 224×224, so the library's own bilinear resize is the identity and both sides see the
same pixels (the library normalises with (x − 127.5)/127.5, mtmd with (x/255 − 0.5)/0.5):
  - fixtures/gemma3/mmproj-image.ppm (224×224 already);
  - fixtures/gemma3/vision-wide.png letterboxed to 224×224 as libmtmd does it (scripts/gen_vision_goldens.py's
    `mtmd_letterbox`, Pillow bilinear; the pixels Kiln's own letterbox must reproduce byte for byte).
Output: fixtures/gemma3/gemma-vision-<image>.npy (float32, 256 × 64) and fixtures/gemma3/gemma-vision.json (versions,
shapes, which pixels were fed).

Regenerate:  scripts/install-gemma-lib.sh && ~/.cache/kiln-dev/venv-gemma/bin/python scripts/gen_gemma_vision_goldens.py
             (Pillow is needed for the letterbox: pip install pillow into that venv)
"""
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, ".."))
FIX = os.path.join(ROOT, "fixtures", "gemma3")
sys.path.insert(0, HERE)
from gen_gemma_goldens import import_gemma, tiny_model, weights_dir  # noqa: E402  (same repo)
from gen_vision_goldens import mtmd_letterbox  # noqa: E402


def read_ppm(path):
    data = open(path, "rb").read()
    parts = data.split(b"\n", 3)
    assert parts[0] == b"P6" and parts[2] == b"255"
    w, h = map(int, parts[1].split())
    return np.frombuffer(parts[3][: w * h * 3], np.uint8).reshape(h, w, 3)


def main():
    import jax
    from PIL import Image
    jax.config.update("jax_default_matmul_precision", "highest")
    gemma, gm = import_gemma()
    ckpt = os.path.join(FIX, "tiny-kaggle-vision")
    params = gm.ckpts.load_params(weights_dir(ckpt))
    model, cfg = tiny_model(gm, params, "Gemma3_4B")
    size = cfg.vision_encoder.image_height
    images = {
        "mmproj-image": ("gemma3/mmproj-image.ppm", read_ppm(os.path.join(FIX, "mmproj-image.ppm"))),
        "wide-letterboxed": ("gemma3/vision-wide.png letterboxed by mtmd's rule",
                             mtmd_letterbox(np.asarray(Image.open(os.path.join(FIX, "vision-wide.png")).convert("RGB")), size)[0]),
    }
    doc = {"generator": "scripts/gen_gemma_vision_goldens.py", "gemma": gemma.__version__, "jax": jax.__version__,
           "numpy": np.__version__, "checkpoint": "fixtures/gemma3/tiny-kaggle-vision", "config": "Gemma3_4B with the checkpoint's shapes",
           "image_size": size, "images": []}
    for name, (what, rgb) in images.items():
        assert rgb.shape == (size, size, 3)
        x = np.asarray(rgb, np.float32)[None, None]  # B N H W C
        soft = model.apply({"params": params}, x, method=model._encode_vision)
        soft = np.asarray(soft, np.float32).reshape(-1, cfg.embed_dim)
        npy = f"gemma-vision-{name}.npy"
        np.save(os.path.join(FIX, npy), soft)
        doc["images"].append({"name": name, "pixels": what, "embeddings": f"gemma3/{npy}", "shape": list(soft.shape),
                              "min": float(soft.min()), "max": float(soft.max())})
        print(f"{name}: {soft.shape}, range [{soft.min():.4f}, {soft.max():.4f}]")
    dst = os.path.join(FIX, "gemma-vision.json")
    with open(dst + ".tmp", "w") as f:
        json.dump(doc, f, indent=1)
    os.replace(dst + ".tmp", dst)
    print("wrote", dst)


if __name__ == "__main__":
    main()
