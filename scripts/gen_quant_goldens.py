#!/usr/bin/env python3
"""Golden vectors for Kiln's QuantCore, produced by the real ggml.

Library: libggml-base.so shipped in llama-cpp-python 0.3.36 (ggml 0.25.3, commit 0c1e570, built from the
PyPI sdist by `pip install llama-cpp-python` with its defaults: GGML_NATIVE=ON, but ggml-base -- which holds
ggml-quants.c and ggml_quantize_chunk -- is compiled with plain `-O3 -std=gnu11`, no -march, hence no FMA).
The exact versions found at generation time are written into fixtures/quant/README.md.

Regenerate (from the repository root):
    . ~/.venvs/oracle/bin/activate        # needs llama-cpp-python and numpy
    python scripts/gen_quant_goldens.py   # writes fixtures/quant/*
Optional: GEMMA270M_GGUF=path adds a few real Gemma 3 270M rows (default ~/.cache/kiln/gemma-3-270m-q4_k_m.gguf,
skipped when absent; then gguf-py must be installed).

What is recorded, per type: ggml_quantize_chunk(type, rows, imatrix=NULL) bytes -- what llama-quantize calls --,
ggml's own to_float of those bytes, and the type's quantize_row_*_ref output when it differs from the chunk output
(Q8_K, which ggml_quantize_chunk does not accept, is recorded from quantize_row_q8_K_ref).

File formats (all little-endian):
  inputs.bin   "KQIN" u32 version=1, u32 ncases, then per case:
               u32 name_len, name (UTF-8), u32 nrows, u32 row_len, f32[nrows*row_len]
  <TYPE>.bin   "KQGT" u32 version=1, i32 ggml_type, u32 ncases, then per case:
               u32 case_index (into inputs.bin), u32 nbytes, u8[nbytes] quantized,
               f32[nrows*row_len] dequantized, u32 ref_nbytes (0 = _ref identical), u8[ref_nbytes]
Cases whose row length is not a multiple of the type's block size are absent from that type's file.
"""
import ctypes
import os
import struct
import sys

import numpy as np
import llama_cpp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fixtures", "quant")
LIBDIR = os.path.join(os.path.dirname(llama_cpp.__file__), "lib")
lib = ctypes.CDLL(os.path.join(LIBDIR, "libggml-base.so"))

lib.ggml_quantize_chunk.restype = ctypes.c_size_t
lib.ggml_quantize_chunk.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p,
                                    ctypes.c_int64, ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p]
lib.ggml_row_size.restype = ctypes.c_size_t
lib.ggml_row_size.argtypes = [ctypes.c_int, ctypes.c_int64]
lib.ggml_version.restype = ctypes.c_char_p
lib.ggml_commit.restype = ctypes.c_char_p

ROW_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)


class TypeTraits(ctypes.Structure):  # struct ggml_type_traits (ggml.h)
    _fields_ = [("type_name", ctypes.c_char_p), ("blck_size", ctypes.c_int64),
                ("blck_size_interleave", ctypes.c_int64), ("type_size", ctypes.c_size_t),
                ("is_quantized", ctypes.c_bool), ("to_float", ctypes.c_void_p), ("from_float_ref", ctypes.c_void_p)]


lib.ggml_get_type_traits.restype = ctypes.POINTER(TypeTraits)
lib.ggml_get_type_traits.argtypes = [ctypes.c_int]

# (name, ggml type id)
TYPES = [("F32", 0), ("F16", 1), ("BF16", 30), ("Q4_0", 2), ("Q4_1", 3), ("Q5_0", 6), ("Q5_1", 7), ("Q8_0", 8),
         ("Q2_K", 10), ("Q3_K", 11), ("Q4_K", 12), ("Q5_K", 13), ("Q6_K", 14), ("Q8_K", 15)]
# Q8_K (ggml's activation format) is not accepted by ggml_quantize_chunk; its goldens come from quantize_row_q8_K_ref.
REF_ONLY = {15}


def chunk_quantize(t, x):
    nrows, n = x.shape
    dst = np.zeros(lib.ggml_row_size(t, n) * nrows, dtype=np.uint8)
    x = np.ascontiguousarray(x, dtype=np.float32)
    size = lib.ggml_quantize_chunk(t, x.ctypes.data, dst.ctypes.data, 0, nrows, n, None)
    assert size == dst.size, (t, size, dst.size)
    return dst


def ref_quantize(t, x):
    tr = lib.ggml_get_type_traits(t).contents
    # the traits of Q8_K carry no from_float_ref; its reference quantizer is exported under its own name
    fn = ctypes.cast(lib.quantize_row_q8_K_ref, ctypes.c_void_p).value if t == 15 else tr.from_float_ref
    if not fn:
        return None
    x = np.ascontiguousarray(x, dtype=np.float32).ravel()
    dst = np.zeros(lib.ggml_row_size(t, x.size), dtype=np.uint8)
    ROW_FN(fn)(x.ctypes.data, dst.ctypes.data, x.size)
    return dst


def to_float(t, q, n):
    tr = lib.ggml_get_type_traits(t).contents
    if t == 15:  # Q8_K: exported under its own name
        out = np.zeros(n, dtype=np.float32)
        ROW_FN(ctypes.cast(lib.dequantize_row_q8_K, ctypes.c_void_p).value)(q.ctypes.data, out.ctypes.data, n)
        return out
    if not tr.to_float:  # F32 has no converter: the bytes are the floats
        return np.frombuffer(q.tobytes(), dtype=np.float32).copy()
    out = np.zeros(n, dtype=np.float32)
    ROW_FN(tr.to_float)(q.ctypes.data, out.ctypes.data, n)
    return out


def cases():
    rng = np.random.default_rng(20261127)
    f32 = np.float32

    def normal(rows, n, scale):
        return (rng.standard_normal((rows, n)) * scale).astype(f32)

    c = []
    c.append(("normal_s1", normal(4, 256, 1.0)))
    c.append(("normal_s0.02", normal(2, 512, 0.02)))
    c.append(("normal_s100", normal(1, 256, 100.0)))
    c.append(("zeros", np.zeros((1, 256), f32)))
    z = np.zeros((1, 256), f32); z[0, ::3] = -0.0; z[0, 100:132] = -0.0; z[0, 200] = 1e-3
    c.append(("signed_zeros", z))
    o = normal(1, 256, 0.02); o[0, 37] = 50.0; o[0, 200] = -3.0
    c.append(("outlier", o))
    c.append(("const_pos", np.full((1, 256), 0.3, f32)))
    c.append(("const_neg", np.full((1, 256), -0.7, f32)))
    c.append(("tiny_1e-30", normal(1, 256, 1e-30)))
    c.append(("huge_1e30", normal(1, 256, 1e30)))
    c.append(("subnormal", normal(1, 256, 1e-40)))
    m = normal(1, 256, 1.0)
    for b in range(8):  # every 32-block at its own magnitude, from 1 down to subnormal
        m[0, 32 * b:32 * b + 32] *= f32(10.0 ** (-6 * b))
    c.append(("mixed_magnitudes", m.astype(f32)))
    c.append(("negative_only", -np.abs(normal(1, 256, 0.5))))
    c.append(("positive_uniform", rng.uniform(0, 1, (1, 256)).astype(f32)))
    s = np.zeros((1, 512), f32); idx = rng.choice(512, 24, replace=False); s[0, idx] = normal(1, 24, 0.1)[0]
    c.append(("sparse", s))
    c.append(("ramp", np.linspace(-1, 1, 256, dtype=f32)[None, :]))
    c.append(("grid_eighths", (rng.integers(-8, 9, (1, 256)) * 0.125).astype(f32)))
    c.append(("halves", (rng.integers(-20, 21, (1, 256)) * 0.5 + 0.25).astype(f32)))
    c.append(("f16_overflow", normal(1, 256, 1e5)))
    c.append(("row4096", normal(1, 4096, 0.05)))
    c.append(("len96", normal(3, 96, 0.3)))
    c.append(("len160", normal(2, 160, 2.0)))
    c.extend(gemma_rows())
    return c


def gemma_rows():
    path = os.environ.get("GEMMA270M_GGUF", os.path.expanduser("~/.cache/kiln/gemma-3-270m-q4_k_m.gguf"))
    if not os.path.exists(path):
        print("note: no Gemma 270M GGUF, skipping real-weight rows", file=sys.stderr)
        return []
    from gguf import GGUFReader
    from gguf import quants as gq
    r = GGUFReader(path)
    out = []
    for t in r.tensors:
        if t.name in ("blk.3.ffn_down.weight", "blk.0.attn_q.weight"):
            raw = np.array(t.data)[:2]
            out.append(("gemma_" + t.name, gq.dequantize(raw, t.tensor_type).astype(np.float32)))
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    cs = cases()
    with open(os.path.join(OUT, "inputs.bin"), "wb") as f:
        f.write(b"KQIN" + struct.pack("<II", 1, len(cs)))
        for name, x in cs:
            nb = name.encode()
            f.write(struct.pack("<I", len(nb)) + nb + struct.pack("<II", *x.shape))
            f.write(np.ascontiguousarray(x, "<f4").tobytes())
    summary = []
    for tname, t in TYPES:
        blk = lib.ggml_get_type_traits(t).contents.blck_size
        recs = []
        ndiff = 0
        for ci, (name, x) in enumerate(cs):
            if x.shape[1] % blk:
                continue
            q = ref_quantize(t, x) if t in REF_ONLY else chunk_quantize(t, x)
            d = to_float(t, q, x.size)
            r = ref_quantize(t, x)
            refb = b""
            if r is not None and r.tobytes() != q.tobytes():
                refb = r.tobytes()
                ndiff += 1
            recs.append(struct.pack("<II", ci, q.size) + q.tobytes() + d.astype("<f4").tobytes()
                        + struct.pack("<I", len(refb)) + refb)
        with open(os.path.join(OUT, f"{tname}.bin"), "wb") as f:
            f.write(b"KQGT" + struct.pack("<IiI", 1, t, len(recs)))
            for rec in recs:
                f.write(rec)
        summary.append(f"| {tname} | {len(recs)} | {ndiff} |")
    ver = lib.ggml_version().decode()
    commit = lib.ggml_commit().decode()
    with open(os.path.join(OUT, "README.md"), "w") as f:
        f.write(f"""# QuantCore goldens

Generated by `scripts/gen_quant_goldens.py` (see its header for the file formats and how to regenerate) from
`libggml-base.so` of llama-cpp-python {llama_cpp.__version__} (ggml {ver}, commit {commit}), numpy {np.__version__}.
Quantized bytes come from `ggml_quantize_chunk(type, …, imatrix=NULL)`, dequantized floats from ggml's `to_float`.

| type | cases | cases where quantize_row_*_ref differs from ggml_quantize_chunk |
|---|---|---|
""" + "\n".join(summary) + """

`gemma3-270m-q4_k_m.types.json` and `gemma3-270m-mixes.json` (type-mix goldens: the real Gemma 3 270M Q4_K_M file's
tensor table, and llama.cpp's own per-tensor choice for every preset) come from `scripts/gen_quant_mix_golden.py`.
`scripts/quant-harness/` runs the QuantCore tests and a quantize benchmark on their own.
""")
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print(f"{len(cs)} cases, {total} bytes in {OUT} (llama-cpp-python {llama_cpp.__version__}, ggml {ver} {commit})")
    print("\n".join(summary))


if __name__ == "__main__":
    main()
