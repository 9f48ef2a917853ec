#!/usr/bin/env python3
"""Builds a Gemma 3 checkpoint laid out like a Kaggle "gemma3-*-int4" Flax download, carrying the real weights of
the Gemma 3 270M GGUF, for the real-model tests (run by scripts/prepare-real-model.sh, which keys the output by this
script's digest).

    OUT/tokenizer.model        SentencePiece model rebuilt from the GGUF vocabulary (scripts/gen_tokenizer_fixtures.py)
    OUT/gemma3-270m-int4/      Orbax PyTree checkpoint saved by orbax-checkpoint's StandardCheckpointer with its
                               defaults (OCDBT key-value store, zarr v2 arrays, zstd), numpy leaves, FLAT tree

What the Kaggle QAT int4 release stores, and so what this writes:
  * every 2-D weight (the embedding too) as float32 = code × scale, one scale per 32 consecutive inputs along the
    input axis, codes in [-7, 7], scale = max|g| / 7 for the group g (an all-zero group has scale 0, codes 0).
    The GGUF weights are dequantized with gguf-py first, then snapped to that grid (float32 arithmetic, numpy's
    round-half-to-even).
  * RMSNorm weights as Flax `scale`, where GGUF (llama.cpp's converter) stores 1 + scale.
  * the FLAT parameter tree of Google's gemma library (`transformer/layer_{i}/attn/q_einsum` → `w`, ...), with the
    Flax shapes: q_einsum (N, D, H), kv_einsum (2, K, D, H), attn_vec_einsum (N, H, D), gating_einsum (2, F, D),
    linear (F, D), input_embedding (V, D), norms (D,) or (H,).

Deterministic: the same GGUF gives the same arrays and the same tokenizer.model bytes (the script prints a digest of
every array's name, shape and bytes). Orbax's own file names, UUIDs and timestamps differ from run to run.
The checkpoint is read back with orbax and compared array by array before the script reports success.

Libraries (exact versions, REQUIREMENTS below; `--requirements` prints them for scripts/python-env.sh):
orbax-checkpoint 0.12.8, tensorstore 0.1.86, jax 0.10.2 (jaxlib 0.10.2), numpy 2.4.6, gguf 0.19.0,
sentencepiece 0.2.3, protobuf 7.36.2.

Usage: make_kaggle_checkpoint.py --gguf gemma-3-270m-q4_k_m.gguf --out DIR
       make_kaggle_checkpoint.py --requirements
"""
import sys

REQUIREMENTS = ["orbax-checkpoint==0.12.8", "tensorstore==0.1.86", "jax==0.10.2", "jaxlib==0.10.2", "numpy==2.4.6",
                "gguf==0.19.0", "sentencepiece==0.2.3", "protobuf==7.36.2"]

if __name__ == "__main__" and sys.argv[1:] == ["--requirements"]:
    print(" ".join(REQUIREMENTS))
    sys.exit(0)

import argparse  # noqa: E402
import hashlib  # noqa: E402
import shutil  # noqa: E402
from importlib import metadata  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

GROUP = 32      # inputs per scale
MAX_CODE = 7    # symmetric int4 codes [-7, 7]
CKPT_NAME = "gemma3-270m-int4"


def check_versions():
    """Refuse to run on other library versions than the pinned ones: the output's digest key assumes them."""
    wrong = []
    for req in REQUIREMENTS:
        name, want = req.split("==")
        have = metadata.version(name)
        if have != want:
            wrong.append(f"{name} {have} (want {want})")
    if wrong:
        sys.exit("make_kaggle_checkpoint: wrong library versions: " + ", ".join(wrong))


def read_gguf(path):
    """Every tensor of the GGUF dequantized to float32 in numpy order ((out, in) for weights), and the dimensions."""
    import gguf

    reader = gguf.GGUFReader(path)

    def scalar(key):
        field = reader.fields[key]
        return field.parts[field.data[0]][0].item()

    arch = bytes(reader.fields["general.architecture"].parts[reader.fields["general.architecture"].data[0]]).decode()
    if arch != "gemma3":
        sys.exit(f"make_kaggle_checkpoint: {path} is {arch}, not gemma3")
    dims = {
        "layers": scalar("gemma3.block_count"),
        "embed": scalar("gemma3.embedding_length"),
        "ffn": scalar("gemma3.feed_forward_length"),
        "heads": scalar("gemma3.attention.head_count"),
        "kv_heads": scalar("gemma3.attention.head_count_kv"),
        "head_dim": scalar("gemma3.attention.key_length"),
    }
    weights = {}
    for t in reader.tensors:
        values = gguf.quants.dequantize(t.data, t.tensor_type)
        shape = tuple(int(n) for n in t.shape[::-1])  # GGUF ne is innermost-first; numpy wants outermost-first
        weights[t.name] = np.ascontiguousarray(values, dtype=np.float32).reshape(shape)
    return weights, dims


def snap_to_int4_grid(w):
    """The QAT grid: per group of 32 inputs, scale = max|g|/7, code = round(g/scale) in [-7, 7], value = code·scale."""
    rows, cols = w.shape
    if cols % GROUP:
        sys.exit(f"make_kaggle_checkpoint: a weight of shape {w.shape} has an input axis not divisible by {GROUP}")
    groups = w.reshape(rows, cols // GROUP, GROUP)
    scale = np.abs(groups).max(axis=-1, keepdims=True) / np.float32(MAX_CODE)
    zero = scale == 0
    codes = np.clip(np.round(groups / np.where(zero, np.float32(1), scale)), -MAX_CODE, MAX_CODE)
    codes[np.broadcast_to(zero, codes.shape)] = 0
    return (codes * scale).astype(np.float32).reshape(rows, cols)


def flax_tree(w, dims):
    """The Kaggle FLAT tree from GGUF-named float32 arrays (llama.cpp names and (out, in) layout)."""
    n, k, h, d = dims["heads"], dims["kv_heads"], dims["head_dim"], dims["embed"]
    one = np.float32(1)

    def norm(name):
        return {"scale": np.ascontiguousarray(w[name] - one)}

    def heads_in_out(name, count):  # (count·H, D) → (count, D, H)
        return w[name].reshape(count, h, d).transpose(0, 2, 1)

    tree = {
        "transformer/embedder": {"input_embedding": w["token_embd.weight"]},
        "transformer/final_norm": norm("output_norm.weight"),
    }
    for i in range(dims["layers"]):
        b, p = f"blk.{i}.", f"transformer/layer_{i}/"
        tree[p + "pre_attention_norm"] = norm(b + "attn_norm.weight")
        tree[p + "post_attention_norm"] = norm(b + "post_attention_norm.weight")
        tree[p + "pre_ffw_norm"] = norm(b + "ffn_norm.weight")
        tree[p + "post_ffw_norm"] = norm(b + "post_ffw_norm.weight")
        tree[p + "attn/_query_norm"] = norm(b + "attn_q_norm.weight")
        tree[p + "attn/_key_norm"] = norm(b + "attn_k_norm.weight")
        tree[p + "attn/q_einsum"] = {"w": heads_in_out(b + "attn_q.weight", n)}
        tree[p + "attn/kv_einsum"] = {"w": np.stack([heads_in_out(b + "attn_k.weight", k),
                                                     heads_in_out(b + "attn_v.weight", k)])}
        tree[p + "attn/attn_vec_einsum"] = {"w": w[b + "attn_output.weight"].T.reshape(n, h, d)}   # (D, N·H) → (N, H, D)
        tree[p + "mlp/gating_einsum"] = {"w": np.stack([w[b + "ffn_gate.weight"], w[b + "ffn_up.weight"]])}
        tree[p + "mlp/linear"] = {"w": w[b + "ffn_down.weight"].T}                                  # (D, F) → (F, D)
    used = 2 + 13 * dims["layers"]
    if used != len(w):
        sys.exit(f"make_kaggle_checkpoint: the GGUF has {len(w)} tensors, the Gemma 3 text tree uses {used}")
    return {key: {leaf: np.ascontiguousarray(a, dtype=np.float32) for leaf, a in leaves.items()}
            for key, leaves in tree.items()}


def tree_digest(tree):
    h = hashlib.sha256()
    for key in sorted(tree):
        for leaf in sorted(tree[key]):
            a = tree[key][leaf]
            h.update(f"{key}.{leaf} {a.dtype.str} {a.shape}\n".encode())
            h.update(a.tobytes())
    return h.hexdigest()


def save_and_verify(tree, path):
    import orbax.checkpoint as ocp

    checkpointer = ocp.StandardCheckpointer()
    checkpointer.save(path, tree)
    checkpointer.wait_until_finished()
    back = checkpointer.restore(path)
    checkpointer.close()
    for key, leaves in tree.items():
        for leaf, a in leaves.items():
            r = np.asarray(back[key][leaf])
            if r.dtype != a.dtype or r.shape != a.shape or not np.array_equal(r, a):
                sys.exit(f"make_kaggle_checkpoint: orbax read back {key}.{leaf} differently")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gguf", required=True, help="the Gemma 3 GGUF whose weights to use")
    ap.add_argument("--out", required=True, help="the download root to create (must not exist)")
    args = ap.parse_args()
    check_versions()
    out = Path(args.out).absolute()        # orbax wants an absolute path
    if out.exists():
        sys.exit(f"make_kaggle_checkpoint: {out} exists")

    weights, dims = read_gguf(args.gguf)
    for name, a in weights.items():
        if a.ndim == 2:
            weights[name] = snap_to_int4_grid(a)
        elif not name.endswith("norm.weight"):
            sys.exit(f"make_kaggle_checkpoint: unexpected 1-D tensor {name}")
    tree = flax_tree(weights, dims)
    del weights
    print(f"make_kaggle_checkpoint: {sum(len(v) for v in tree.values())} arrays, digest {tree_digest(tree)}",
          file=sys.stderr)

    out.mkdir(parents=True)
    try:
        save_and_verify(tree, out / CKPT_NAME)
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from gen_tokenizer_fixtures import build_full
        build_full(Path(args.gguf), out / "tokenizer.model")
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        raise


if __name__ == "__main__":
    main()
