#!/usr/bin/env python3
"""Tiny Gemma 2 checkpoints written by Google's own `gemma` library, in the Kaggle release's FLAT layout and in the
NESTED layout `gm.ckpts.save_params` writes after a fine-tune; and the same weights as a Hugging Face
`Gemma2ForCausalLM` checkpoint written by `transformers`, for llama.cpp's own converter (see --hf-python).

Produced by: gemma 3.3.0, jax 0.6.2, flax 0.10.7, orbax-checkpoint 0.11.24, numpy (scripts/install-gemma-lib.sh
installs them with their pins into ~/.cache/kiln-dev/venv-gemma); the HF half by transformers 4.57.6 + torch in the
llama.cpp converter venv (scripts/llama-converter-env.sh), through scripts/gen_gemma2_llama_converter_goldens.py.
Regenerate:
  scripts/install-gemma-lib.sh && ~/.cache/kiln-dev/venv-gemma/bin/python scripts/make_gemma2_fixtures.py \
      --hf-python "$(bash scripts/llama-converter-env.sh)"
  (then scripts/gen_gemma_goldens.py --only gemma2-tiny-flat,gemma2-tiny-nested --llama for the library's logits and
  llama.cpp's on Kiln's conversion).

Model: the library's `gm.nn.Gemma2_2B` config (attention soft-cap 50, final soft-cap 30, query scaling 1/sqrt(head
dim), post-attention and post-FFW norms, LOCAL_SLIDING/GLOBAL alternating) with tiny shapes: 4 layers, width 64, 2
query heads, 1 KV head, head dim 32, FFN 128, the 400-piece tokenizer of fixtures/gemma3/tiny-kaggle. The window
(which no Flax tree records) is the family's 4096 for the Flax fixtures — the value Kiln writes for a Flax Gemma 2 of
unknown size — and 8 in the HF twin's config.json, so the alternating window matters on 20-40-token prompts there
(the library's logits are computed for both: scripts/gen_gemma_goldens.py). Parameters from `model.init` (seed 0); every
RMSNorm scale gets N(0, 0.1) noise (seed 1, `init` leaves them at zero, which would hide a dropped norm) and the token
embedding is multiplied by 30 (logits spread over a few units), as scripts/make_gemma_lib_checkpoints.py does for
Gemma 3. Gemma2_2B's config stores `gating_einsum` as (2, D, F) (`transpose_gating_einsum=False`); the 9B and 27B
configs store (2, F, D).

Outputs:
- fixtures/gemma2/tiny-flat/ : tokenizer.model + gemma2-tiny/ — the FLAT Kaggle layout
  (`{'transformer/layer_0/attn/q_einsum': {'w': ...}}`, the library's own `_checkpoint._nested_to_flat`, saved with
  orbax's StandardCheckpointer), float32 with every 2-D weight on a symmetric int4 grid along its input axis (one
  scale max|x|/7 per 32 inputs, codes in [-7, 7]) as Kaggle's QAT releases store weights — so `--type auto` gives
  lossless Q4_0. Gating in Gemma2_2B's (2, D, F) order.
- fixtures/gemma2/tiny-nested/ : tokenizer.model + ckpt/ — `gm.ckpts.save_params` of the same weights cast to
  bfloat16 (a fine-tune's dtype: no longer on the grid), with the gating einsum in the 9B/27B (2, F, D) order, so the
  two fixtures cover both orders (the goldens run it with the Gemma2_9B config family, same tiny shapes).
Both are read back with the library's own `gm.ckpts.load_params` and must equal what was saved.
- with --hf-python: fixtures/llama-converter/gemma2-tiny/ (the FLAT fixture's float32 weights as Gemma2ForCausalLM)
  and fixtures/llama-converter/gemma2-goldens.json (llama.cpp's convert_hf_to_gguf.py on it).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, ".."))
OUT = os.path.join(ROOT, "fixtures", "gemma2")
sys.path.insert(0, HERE)
# The Gemma 3 library fixtures' helpers: importing the library, `model.init` with norm noise and embedding scale, the
# int4 grid, the tokenizer copy, the read-back check.
from make_gemma_lib_checkpoints import (TOKENIZER, assert_reads_back, import_gemma, init_params, snap_to_grid,  # noqa: E402
                                        write_tokenizer)
L, D, N, K, H, F, V, WINDOW = 4, 64, 2, 1, 32, 128, 400, 8


def tiny_config(gm, base_class, window=None):
    """`base_class`'s (a gm.nn Gemma 2 class) config with the tiny shapes, and `window` when given (else the family's
    4096). Shared with scripts/gen_gemma_goldens.py, which runs the library's forward pass on these fixtures."""
    import dataclasses
    base = getattr(gm.nn, base_class).config
    return dataclasses.replace(base, num_embed=V, embed_dim=D, hidden_dim=F, num_heads=N, head_dim=H, num_kv_heads=K,
                               attention_types=tuple(base.attention_types[:L]),
                               sliding_window_size=window or base.sliding_window_size)


# The input axis of each 2-D weight (the axis llama.cpp's rows run along after conversion).
INPUT_AXIS = {("embedder", "input_embedding"): 1, ("attn", "q_einsum", "w"): 1, ("attn", "kv_einsum", "w"): 2,
              ("attn", "attn_vec_einsum", "w"): 1, ("mlp", "gating_einsum"): 1, ("mlp", "linear"): 0}


def on_grid(params):
    import jax

    def snap(path, x):
        keys = tuple(str(getattr(k, "key", k)) for k in path)
        for suffix, axis in INPUT_AXIS.items():
            if keys[-len(suffix):] == suffix:
                return snap_to_grid(x, axis)
        return x

    return jax.tree_util.tree_map_with_path(snap, params)


def flat(params):
    import jax.numpy as jnp
    import orbax.checkpoint as ocp
    from gemma.gm.ckpts import _checkpoint
    d = os.path.join(OUT, "tiny-flat")
    shutil.rmtree(d, ignore_errors=True)
    write_tokenizer(d)
    tree = _checkpoint._nested_to_flat({k: v for k, v in params.items()})
    assert all(k.startswith("transformer/") for k in tree), sorted(tree)[:5]
    tree = {k: {kk: jnp.asarray(vv) for kk, vv in v.items()} for k, v in tree.items()}
    path = os.path.join(d, "gemma2-tiny")
    ckpt = ocp.StandardCheckpointer()
    ckpt.save(path, tree)
    ckpt.wait_until_finished()
    return path


def nested(gm, params):
    import jax
    import jax.numpy as jnp
    d = os.path.join(OUT, "tiny-nested")
    shutil.rmtree(d, ignore_errors=True)
    write_tokenizer(d)
    p = jax.tree.map(lambda x: x, params)
    for i in range(L):
        p[f"layer_{i}"]["mlp"]["gating_einsum"] = np.swapaxes(p[f"layer_{i}"]["mlp"]["gating_einsum"], 1, 2)
    p = jax.tree.map(lambda x: jnp.asarray(x, dtype=jnp.bfloat16), p)
    path = os.path.join(d, "ckpt")
    gm.ckpts.save_params(p, path, wait_until_finished=True)
    return path, p


def hf_tensors(params):
    """The FLAT fixture's weights under transformers' Gemma2ForCausalLM names and shapes (float32)."""
    out = {"model.embed_tokens.weight": params["embedder"]["input_embedding"],
           "model.norm.weight": params["final_norm"]["scale"]}
    for i in range(L):
        p, pre = params[f"layer_{i}"], f"model.layers.{i}."
        q = p["attn"]["q_einsum"]["w"]            # (N, D, H)
        kv = p["attn"]["kv_einsum"]["w"]          # (2, K, D, H)
        o = p["attn"]["attn_vec_einsum"]["w"]     # (N, H, D)
        gating = p["mlp"]["gating_einsum"]        # (2, D, F): Gemma2_2B order
        out[pre + "self_attn.q_proj.weight"] = q.transpose(0, 2, 1).reshape(N * H, D)
        out[pre + "self_attn.k_proj.weight"] = kv[0].transpose(0, 2, 1).reshape(K * H, D)
        out[pre + "self_attn.v_proj.weight"] = kv[1].transpose(0, 2, 1).reshape(K * H, D)
        out[pre + "self_attn.o_proj.weight"] = o.reshape(N * H, D).T
        out[pre + "mlp.gate_proj.weight"] = gating[0].T
        out[pre + "mlp.up_proj.weight"] = gating[1].T
        out[pre + "mlp.down_proj.weight"] = p["mlp"]["linear"].T
        out[pre + "input_layernorm.weight"] = p["pre_attention_norm"]["scale"]
        out[pre + "post_attention_layernorm.weight"] = p["post_attention_norm"]["scale"]
        out[pre + "pre_feedforward_layernorm.weight"] = p["pre_ffw_norm"]["scale"]
        out[pre + "post_feedforward_layernorm.weight"] = p["post_ffw_norm"]["scale"]
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in out.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hf-python", help="python of the llama.cpp converter venv: also write the HF checkpoint and "
                                        "llama.cpp's converter goldens")
    args = ap.parse_args()
    gm = import_gemma()
    cfg = tiny_config(gm, "Gemma2_2B", WINDOW)
    assert not cfg.transpose_gating_einsum and cfg.attn_logits_soft_cap == 50.0 and cfg.final_logit_softcap == 30.0
    params = on_grid(init_params(gm, cfg, bfloat16=False))
    os.makedirs(OUT, exist_ok=True)
    flat_path = flat(params)
    assert_reads_back(gm, flat_path, params)
    nested_path, nested_params = nested(gm, params)
    assert_reads_back(gm, nested_path, nested_params)
    if args.hf_python:
        with tempfile.TemporaryDirectory() as tmp:
            npz = os.path.join(tmp, "weights.npz")
            np.savez(npz, **hf_tensors(params))
            meta = {"layers": L, "width": D, "heads": N, "kv_heads": K, "head_dim": H, "ffn": F, "vocab": V,
                    "sliding_window": WINDOW, "attn_logit_softcapping": cfg.attn_logits_soft_cap,
                    "final_logit_softcapping": cfg.final_logit_softcap, "query_pre_attn_scalar": H,
                    "tokenizer": os.path.relpath(TOKENIZER, ROOT)}
            subprocess.run([args.hf_python, os.path.join(HERE, "gen_gemma2_llama_converter_goldens.py"), npz,
                            json.dumps(meta)], check=True)
    for root, _, files in os.walk(OUT):
        for f in files:
            p = os.path.join(root, f)
            print(os.path.relpath(p, ROOT), os.path.getsize(p), file=sys.stderr)


if __name__ == "__main__":
    main()
