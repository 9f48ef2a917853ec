#!/usr/bin/env python3
"""Cross-checks Kiln's quantizers against ggml on data too large for the committed goldens.

Quantizes (a) five real Gemma 3 270M tensors (dequantized, slightly rescaled so requantization is not idempotent) and
(b) 2M random floats whose 32-blocks span 24 orders of magnitude, with zero/constant/tiny/huge blocks, with both
ggml_quantize_chunk (libggml-base.so of llama-cpp-python, imatrix=NULL) and Kiln's fast and reference paths, and
reports any byte that differs.

    . ~/.venvs/oracle/bin/activate
    (cd scripts/quant-harness && swift build -c release --scratch-path ../../.build-quant-harness --product QuantBench)
    python scripts/quant_crosscheck.py
"""
import ctypes
import os
import subprocess
import tempfile

import numpy as np
import llama_cpp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, ".build-quant-harness", "release", "QuantBench")
GEMMA = os.environ.get("GEMMA270M_GGUF", os.path.expanduser("~/.cache/kiln/gemma-3-270m-q4_k_m.gguf"))
TYPES = {"F16": 1, "BF16": 30, "Q4_0": 2, "Q4_1": 3, "Q5_0": 6, "Q5_1": 7, "Q8_0": 8,
         "Q2_K": 10, "Q3_K": 11, "Q4_K": 12, "Q5_K": 13, "Q6_K": 14}

lib = ctypes.CDLL(os.path.join(os.path.dirname(llama_cpp.__file__), "lib", "libggml-base.so"))
lib.ggml_quantize_chunk.restype = ctypes.c_size_t
lib.ggml_quantize_chunk.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p,
                                    ctypes.c_int64, ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p]
lib.ggml_row_size.restype = ctypes.c_size_t
lib.ggml_row_size.argtypes = [ctypes.c_int, ctypes.c_int64]


def check(label, x, tmp):
    nrows, n = x.shape
    src = os.path.join(tmp, "in.f32")
    out = os.path.join(tmp, "out.bin")
    np.ascontiguousarray(x, np.float32).tofile(src)
    bad = 0
    for name, tid in TYPES.items():
        if n % (256 if name.endswith("_K") else 32):
            continue
        want = np.zeros(lib.ggml_row_size(tid, n) * nrows, np.uint8)
        lib.ggml_quantize_chunk(tid, x.ctypes.data, want.ctypes.data, 0, nrows, n, None)
        for path in ("fast", "ref"):
            subprocess.run([BENCH, "--file", src, str(n), name, out, path], check=True)
            got = np.fromfile(out, np.uint8)
            if not np.array_equal(got, want):
                bad += 1
                print(f"  DIFFERS {label} {name} {path}: first byte {int(np.argmax(got != want))}, "
                      f"{np.mean(got != want):.6f} of bytes")
    print(f"{label} {x.shape}: {'all identical' if bad == 0 else f'{bad} mismatches'}")
    return bad


def main():
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        if os.path.exists(GEMMA):
            from gguf import GGUFReader
            from gguf import quants as gq
            names = {"blk.5.ffn_down.weight", "blk.6.attn_output.weight", "blk.9.ffn_gate.weight",
                     "blk.2.attn_q.weight", "blk.0.ffn_down.weight"}
            for t in GGUFReader(GEMMA).tensors:
                if t.name in names:
                    x = gq.dequantize(np.array(t.data), t.tensor_type).astype(np.float32)
                    x = (x.reshape(x.shape[0], -1) * np.float32(1.013) + np.float32(1e-4)).astype(np.float32)
                    bad += check(t.name, x, tmp)
        rng = np.random.default_rng(99)
        nrows, n = 512, 4096
        x = rng.standard_normal((nrows, n)).astype(np.float32)
        scales = (10.0 ** rng.uniform(-12, 12, (nrows, n // 32))).astype(np.float32)
        x = (x.reshape(nrows, n // 32, 32) * scales[:, :, None]).reshape(nrows, n).astype(np.float32)
        x[::7, :256] = 0
        x[::11, 256:512] = np.float32(3.5)
        x[::13, 512:768] *= np.float32(1e-30)
        x[::5, 1000] = np.float32(3e38)
        bad += check("random-magnitudes", x, tmp)
    raise SystemExit(1 if bad else 0)


if __name__ == "__main__":
    main()
