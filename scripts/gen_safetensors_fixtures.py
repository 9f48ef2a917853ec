#!/usr/bin/env python3
"""Writes safetensors fixtures with the real `safetensors` package, and the expected raw values as .npy.

Produced by: safetensors 0.8.0, numpy 2.4.6, ml_dtypes (for bfloat16 / float8 arrays).
Regenerate:  python3 scripts/gen_safetensors_fixtures.py   (writes fixtures/safetensors/)

Outputs
- all-dtypes.safetensors: one small tensor of every dtype (F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL F8_E4M3 F8_E5M2),
  a scalar and an empty tensor, with __metadata__.
- expected/<name>.npy: the same values; bfloat16/float8 are stored as their raw bit patterns (uint16/uint8),
  so the test compares stored bytes exactly.
- expected/stats.json: numpy's min/max/mean/std of the float tensors (for `inspect --stats`).
- sharded/: a two-shard checkpoint with model.safetensors.index.json, as transformers writes it.
"""
import json
import os

import ml_dtypes
import numpy as np
from safetensors.numpy import save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "safetensors")


def main():
    rng = np.random.default_rng(11)
    os.makedirs(os.path.join(OUT, "expected"), exist_ok=True)
    os.makedirs(os.path.join(OUT, "sharded"), exist_ok=True)
    t = {
        "f64": rng.standard_normal((2, 3)),
        "f32": rng.standard_normal((4, 5)).astype(np.float32),
        "f16": rng.standard_normal((3, 2, 2)).astype(np.float16),
        "bf16": rng.standard_normal((2, 4)).astype(ml_dtypes.bfloat16),
        "i64": np.array([-(1 << 40), 0, 1 << 40], dtype=np.int64),
        "i32": np.arange(-6, 6, dtype=np.int32).reshape(3, 4),
        "i16": np.array([-32768, 32767], dtype=np.int16),
        "i8": np.arange(-8, 8, dtype=np.int8).reshape(4, 4),
        "u8": np.arange(0, 256, 17, dtype=np.uint8),
        "bool": np.array([True, False, True, True]),
        "f8_e4m3": rng.standard_normal(8).astype(ml_dtypes.float8_e4m3fn),
        "f8_e5m2": rng.standard_normal(8).astype(ml_dtypes.float8_e5m2),
        "scalar": np.array(3.5, dtype=np.float32),
        "empty": np.zeros((0, 4), dtype=np.float32),
    }
    save_file(t, os.path.join(OUT, "all-dtypes.safetensors"), metadata={"format": "np", "kiln": "fixture"})
    for name, a in t.items():
        raw = a
        if a.dtype == ml_dtypes.bfloat16:
            raw = a.view(np.uint16)
        elif a.dtype in (ml_dtypes.float8_e4m3fn, ml_dtypes.float8_e5m2):
            raw = a.view(np.uint8)
        np.save(os.path.join(OUT, "expected", name + ".npy"), raw)
        # float32 view of every float tensor, for decode tests
        if a.dtype.kind == "f" or a.dtype in (ml_dtypes.bfloat16, ml_dtypes.float8_e4m3fn, ml_dtypes.float8_e5m2):
            np.save(os.path.join(OUT, "expected", name + ".f32.npy"), a.astype(np.float32))

    # numpy's statistics of the float32 values (float64 accumulation; std is numpy's default population std).
    stats = {}
    for name in ("f64", "f32", "f16", "bf16"):
        v = t[name].astype(np.float64)
        stats[name] = {"min": float(v.min()), "max": float(v.max()), "mean": float(v.mean()), "std": float(v.std()),
                       "count": int(v.size)}
    with open(os.path.join(OUT, "expected", "stats.json"), "w") as f:
        json.dump(stats, f, indent=1)

    shard1 = {"model.embed_tokens.weight": rng.standard_normal((8, 4)).astype(np.float32),
              "model.norm.weight": rng.standard_normal(4).astype(np.float32)}
    shard2 = {"model.layers.0.mlp.up_proj.weight": rng.standard_normal((6, 4)).astype(np.float16)}
    names = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    save_file(shard1, os.path.join(OUT, "sharded", names[0]), metadata={"format": "pt"})
    save_file(shard2, os.path.join(OUT, "sharded", names[1]), metadata={"format": "pt"})
    weight_map = {k: names[0] for k in shard1} | {k: names[1] for k in shard2}
    total = sum(a.nbytes for a in list(shard1.values()) + list(shard2.values()))
    with open(os.path.join(OUT, "sharded", "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
    for k, a in (shard1 | shard2).items():
        np.save(os.path.join(OUT, "expected", "sharded." + k + ".npy"), a)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
