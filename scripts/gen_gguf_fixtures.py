#!/usr/bin/env python3
"""Writes small GGUF fixtures with gguf-py (the reference writer) for Kiln's reader and writer tests.

Produced by: gguf (gguf-py) 0.19.0 and numpy 2.4.6 (`pip install gguf==0.19.0 numpy`).
Regenerate:  python3 scripts/gen_gguf_fixtures.py   (writes fixtures/gguf/)

Outputs
- all-value-types.gguf: every GGUF scalar value type, an array of every element type, unicode and empty strings,
  and tensors of several ggml types (F32, F16, I8, I16, I32, Q8_0 raw blocks, a 3-D and a 1-D tensor).
- aligned64.gguf: the same with general.alignment = 64.
- all-value-types.json: what was written (types, values, tensor values) so tests can check the reader against it.
"""
import json
import os
import sys

import numpy as np
import gguf
from gguf import GGUFWriter, GGUFValueType as VT, GGMLQuantizationType as QT

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "gguf")


def build(path, alignment=None):
    w = GGUFWriter(path, arch="kilntest")
    if alignment is not None:
        w.add_custom_alignment(alignment)  # sets both the key and the writer's padding
    kv = []

    def add(key, value, vtype, sub=None):
        w.add_key_value(key, value, vtype, sub_type=sub)
        kv.append({"key": key, "type": vtype.name, "value": value if sub is None else value,
                   **({"element_type": sub.name} if sub is not None else {})})

    add("test.uint8", 200, VT.UINT8)
    add("test.int8", -100, VT.INT8)
    add("test.uint16", 60000, VT.UINT16)
    add("test.int16", -30000, VT.INT16)
    add("test.uint32", 4000000000, VT.UINT32)
    add("test.int32", -2000000000, VT.INT32)
    add("test.float32", 0.1, VT.FLOAT32)
    add("test.bool_true", True, VT.BOOL)
    add("test.bool_false", False, VT.BOOL)
    add("test.string", "Kiln ▁ ünïcödé 🔥 \n\t\"quoted\"", VT.STRING)
    add("test.empty_string", "", VT.STRING)
    add("test.uint64", 18000000000000000000, VT.UINT64)
    add("test.int64", -9000000000000000000, VT.INT64)
    add("test.float64", 2.718281828459045, VT.FLOAT64)
    add("test.arr.uint8", [0, 1, 255], VT.ARRAY, VT.UINT8)
    add("test.arr.int8", [-128, 0, 127], VT.ARRAY, VT.INT8)
    add("test.arr.uint16", [0, 65535], VT.ARRAY, VT.UINT16)
    add("test.arr.int16", [-32768, 32767], VT.ARRAY, VT.INT16)
    add("test.arr.uint32", [1, 2, 4294967295], VT.ARRAY, VT.UINT32)
    add("test.arr.int32", [-1, 0, 1, 2147483647], VT.ARRAY, VT.INT32)
    add("test.arr.float32", [1.5, -2.25, 1e-30, 3.4e38], VT.ARRAY, VT.FLOAT32)
    add("test.arr.bool", [True, False, True], VT.ARRAY, VT.BOOL)
    add("test.arr.string", ["<pad>", "", "▁hello", "日本語"], VT.ARRAY, VT.STRING)
    add("test.arr.uint64", [0, 18446744073709551615], VT.ARRAY, VT.UINT64)
    add("test.arr.int64", [-9223372036854775808, 9223372036854775807], VT.ARRAY, VT.INT64)
    add("test.arr.float64", [0.1, -1e300], VT.ARRAY, VT.FLOAT64)
    add("test.arr.long", list(range(40)), VT.ARRAY, VT.INT32)

    rng = np.random.default_rng(7)
    tensors = []
    f32 = rng.standard_normal((3, 4)).astype(np.float32)
    w.add_tensor("t.f32", f32)
    tensors.append({"name": "t.f32", "ne": [4, 3], "type": "F32", "values": f32.ravel().tolist()})
    f16 = rng.standard_normal(8).astype(np.float16)
    w.add_tensor("t.f16", f16)
    tensors.append({"name": "t.f16", "ne": [8], "type": "F16", "values": f16.astype(np.float32).tolist()})
    i8 = np.arange(-5, 5, dtype=np.int8)
    w.add_tensor("t.i8", i8)
    tensors.append({"name": "t.i8", "ne": [10], "type": "I8", "values": i8.tolist()})
    i16 = np.array([[-300, 300], [7, 8]], dtype=np.int16)
    w.add_tensor("t.i16", i16)
    tensors.append({"name": "t.i16", "ne": [2, 2], "type": "I16", "values": i16.ravel().tolist()})
    i32 = np.array([1 << 30, -(1 << 30), 5], dtype=np.int32)
    w.add_tensor("t.i32", i32)
    tensors.append({"name": "t.i32", "ne": [3], "type": "I32", "values": i32.tolist()})
    cube = rng.standard_normal((2, 3, 5)).astype(np.float32)
    w.add_tensor("t.cube", cube)
    tensors.append({"name": "t.cube", "ne": [5, 3, 2], "type": "F32", "values": cube.ravel().tolist()})
    # Two Q8_0 rows of 32 values, quantized by gguf-py's own reference quantizer.
    q_src = rng.standard_normal((2, 32)).astype(np.float32)
    q = gguf.quants.quantize(q_src, QT.Q8_0)
    w.add_tensor("t.q8_0", q, raw_dtype=QT.Q8_0)
    tensors.append({"name": "t.q8_0", "ne": [32, 2], "type": "Q8_0",
                    "values": gguf.quants.dequantize(q, QT.Q8_0).ravel().tolist()})

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return kv, tensors


def main():
    os.makedirs(OUT, exist_ok=True)
    kv, tensors = build(os.path.join(OUT, "all-value-types.gguf"))
    build(os.path.join(OUT, "aligned64.gguf"), alignment=64)
    doc = {"generator": f"gguf-py {gguf.__version__ if hasattr(gguf, '__version__') else '0.19.0'}, numpy {np.__version__}",
           "metadata": kv, "tensors": tensors}
    with open(os.path.join(OUT, "all-value-types.json"), "w") as f:
        json.dump(doc, f, indent=1, ensure_ascii=False)
    print("wrote", OUT)


if __name__ == "__main__":
    sys.exit(main())
