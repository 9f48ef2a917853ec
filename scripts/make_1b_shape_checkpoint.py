#!/usr/bin/env python3
"""Writes a Gemma 3 1B-SHAPED Kaggle-layout checkpoint with random weights, for memory measurements of the float path.

Not a fixture and not a model: random float32 weights lying exactly on a symmetric int4 grid (code × scale, one scale
per 32 inputs, as Kaggle's QAT int4 checkpoints store them), with Gemma 3 1B's shapes: 26 layers, d=1152, 4 query
heads, 1 KV head, head dim 256, ffn 6912, vocabulary 262144 (about 4 GB of float32). Laid out like
scripts/make_gemma3_fixtures.py's tiny-kaggle (a download root with tokenizer.model and a FLAT Orbax tree saved by the
real orbax StandardCheckpointer: OCDBT + zarr + zstd).

Produced by: orbax-checkpoint + tensorstore + jax + numpy from the Kiln cache venv (scripts/python-env.sh installs
them: `bash scripts/python-env.sh numpy jax orbax-checkpoint tensorstore`).
Usage: make_1b_shape_checkpoint.py --tokenizer TOKENIZER.model [--out DIR]
  TOKENIZER.model must have 262144 pieces (e.g. the Gemma 3 tokenizer that scripts/prepare-real-model.sh rebuilds,
  $KILN_CACHE/gemma3-270m-tokenizer.model, or the one beside the Kaggle-layout 270M checkpoint).
  DIR defaults to ~/.cache/kiln-dev/gemma3-1b-shape; the weights go to DIR/gemma3-1b-shape-int4.
"""
import argparse
import os
import shutil
import sys

import numpy as np

LAYERS, D, HEADS, KV_HEADS, HEAD_DIM, FFN, VOCAB = 26, 1152, 4, 1, 256, 6912, 262144


def grid(rng, rows, cols, std):
    """(rows, cols) float32 on a symmetric int4 grid along cols (groups of 32): codes in [-7, 7] × a group scale."""
    codes = rng.integers(-7, 8, size=(rows, cols // 32, 32), dtype=np.int8)
    scale = (rng.uniform(0.5, 1.5, size=(rows, cols // 32, 1)) * std / 4).astype(np.float32)
    return (codes.astype(np.float32) * scale).reshape(rows, cols)


def tree(seed):
    """The Flax FLAT parameter tree (names and axis orders of Kaggle's Gemma 3 checkpoints)."""
    rng = np.random.default_rng(seed)
    norm = lambda n: (rng.standard_normal(n) * 0.1).astype(np.float32)
    t = {"transformer/embedder": {"input_embedding": grid(rng, VOCAB, D, 0.03)},
         "transformer/final_norm": {"scale": norm(D)}}
    for i in range(LAYERS):
        p = f"transformer/layer_{i}/"
        q = grid(rng, HEADS * HEAD_DIM, D, 0.03).reshape(HEADS, HEAD_DIM, D).transpose(0, 2, 1)      # (N, D, H)
        k = grid(rng, KV_HEADS * HEAD_DIM, D, 0.03).reshape(KV_HEADS, HEAD_DIM, D).transpose(0, 2, 1)
        v = grid(rng, KV_HEADS * HEAD_DIM, D, 0.03).reshape(KV_HEADS, HEAD_DIM, D).transpose(0, 2, 1)
        o = grid(rng, D, HEADS * HEAD_DIM, 0.03).T.reshape(HEADS, HEAD_DIM, D)                        # (N, H, D)
        t[p + "attn/q_einsum"] = {"w": np.ascontiguousarray(q)}
        t[p + "attn/kv_einsum"] = {"w": np.ascontiguousarray(np.stack([k, v]))}
        t[p + "attn/attn_vec_einsum"] = {"w": np.ascontiguousarray(o)}
        t[p + "attn/_query_norm"] = {"scale": norm(HEAD_DIM)}
        t[p + "attn/_key_norm"] = {"scale": norm(HEAD_DIM)}
        for n in ("pre_attention_norm", "post_attention_norm", "pre_ffw_norm", "post_ffw_norm"):
            t[p + n] = {"scale": norm(D)}
        t[p + "mlp/gating_einsum"] = {"w": np.stack([grid(rng, FFN, D, 0.03), grid(rng, FFN, D, 0.03)])}   # (2, F, D)
        t[p + "mlp/linear"] = {"w": np.ascontiguousarray(grid(rng, D, FFN, 0.02).T)}                      # (F, D)
    return t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--out", default=os.path.expanduser("~/.cache/kiln-dev/gemma3-1b-shape"))
    a = ap.parse_args()
    import sentencepiece as spm
    pieces = spm.SentencePieceProcessor(model_file=a.tokenizer).vocab_size()
    if pieces != VOCAB:
        sys.exit(f"{a.tokenizer} has {pieces} pieces; a 1B-shaped checkpoint needs {VOCAB}")
    import orbax.checkpoint as ocp
    from etils import epath
    os.makedirs(a.out, exist_ok=True)
    shutil.copy(a.tokenizer, os.path.join(a.out, "tokenizer.model"))
    path = os.path.join(os.path.abspath(a.out), "gemma3-1b-shape-int4")
    if os.path.exists(path):
        shutil.rmtree(path)
    c = ocp.StandardCheckpointer()
    c.save(epath.Path(path), tree(11))
    c.wait_until_finished()
    print("wrote", path)


if __name__ == "__main__":
    main()
