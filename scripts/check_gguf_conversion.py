#!/usr/bin/env python3
"""gguf-py reads a GGUF that Kiln converted from the tiny Gemma 3, Gemma 2 or Gemma 1 fixtures and checks it against the HF
reference.

Uses: gguf (gguf-py) 0.19.0 GGUFReader and its own dequantizers (gguf.quants), safetensors 0.8.0, numpy.
Run by scripts/cli-checks.sh (make test):  python3 scripts/check_gguf_conversion.py OUT.gguf fixtures/gemma3/tiny-hf
(Gemma 2: fixtures/llama-converter/gemma2-tiny; Gemma 1: fixtures/llama-converter/gemma1-tiny-2b, written by transformers).
Checks: the file parses; every tensor has llama.cpp's gemma3/gemma2 name and ne; Q4_0 tensors dequantize (by gguf-py) to
the reference weights within the fp16 rounding of each block's scale; norms are 1 + weight exactly; the <arch>.* and
tokenizer keys llama.cpp reads are present with the right types (gemma2: the two soft-caps; gemma3: the RoPE base;
gemma: no window, and its ffn_norm is HF's post_attention_layernorm).
"""
import sys

import numpy as np
import gguf
from gguf import GGUFReader, GGUFValueType
from safetensors.numpy import load_file

PER = {"attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
       "attn_output": "self_attn.o_proj", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj",
       "ffn_down": "mlp.down_proj", "attn_q_norm": "self_attn.q_norm", "attn_k_norm": "self_attn.k_norm",
       "attn_norm": "input_layernorm", "post_attention_norm": "post_attention_layernorm",
       "ffn_norm": "pre_feedforward_layernorm", "post_ffw_norm": "post_feedforward_layernorm"}
MODEL_KEYS = {"context_length": GGUFValueType.UINT32, "embedding_length": GGUFValueType.UINT32,
              "block_count": GGUFValueType.UINT32, "feed_forward_length": GGUFValueType.UINT32,
              "attention.head_count": GGUFValueType.UINT32, "attention.head_count_kv": GGUFValueType.UINT32,
              "attention.key_length": GGUFValueType.UINT32, "attention.value_length": GGUFValueType.UINT32,
              "attention.layer_norm_rms_epsilon": GGUFValueType.FLOAT32,
              "attention.sliding_window": GGUFValueType.UINT32}
ARCH_KEYS = {"gemma3": {"rope.freq_base": GGUFValueType.FLOAT32},
             "gemma2": {"attn_logit_softcapping": GGUFValueType.FLOAT32,
                        "final_logit_softcapping": GGUFValueType.FLOAT32},
             "gemma": {}}
KEYS = {"tokenizer.ggml.model": GGUFValueType.STRING, "tokenizer.ggml.tokens": GGUFValueType.ARRAY,
        "tokenizer.ggml.scores": GGUFValueType.ARRAY, "tokenizer.ggml.token_type": GGUFValueType.ARRAY,
        "general.architecture": GGUFValueType.STRING}


def main():
    path, ref_dir = sys.argv[1], sys.argv[2]
    r = GGUFReader(path)
    ref = load_file(ref_dir + "/model.safetensors")
    arch = r.fields["general.architecture"].contents()
    keys = dict(KEYS)
    keys.update({f"{arch}.{k}": t for k, t in (MODEL_KEYS | ARCH_KEYS[arch]).items()
                 if not (arch == "gemma" and k == "attention.sliding_window")})
    per = dict(PER, ffn_norm="post_attention_layernorm") if arch == "gemma" else PER
    for k, t in keys.items():
        assert k in r.fields and r.fields[k].types[0] == t, f"{k} missing or wrong type"
    if arch in ("gemma2", "gemma"):
        assert not any(t.name.endswith(("attn_q_norm.weight", "attn_k_norm.weight")) for t in r.tensors)
    worst = 0.0
    for t in r.tensors:
        if t.name == "token_embd.weight":
            k = "model.embed_tokens.weight"
        elif t.name == "output_norm.weight":
            k = "model.norm.weight"
        else:
            _, i, n, _ = t.name.split(".")
            k = f"model.layers.{i}.{per[n]}.weight"
        want = ref[k].astype(np.float32)
        assert list(t.shape) == list(want.shape[::-1]), (t.name, t.shape, want.shape)
        got = gguf.quants.dequantize(t.data, t.tensor_type).reshape(want.shape)
        if want.ndim == 1:
            assert t.tensor_type == gguf.GGMLQuantizationType.F32 and np.array_equal(got, want + np.float32(1)), t.name
            continue
        blocks = want.reshape(-1, 32)
        bound = np.abs(blocks).max(-1, keepdims=True) / 7 * 8 * 2.0 ** -11
        err = np.abs(got.reshape(-1, 32) - blocks)
        assert (err <= bound + 1e-12).all(), (t.name, float((err - bound).max()))
        worst = max(worst, float((err / np.maximum(bound, 1e-30)).max()))
    print(f"gguf-py ({arch}): {len(r.tensors)} tensors, {len(r.fields)} fields OK; worst block error {worst:.2f} of the fp16-scale bound")


if __name__ == "__main__":
    main()
