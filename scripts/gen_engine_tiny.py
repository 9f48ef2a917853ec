#!/usr/bin/env python3
"""A tiny random Gemma 3 GGUF and llama.cpp's logits for it: the reference for Kiln's engine without a real model.

Usage:  python scripts/gen_engine_tiny.py   (in a venv with llama-cpp-python 0.3.36, gguf 0.19.0 and numpy 2.4.6)
Writes  fixtures/engine/tiny-gemma3.gguf       (6 layers, d=64, 2 heads of 32, 1 KV head, vocab 256, window 3;
                                                 llama.cpp's fixed Gemma 3 pattern makes layer 5 the global one;
                                                 F32 norms, F16/Q8_0/Q5_0/Q4_0 matrices; a 256-token vocabulary
                                                 only so that llama.cpp loads the file)
        fixtures/engine/tiny-gemma3-llama.npy  (float32 [T, vocab] logits of every position, one batch, computed by
                                                 llama.cpp through scripts/llama_stages.py)
        fixtures/engine/tiny-gemma3.json       (the token ids and the versions)
These logits replace an earlier golden from a NumPy restatement of the model, which lived outside the repository.
"""
import json
import os
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as QT

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fixtures", "engine")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import llama_stages  # noqa: E402
import llama_cpp  # noqa: E402

D, FF, H, HKV, HD, V, NL = 64, 128, 2, 1, 32, 256, 6
rng = np.random.default_rng(20261127)


def normal(*shape, scale):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def main():
    path = os.path.join(OUT, "tiny-gemma3.gguf")
    w = gguf.GGUFWriter(path, "gemma3")
    w.add_uint32("gemma3.context_length", 128)
    w.add_uint32("gemma3.embedding_length", D)
    w.add_uint32("gemma3.block_count", NL)
    w.add_uint32("gemma3.feed_forward_length", FF)
    w.add_uint32("gemma3.attention.head_count", H)
    w.add_uint32("gemma3.attention.head_count_kv", HKV)
    w.add_uint32("gemma3.attention.key_length", HD)
    w.add_uint32("gemma3.attention.value_length", HD)
    w.add_float32("gemma3.attention.layer_norm_rms_epsilon", 1e-6)
    w.add_float32("gemma3.rope.freq_base", 1000000.0)
    w.add_uint32("gemma3.attention.sliding_window", 3)
    # A vocabulary llama.cpp accepts: control pad/eos/bos, unk, then byte tokens (its loader looks up "<0x0A>").
    w.add_tokenizer_model("llama")
    w.add_token_list(["<pad>", "<eos>", "<bos>", "<unk>"] + [f"<0x{i:02X}>" for i in range(4, V)])
    w.add_token_scores([0.0] * V)
    w.add_token_types([3, 3, 3, 2] + [6] * (V - 4))
    w.add_pad_token_id(0)
    w.add_eos_token_id(1)
    w.add_bos_token_id(2)
    w.add_unk_token_id(3)

    def mat(name, rows, cols, qtype, scale):
        a = normal(rows, cols, scale=scale)
        if qtype == QT.F32:
            w.add_tensor(name, a)
        elif qtype == QT.F16:
            w.add_tensor(name, a.astype(np.float16))
        else:
            w.add_tensor(name, gguf.quants.quantize(a, qtype), raw_dtype=qtype)

    def vec(name, n):
        w.add_tensor(name, (1.0 + normal(n, scale=0.1)).astype(np.float32))

    mat("token_embd.weight", V, D, QT.Q8_0, 1.0)
    vec("output_norm.weight", D)
    types = [QT.Q8_0, QT.Q5_0, QT.Q4_0, QT.F16]
    for il in range(NL):
        p = f"blk.{il}."
        t = types[il % len(types)]
        vec(p + "attn_norm.weight", D)
        mat(p + "attn_q.weight", H * HD, D, t, D ** -0.5)
        mat(p + "attn_k.weight", HKV * HD, D, types[(il + 1) % 4], D ** -0.5)
        mat(p + "attn_v.weight", HKV * HD, D, types[(il + 2) % 4], D ** -0.5)
        vec(p + "attn_q_norm.weight", HD)
        vec(p + "attn_k_norm.weight", HD)
        mat(p + "attn_output.weight", D, H * HD, types[(il + 3) % 4], (H * HD) ** -0.5)
        vec(p + "post_attention_norm.weight", D)
        vec(p + "ffn_norm.weight", D)
        mat(p + "ffn_gate.weight", FF, D, t, D ** -0.5)
        mat(p + "ffn_up.weight", FF, D, types[(il + 1) % 4], D ** -0.5)
        mat(p + "ffn_down.weight", D, FF, QT.F32 if il == 0 else types[(il + 2) % 4], FF ** -0.5)
        vec(p + "post_ffw_norm.weight", D)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    ids = [int(i) for i in rng.integers(0, V, size=12)]
    _, logits = llama_stages.dump(path, ids, n_ctx=128)
    np.save(os.path.join(OUT, "tiny-gemma3-llama.npy"), logits.astype(np.float32))
    json.dump({"generator": "scripts/gen_engine_tiny.py (llama.cpp via llama-cpp-python, scripts/llama_stages.py)",
               "ids": ids, "llama_cpp_python": llama_cpp.__version__, "numpy": np.__version__,
               "settings": {"n_ctx": 128, "n_threads": 2, "flash_attn": False, "batch": "all ids in one batch"}},
              open(os.path.join(OUT, "tiny-gemma3.json"), "w"), indent=1)
    print(f"wrote {path} ({os.path.getsize(path)} bytes), logits {logits.shape}, max |logit| {np.abs(logits).max():.2f}")


if __name__ == "__main__":
    main()
