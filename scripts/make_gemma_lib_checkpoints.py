#!/usr/bin/env python3
"""Tiny Gemma 3 checkpoints written by Google's own `gemma` and `kauldron` libraries: the layouts a user gets after a
fine-tune, not the Kaggle release layout.

Why: Kiln's other Flax fixtures are written by our scripts in the FLAT Kaggle layout. A user who fine-tunes with the
`gemma` library saves `model.init()`'s NESTED tree with `gm.ckpts.save_params`; a Kauldron trainer saves a
`kd.train.TrainState` (step, params, opt_state, collections) with its CheckpointManager (`checkpoints/ckpt_<step>/`).
These fixtures come from those libraries' own save functions, so Kiln's reading of them does not rest on our
understanding of the layouts.

Produced by: gemma 3.3.0, kauldron 1.3.0, jax 0.6.2, flax 0.10.7, orbax-checkpoint 0.11.24, optax, numpy
(scripts/install-gemma-lib.sh installs them with their pins into ~/.cache/kiln-dev/venv-gemma).
Regenerate:  scripts/install-gemma-lib.sh && ~/.cache/kiln-dev/venv-gemma/bin/python scripts/make_gemma_lib_checkpoints.py
(then scripts/gen_gemma_goldens.py --only tiny-nested,tiny-kauldron for the library's logits on them).

Model: the library's `gm.nn.Gemma3_1B` config with tiny shapes (the same as fixtures/gemma3/tiny-kaggle: 6 layers,
width 64, 2 query heads, 1 KV head, head dim 32, FFN 128, the 400-piece tokenizer of tiny-kaggle), parameters from
`model.init` (seed 0). `model.init` leaves every RMSNorm scale at zero (a no-op under Gemma's `1 + scale`), which would
hide a converter that drops a norm, so each norm scale gets N(0, 0.1) noise (seed 1) before saving; and its token
embedding (std 0.01) gives near-uniform next-token distributions (entropy ≈ ln 400), which would make a logit
comparison weak, so the embedding is multiplied by 30 (logits spread over a few units, like a trained model's). Weights are then
cast to bfloat16, as a fine-tune usually stores them, so they are NOT on an int4 grid.

Outputs (fixtures/gemma-lib/):
- tiny-nested/ : tokenizer.model + ckpt/ — `gm.ckpts.save_params(params)` (NESTED tree, bfloat16).
- tiny-stacked/ : tokenizer.model + ckpt/ — the same params in the library's STACKED layout (its own
  `_checkpoint._nested_to_stacked` with an attention-pattern length of 2, so each stacked array holds 3 layers),
  saved with orbax's StandardCheckpointer as `gm.ckpts.save_params` does.
- tiny-nested-mixed/ : tokenizer.model + ckpt/ — the same params in float32 (`save_params`), with the token embedding
  and layer 0's q_einsum moved onto a symmetric int4 grid along their input axis (one scale per 32 inputs, codes in
  [-7, 7], numpy) and every other weight left off the grid: a tree that mixes both, for `--type auto`.
- tiny-kauldron/ : tokenizer.model + checkpoints/ckpt_1, ckpt_2 — kauldron's `kd.ckpts.Checkpointer` saving a
  `kd.train.TrainState` with an optax Adam state, at step 1 and step 2 (step 2's params are step 1's plus N(0, 0.01)
  noise, seed 2), so "latest step" and `--step 1` pick different weights.
Every checkpoint is read back with the library's own `gm.ckpts.load_params` and must equal what was saved (step 1 and
the NESTED and STACKED trees: the same arrays), so the fixtures are what the library itself reads.
"""
import os
import shutil
import sys

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, ".."))
OUT = os.path.join(ROOT, "fixtures", "gemma-lib")
TOKENIZER = os.path.join(ROOT, "fixtures", "gemma3", "tiny-kaggle", "tokenizer.model")
L, D, N, K, H, F, V = 6, 64, 2, 1, 32, 128, 400


def import_gemma():
    import kauldron.typing.type_check as type_check
    type_check.TYPECHECKING_ENABLED = False  # kauldron's jaxtyping checks lag typeguard; checks only
    from gemma import gm
    return gm


def tiny_config(gm):
    import dataclasses
    from gemma.gm.nn import _config
    base = gm.nn.Gemma3_1B.config
    return dataclasses.replace(
        base, num_embed=V, embed_dim=D, hidden_dim=F, num_heads=N, head_dim=H, num_kv_heads=K,
        attention_types=_config.make_attention_layers_types(tuple(base.attention_types[:6]), num_layers=L))


def init_params(gm, cfg, bfloat16=True):
    """`model.init` (seed 0) with the norm noise and embedding scale described above; cast to bfloat16 unless
    `bfloat16` is False (scripts/make_gemma2_fixtures.py keeps float32 numpy arrays)."""
    import jax
    import jax.numpy as jnp
    model = gm.nn.Transformer(config=cfg, dtype=jnp.float32)
    tokens = jnp.zeros((1, 8), dtype=jnp.int32)
    params = model.init(jax.random.key(0), tokens=tokens)["params"]
    rng = np.random.default_rng(1)

    def perturb(path, x):
        name = "/".join(str(getattr(k, "key", k)) for k in path)
        x = np.asarray(x, dtype=np.float32)
        if name.endswith("scale"):
            x = x + rng.normal(0, 0.1, x.shape).astype(np.float32)
        if name.endswith("input_embedding"):
            x = x * 30
        return jnp.asarray(x, dtype=jnp.bfloat16) if bfloat16 else x

    return jax.tree_util.tree_map_with_path(perturb, params)


def write_tokenizer(d):
    os.makedirs(d, exist_ok=True)
    shutil.copyfile(TOKENIZER, os.path.join(d, "tokenizer.model"))


def nested(gm, params):
    d = os.path.join(OUT, "tiny-nested")
    shutil.rmtree(d, ignore_errors=True)
    write_tokenizer(d)
    gm.ckpts.save_params(params, os.path.join(d, "ckpt"), wait_until_finished=True)


def stacked(gm, params):
    import orbax.checkpoint as ocp
    from gemma.gm.ckpts import _checkpoint
    d = os.path.join(OUT, "tiny-stacked")
    shutil.rmtree(d, ignore_errors=True)
    write_tokenizer(d)
    tree = _checkpoint._nested_to_stacked(params, 2)
    assert any(k.startswith("transformer/stacked_layers/attention_type_1") for k in tree), sorted(tree)[:5]
    ckpt = ocp.StandardCheckpointer()
    ckpt.save(os.path.join(d, "ckpt"), tree)
    ckpt.wait_until_finished()


def snap_to_grid(x, axis):
    """x with each run of 32 values along `axis` replaced by code × scale (scale = max|x| / 7, codes rounded)."""
    x = np.moveaxis(np.asarray(x, np.float32), axis, -1)
    blocks = x.reshape(*x.shape[:-1], x.shape[-1] // 32, 32)
    scale = np.abs(blocks).max(-1, keepdims=True) / 7
    codes = np.clip(np.round(blocks / np.where(scale == 0, 1, scale)), -7, 7)
    return np.moveaxis((codes * scale).astype(np.float32).reshape(x.shape), -1, axis)


def mixed(gm, params):
    import jax
    import jax.numpy as jnp
    d = os.path.join(OUT, "tiny-nested-mixed")
    shutil.rmtree(d, ignore_errors=True)
    write_tokenizer(d)
    p = jax.tree.map(lambda x: np.asarray(x, np.float32), params)
    p["embedder"]["input_embedding"] = snap_to_grid(p["embedder"]["input_embedding"], -1)   # (V, D): inputs D
    p["layer_0"]["attn"]["q_einsum"]["w"] = snap_to_grid(p["layer_0"]["attn"]["q_einsum"]["w"], 1)  # (N, D, H)
    gm.ckpts.save_params(jax.tree.map(jnp.asarray, p), os.path.join(d, "ckpt"), wait_until_finished=True)
    return p


def assert_reads_back(gm, path, params):
    import jax
    got = gm.ckpts.load_params(path)
    flat_a = {jax.tree_util.keystr(k): v for k, v in jax.tree_util.tree_leaves_with_path(params)}
    flat_b = {jax.tree_util.keystr(k): v for k, v in jax.tree_util.tree_leaves_with_path(got)}
    assert flat_a.keys() == flat_b.keys(), (path, sorted(set(flat_a) ^ set(flat_b))[:5])
    for k in flat_a:
        assert np.array_equal(np.asarray(flat_a[k], np.float32), np.asarray(flat_b[k], np.float32)), (path, k)
    print(f"read back by gm.ckpts.load_params: {os.path.relpath(path, ROOT)} ({len(flat_a)} arrays equal)", file=sys.stderr)


def kauldron(params):
    import jax
    import jax.numpy as jnp
    import optax
    from kauldron import kd
    d = os.path.join(OUT, "tiny-kauldron")
    shutil.rmtree(d, ignore_errors=True)
    write_tokenizer(d)
    ckpt = kd.ckpts.Checkpointer(workdir=d, save_interval_steps=1, max_to_keep=None)
    opt = optax.adam(1e-3)
    rng = np.random.default_rng(2)
    for step in (1, 2):
        if step == 2:
            params = jax.tree.map(lambda x: (x.astype(jnp.float32) + rng.normal(0, 0.01, x.shape)).astype(jnp.bfloat16),
                                  params)
        state = kd.train.TrainState(step=step, params=params, collections={}, opt_state=opt.init(params))
        ckpt.save(state, step=step)
        ckpt.wait_until_finished()
    ckpt.close()


def main():
    gm = import_gemma()
    cfg = tiny_config(gm)
    params = init_params(gm, cfg)
    os.makedirs(OUT, exist_ok=True)
    nested(gm, params)
    stacked(gm, params)
    kauldron(params)
    mixed_params = mixed(gm, params)
    assert_reads_back(gm, os.path.join(OUT, "tiny-nested-mixed/ckpt"), mixed_params)
    for path in ("tiny-nested/ckpt", "tiny-stacked/ckpt", "tiny-kauldron/checkpoints/ckpt_1"):
        assert_reads_back(gm, os.path.join(OUT, path), params)
    for root, _, files in os.walk(OUT):
        for f in files:
            p = os.path.join(root, f)
            print(os.path.relpath(p, ROOT), os.path.getsize(p), file=sys.stderr)


if __name__ == "__main__":
    main()
