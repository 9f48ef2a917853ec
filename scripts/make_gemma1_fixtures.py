#!/usr/bin/env python3
"""Tiny Gemma 1 checkpoints (llama.cpp architecture `gemma`, also CodeGemma's) written by Google DeepMind's original
Gemma 1 Flax library, in the Kaggle release's FLAT Orbax layout, and the library's own logits on them; with
--hf-python also the same weights as a Hugging Face `GemmaForCausalLM` checkpoint written by `transformers`, for
llama.cpp's own converter (scripts/gen_gemma1_llama_converter_goldens.py).

Produced by: gemma-llm 1.0.0 (PyPI; import name `gemma`), jax 0.4.23, flax 0.7.5, orbax-checkpoint 0.4.8, numpy
1.26.4, sentencepiece 0.1.99 (scripts/install-gemma1-lib.sh installs them into ~/.cache/kiln-dev/venv-gemma1); the HF
half by transformers 4.57.6 + torch in the llama.cpp converter venv (scripts/llama-converter-env.sh).
Regenerate:
  scripts/install-gemma1-lib.sh && ~/.cache/kiln-dev/venv-gemma1/bin/python scripts/make_gemma1_fixtures.py \
      --hf-python "$(bash scripts/llama-converter-env.sh)"
  then, with Kiln built (swift build --product convert), the llama.cpp figures on Kiln's conversions:
  ~/.cache/kiln-dev/venv-gemma1/bin/python scripts/make_gemma1_fixtures.py --reuse --llama

Models: the library's `TransformerConfig` with tiny shapes (3 layers, width 64, head dim 32, FFN 128, the 400-piece
tokenizer of fixtures/gemma3/tiny-kaggle), in the two layouts Kaggle's Gemma 1 releases use:
- fixtures/gemma1/tiny-2b/ : 2B-style multi-query attention (2 query heads, 1 KV head: separate `q_einsum` and
  `kv_einsum`), float32 with every 2-D weight on a symmetric int4 grid along its input axis (one scale max|x|/7 per 32
  inputs), so `--type auto` gives lossless Q4_0;
- fixtures/gemma1/tiny-7b/ : 7B-style (2 query heads = 2 KV heads: the fused `qkv_einsum` of shape (3, N, D, H)),
  plain float32.
Parameters from the library's own `Transformer.init` (seed 0). `init` leaves RMSNorm scales and the FFN weights
(`gating_einsum`, `linear`) at zero, which would hide a dropped norm or FFN: every norm scale gets N(0, 0.1) noise,
each FFN weight N(0, 0.05) (seed 1); the token embedding (init N(0, 0.01)) is multiplied by 12 and the attention
einsums (init N(0, 0.01)) by 10, so attention and FFN move the residual as much as the embedding does and logits
spread over a few units (the idea of scripts/make_gemma_lib_checkpoints.py's Gemma 3 scaling).
The FLAT tree is what the library's `params.param_remapper` undoes: `{'transformer/layer_0/attn/q_einsum': {'w'},
'transformer/layer_0/mlp/gating_einsum': {'w'}, 'transformer/embedder': {'input_embedding'}, ...}`, saved with the
library's era orbax `PyTreeCheckpointer` (the class its `params.load_params` restores with). Each checkpoint is read
back with the library's `params.load_and_format_params` + `TransformerConfig.from_params` and must equal what was
saved, with the intended shapes and attention kind.

Goldens: fixtures/verify/gemma1-tiny-2b.json, gemma1-tiny-7b.json — the library's float32 logits (`Transformer`
with `make_causal_attn_mask`/`build_positions_from_mask`, matmul precision "highest") on scripts/gen_gemma_goldens.py's
prompts, in that script's compact format (`compact`: lse, top-64 ids and logits, log tail). With --llama, llama.cpp
(llama-cpp-python, --llama-python) scores Kiln's F32 (and for tiny-2b the default lossless Q4_0) conversion of each
checkpoint (gen_gemma_goldens.llama_compare; --convert names Kiln's binary).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

os.environ.setdefault("JAX_PLATFORMS", "cpu")
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, ".."))
OUT = os.path.join(ROOT, "fixtures", "gemma1")
sys.path.insert(0, HERE)
# Pure-numpy helpers: the int4 grid and tokenizer copy (Gemma 3 library fixtures), the prompts, compact golden format
# and llama.cpp comparison (gen_gemma_goldens.py). Neither imports the gemma 3.3.0 library at module level.
from make_gemma_lib_checkpoints import TOKENIZER, snap_to_grid, write_tokenizer  # noqa: E402
import gen_gemma_goldens as goldens  # noqa: E402

L, D, H, F, V = 3, 64, 32, 128, 400
MODELS = {"tiny-2b": dict(num_heads=2, num_kv_heads=1, grid=True), "tiny-7b": dict(num_heads=2, num_kv_heads=2, grid=False)}
# The input axis of each 2-D weight (the axis llama.cpp's rows run along after conversion), by parameter path suffix.
INPUT_AXIS = {("embedder", "input_embedding"): 1, ("attn", "q_einsum", "w"): 1, ("attn", "kv_einsum", "w"): 2,
              ("attn", "qkv_einsum", "w"): 2, ("attn", "attn_vec_einsum", "w"): 1, ("mlp", "gating_einsum"): 1,
              ("mlp", "linear"): 0}


def config(num_heads, num_kv_heads):
    from gemma import transformer
    return transformer.TransformerConfig(num_layers=L, num_embed=V, embed_dim=D, hidden_dim=F, num_heads=num_heads,
                                         head_dim=H, num_kv_heads=num_kv_heads, max_cache_length=128)


def init_params(cfg, grid):
    import jax
    import jax.numpy as jnp
    from gemma import transformer
    model = transformer.Transformer(config=cfg)
    tokens = jnp.ones((1, 8), dtype=jnp.int32)
    mask = tokens != 0
    params = model.init(jax.random.PRNGKey(0), tokens, transformer.build_positions_from_mask(mask), None,
                        transformer.make_causal_attn_mask(mask))["params"]
    params = jax.tree_util.tree_map(lambda x: np.asarray(x, np.float32), params)
    rng = np.random.default_rng(1)

    def perturb(path, x):
        keys = tuple(str(getattr(k, "key", k)) for k in path)
        if keys[-1] == "scale":
            x = x + rng.normal(0, 0.1, x.shape).astype(np.float32)
        elif keys[-1] in ("gating_einsum", "linear"):
            assert not x.any(), keys  # zero-initialised by the library
            x = rng.normal(0, 0.05, x.shape).astype(np.float32)
        elif keys[-1] == "input_embedding":
            x = x * 12
        elif keys[-1] == "w":  # attention einsums, init N(0, 0.01)
            x = x * 10
        if grid:
            for suffix, axis in INPUT_AXIS.items():
                if keys[-len(suffix):] == suffix:
                    x = snap_to_grid(x, axis)
        return np.ascontiguousarray(x, dtype=np.float32)

    return jax.tree_util.tree_map_with_path(perturb, params)


def to_flat(params):
    """The Kaggle FLAT tree: what the library's `param_remapper` + `nest_params` turn back into `params`."""
    out = {}

    def walk(prefix, node):
        if isinstance(node, dict) and not any(isinstance(v, np.ndarray) for v in node.values()):
            for k, v in node.items():
                walk(prefix + [k], v)
            return
        name = "/".join(["transformer"] + prefix)
        if prefix[-1] == "mlp":  # the FFN's weights are `{'w': ...}` leaves of their own in the release
            for k, v in node.items():
                out[f"{name}/{k}"] = {"w": v}
        else:
            out[name] = dict(node)

    walk([], params)
    return out


def save_and_check(name, cfg, params, reuse=False):
    """Writes the checkpoint (unless `reuse`: the committed one, whose OCDBT file names orbax draws at random, is
    kept) and checks the library reads back exactly `params`."""
    import jax
    import orbax.checkpoint
    from gemma import params as params_lib, transformer
    d = os.path.join(OUT, name)
    path = os.path.join(d, f"gemma1-{name}")
    if not reuse:
        shutil.rmtree(d, ignore_errors=True)
        write_tokenizer(d)
        orbax.checkpoint.PyTreeCheckpointer().save(path, to_flat(params))
    got = params_lib.load_and_format_params(path)
    assert transformer.TransformerConfig.from_params(got, cache_size=cfg.max_cache_length) == cfg, name
    want = {jax.tree_util.keystr(k): v for k, v in jax.tree_util.tree_leaves_with_path({"transformer": params})}
    have = {jax.tree_util.keystr(k): v for k, v in jax.tree_util.tree_leaves_with_path(got)}
    assert want.keys() == have.keys(), sorted(set(want) ^ set(have))[:5]
    for k in want:
        assert np.array_equal(want[k], np.asarray(have[k])), k
    print(f"read back by gemma-llm's load_and_format_params: {os.path.relpath(path, ROOT)} ({len(want)} arrays equal,"
          f" config {cfg})", file=sys.stderr)
    return d, got["transformer"]


def library_logits(cfg, params, seqs):
    import jax
    import jax.numpy as jnp
    from gemma import transformer
    model = transformer.Transformer(config=cfg)
    length = max(len(ids) for _, ids in seqs)

    @jax.jit
    def forward(p, tokens):
        mask = tokens != 0
        logits, _ = model.apply({"params": p}, tokens, transformer.build_positions_from_mask(mask), None,
                                transformer.make_causal_attn_mask(mask))
        return logits

    out = []
    for _, ids in seqs:
        tokens = jnp.asarray([ids + [0] * (length - len(ids))], dtype=jnp.int32)
        out.append(np.asarray(forward(params, tokens)[0, : len(ids)], dtype=np.float32))
    return out


def hf_tensors(params, n, k):
    """The weights under transformers' GemmaForCausalLM names and shapes (float32)."""
    out = {"model.embed_tokens.weight": params["embedder"]["input_embedding"],
           "model.norm.weight": params["final_norm"]["scale"]}
    for i in range(L):
        p, pre = params[f"layer_{i}"], f"model.layers.{i}."
        a = p["attn"]
        if "qkv_einsum" in a:
            q, kk, v = a["qkv_einsum"]["w"]           # each (N, D, H)
        else:
            q, (kk, v) = a["q_einsum"]["w"], a["kv_einsum"]["w"]
        out[pre + "self_attn.q_proj.weight"] = q.transpose(0, 2, 1).reshape(n * H, D)
        out[pre + "self_attn.k_proj.weight"] = kk.transpose(0, 2, 1).reshape(k * H, D)
        out[pre + "self_attn.v_proj.weight"] = v.transpose(0, 2, 1).reshape(k * H, D)
        out[pre + "self_attn.o_proj.weight"] = a["attn_vec_einsum"]["w"].reshape(n * H, D).T
        out[pre + "mlp.gate_proj.weight"] = p["mlp"]["gating_einsum"][0].T
        out[pre + "mlp.up_proj.weight"] = p["mlp"]["gating_einsum"][1].T
        out[pre + "mlp.down_proj.weight"] = p["mlp"]["linear"].T
        out[pre + "input_layernorm.weight"] = p["pre_attention_norm"]["scale"]
        out[pre + "post_attention_layernorm.weight"] = p["pre_ffw_norm"]["scale"]
    return {key: np.ascontiguousarray(val, dtype=np.float32) for key, val in out.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", default=",".join(MODELS))
    ap.add_argument("--hf-python", help="python of the llama.cpp converter venv: also write the HF checkpoints and "
                                        "llama.cpp's converter goldens")
    ap.add_argument("--llama", action="store_true", help="also run llama.cpp on Kiln's conversions")
    ap.add_argument("--reuse", action="store_true", help="keep the committed checkpoints (must equal the generated "
                                                          "weights) and only rewrite the goldens")
    ap.add_argument("--llama-python", default=os.path.expanduser("~/.cache/kiln-dev/oracle/bin/python"))
    ap.add_argument("--convert", default=os.path.join(ROOT, ".build", "debug", "convert"))
    args = ap.parse_args()
    import flax
    import jax
    import orbax.checkpoint
    import sentencepiece
    jax.config.update("jax_default_matmul_precision", "highest")
    versions = {"gemma-llm": "1.0.0", "jax": jax.__version__, "flax": flax.__version__,
                "orbax-checkpoint": orbax.checkpoint.__version__, "sentencepiece": sentencepiece.__version__,
                "numpy": np.__version__, "python": sys.version.split()[0], "jax_default_matmul_precision": "highest"}
    for name in args.only.split(","):
        spec = MODELS[name]
        cfg = config(spec["num_heads"], spec["num_kv_heads"])
        t0 = time.time()
        d, params = save_and_check(name, cfg, init_params(cfg, spec["grid"]), args.reuse)
        seqs = goldens.sequences(os.path.join(d, "tokenizer.model"), 0)
        logits = library_logits(cfg, params, seqs)
        doc = {"what": "logits of Google DeepMind's gemma-llm 1.0.0 (Gemma 1, float32 forward pass) on a Kaggle "
                       "FLAT-layout checkpoint it read itself",
               "model": f"gemma1-{name}", "checkpoint": os.path.relpath(d, ROOT),
               "generator": "scripts/make_gemma1_fixtures.py",
               "command": "python scripts/make_gemma1_fixtures.py " + " ".join(sys.argv[1:]), "versions": versions,
               "gemma_config": {k: getattr(cfg, k) for k in ("num_layers", "num_embed", "embed_dim", "hidden_dim",
                                                               "num_heads", "head_dim", "num_kv_heads")},
               "top_k": goldens.TOP_K, "seconds": round(time.time() - t0, 1),
               "sequences": [dict(name=n, ids=ids, **goldens.compact(l)) for (n, ids), l in zip(seqs, logits)],
               "full_vocab": goldens.full_vocab_figures(logits)}
        if args.llama:
            with tempfile.TemporaryDirectory() as tmp:
                doc["llama_cpp_f32"] = goldens.llama_compare(d, seqs, logits, args, tmp)
                if spec["grid"]:
                    doc["llama_cpp_auto"] = goldens.llama_compare(d, seqs, logits, args, tmp, "auto")
        os.makedirs(goldens.OUT_DIR, exist_ok=True)
        path = os.path.join(goldens.OUT_DIR, f"gemma1-{name}.json")
        with open(path + ".tmp", "w") as f:
            json.dump(doc, f, separators=(",", ":"), ensure_ascii=False)
        os.replace(path + ".tmp", path)
        print(f"wrote {os.path.relpath(path, ROOT)}:", json.dumps({k: doc[k] for k in ("full_vocab", "llama_cpp_f32",
                                                                                          "llama_cpp_auto") if k in doc}),
              file=sys.stderr)
        if args.hf_python:
            with tempfile.TemporaryDirectory() as tmp:
                npz = os.path.join(tmp, "weights.npz")
                np.savez(npz, **hf_tensors(params, cfg.num_heads, cfg.num_kv_heads))
                meta = {"name": name, "layers": L, "width": D, "heads": cfg.num_heads, "kv_heads": cfg.num_kv_heads,
                        "head_dim": H, "ffn": F, "vocab": V, "tokenizer": os.path.relpath(TOKENIZER, ROOT)}
                subprocess.run([args.hf_python, os.path.join(HERE, "gen_gemma1_llama_converter_goldens.py"), npz,
                                json.dumps(meta)], check=True)


if __name__ == "__main__":
    main()
