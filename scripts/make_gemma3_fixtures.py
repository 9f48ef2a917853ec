#!/usr/bin/env python3
"""Writes tiny Gemma 3 checkpoints for Kiln's conversion tests, with the real libraries.

Produced by: orbax-checkpoint 0.12.8 + tensorstore 0.1.86 + jax 0.10.2 (Orbax save), safetensors 0.8.0,
sentencepiece 0.2.3 (tokenizer training), numpy 2.4.6.   (pip install orbax-checkpoint tensorstore jax safetensors sentencepiece numpy)
Regenerate:  python3 scripts/make_gemma3_fixtures.py   (writes fixtures/gemma3/)

Outputs (all deterministic from fixed seeds; small):
- tiny-kaggle/tokenizer.model + tiny-kaggle/gemma3-tiny-int4/ : a Kaggle-layout download (FLAT Orbax tree, default
  OCDBT + zarr2 + zstd), float32 weights that lie exactly on a symmetric int4 grid (code × scale, one scale per 32
  inputs; codes in [-7, 7], and [-8, 7] in the layers listed in CODES8_TENSORS), 6 layers (5 local + 1 global).
- tiny-kaggle-vision/ : the same plus a tiny SigLIP tower and the multimodal projector (names as in the Kaggle release).
- tiny-hf-vision/ : tiny-kaggle-vision's weights in HF Gemma3ForConditionalGeneration layout (config.json,
  preprocessor_config.json): the reference values for the mmproj (scripts/check_mmproj.py, VisionConversionTests).
- tiny-kaggle-vision-noproj/ : a 1-layer vision checkpoint whose mm_input_projection is missing (gemma#189).
- tiny-hf/ : the same text weights in Hugging Face Gemma3ForCausalLM layout (model.safetensors + config.json + tokenizer.model).
- tiny-hf-offgrid/ : a 1-layer HF checkpoint whose weights are NOT on a grid (for the error path).
The HF checkpoint doubles as the expected values: its (out, in) matrices are the GGUF layout, so every tensor Kiln
converts from the Kaggle layout must dequantize to them (up to fp16 scale rounding), and norms to 1 + weight.
"""
import json
import os
import shutil
import sys

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "gemma3")
L, D, N, K, H, F = 6, 64, 2, 1, 32, 128
CODES8_TENSORS = {"blk.1.ffn_up.weight", "blk.2.attn_q.weight"}


def train_tokenizer(out_prefix):
    import sentencepiece as spm
    corpus = os.path.join(os.path.dirname(out_prefix), "corpus.txt")
    words = ("the capital of france is paris . the quick brown fox jumps over the lazy dog . kiln converts "
             "gemma checkpoints into gguf files for llama and ollama . once upon a time there was a model "
             "that wanted to run on a small computer with two cores and a lot of patience .").split()
    rng = np.random.default_rng(3)
    with open(corpus, "w") as f:
        for _ in range(2000):
            f.write(" ".join(rng.choice(words, size=12)) + "\n")
        f.write("def f(x):\n    return x * 2  # code 123 456\n" * 5)
    spm.SentencePieceTrainer.train(
        input=corpus, model_prefix=out_prefix, vocab_size=400, model_type="bpe", byte_fallback=True,
        pad_id=0, eos_id=1, bos_id=2, unk_id=3, num_threads=1, seed_sentencepiece_size=100000,
        control_symbols=["<mask>", "<start_of_turn>", "<end_of_turn>"],
        user_defined_symbols=["[multimodal]", "<start_of_image>", "<end_of_image>"],
        character_coverage=1.0, minloglevel=2)
    os.remove(corpus)
    os.remove(out_prefix + ".vocab")
    return out_prefix + ".model"


def grid(w, codes8, rng):
    """Snap (out, in) weights to a symmetric int4 grid along `in`, groups of 32 (as Kaggle QAT weights lie)."""
    rows, cols = w.shape
    g = w.reshape(rows, cols // 32, 32).astype(np.float32)
    amax = np.abs(g).max(-1, keepdims=True)
    s = (amax / np.float32(8 if codes8 else 7)).astype(np.float32)
    q = np.clip(np.round(g / s), -8 if codes8 else -7, 7)
    if codes8:  # make the extreme land on -8 in every group
        idx = np.abs(g).argmax(-1)[..., None]
        np.put_along_axis(q, idx, -8, -1)
    return (q * s).astype(np.float32).reshape(rows, cols)


def make_weights(seed, vocab, layers, on_grid=True):
    rng = np.random.default_rng(seed)
    hf = {}

    def mat(name, rows, cols, scale=0.08):
        w = (rng.standard_normal((rows, cols)) * scale).astype(np.float32)
        return grid(w, name in CODES8_TENSORS, rng) if on_grid else w

    def norm(n):
        return (rng.standard_normal(n) * 0.1).astype(np.float32)

    hf["token_embd.weight"] = mat("token_embd.weight", vocab, D, 0.5)
    hf["output_norm.weight"] = norm(D)
    for i in range(layers):
        b = f"blk.{i}."
        hf[b + "attn_q.weight"] = mat(b + "attn_q.weight", N * H, D)
        hf[b + "attn_k.weight"] = mat(b + "attn_k.weight", K * H, D)
        hf[b + "attn_v.weight"] = mat(b + "attn_v.weight", K * H, D)
        hf[b + "attn_output.weight"] = mat(b + "attn_output.weight", D, N * H)
        hf[b + "ffn_gate.weight"] = mat(b + "ffn_gate.weight", F, D)
        hf[b + "ffn_up.weight"] = mat(b + "ffn_up.weight", F, D)
        hf[b + "ffn_down.weight"] = mat(b + "ffn_down.weight", D, F)
        for n, size in (("attn_norm", D), ("attn_q_norm", H), ("attn_k_norm", H), ("post_attention_norm", D),
                        ("ffn_norm", D), ("post_ffw_norm", D)):
            hf[b + n + ".weight"] = norm(size)
    return hf  # GGUF names, (out, in) layout, norms WITHOUT the +1


def to_flax(w, layers):
    t = {"transformer/embedder": {"input_embedding": w["token_embd.weight"]},
         "transformer/final_norm": {"scale": w["output_norm.weight"]}}
    for i in range(layers):
        b, p = f"blk.{i}.", f"transformer/layer_{i}/"
        q = w[b + "attn_q.weight"].reshape(N, H, D).transpose(0, 2, 1)            # (N, D, H)
        k = w[b + "attn_k.weight"].reshape(K, H, D).transpose(0, 2, 1)
        v = w[b + "attn_v.weight"].reshape(K, H, D).transpose(0, 2, 1)
        o = w[b + "attn_output.weight"].T.reshape(N, H, D)                        # (N, H, D)
        t[p + "attn/q_einsum"] = {"w": np.ascontiguousarray(q)}
        t[p + "attn/kv_einsum"] = {"w": np.ascontiguousarray(np.stack([k, v]))}
        t[p + "attn/attn_vec_einsum"] = {"w": np.ascontiguousarray(o)}
        t[p + "attn/_query_norm"] = {"scale": w[b + "attn_q_norm.weight"]}
        t[p + "attn/_key_norm"] = {"scale": w[b + "attn_k_norm.weight"]}
        t[p + "pre_attention_norm"] = {"scale": w[b + "attn_norm.weight"]}
        t[p + "post_attention_norm"] = {"scale": w[b + "post_attention_norm.weight"]}
        t[p + "pre_ffw_norm"] = {"scale": w[b + "ffn_norm.weight"]}
        t[p + "post_ffw_norm"] = {"scale": w[b + "post_ffw_norm.weight"]}
        t[p + "mlp/gating_einsum"] = {"w": np.ascontiguousarray(np.stack([w[b + "ffn_gate.weight"], w[b + "ffn_up.weight"]]))}
        t[p + "mlp/linear"] = {"w": np.ascontiguousarray(w[b + "ffn_down.weight"].T)}   # (F, D)
    return t


def vision_tree(rng, width=64, depth=2, mlp=128, heads=4, patch=14, positions=256):
    P = "SigLiPFromPatches_0/siglip_encoder"
    r = lambda *s: (rng.standard_normal(s) * 0.05).astype(np.float32)
    t = {f"{P}/embedding": {"kernel": r(patch, patch, 3, width), "bias": r(width)},
         P: {"pos_embedding": r(1, positions, width)},
         f"{P}/Transformer/encoder_norm": {"scale": r(width), "bias": r(width)}}
    hd = width // heads
    for j in range(depth):
        e = f"{P}/Transformer/encoderblock_{j}"
        t[f"{e}/LayerNorm_0"] = {"scale": r(width), "bias": r(width)}
        t[f"{e}/LayerNorm_1"] = {"scale": r(width), "bias": r(width)}
        for n in ("query", "key", "value"):
            t[f"{e}/MultiHeadDotProductAttention_0/{n}"] = {"kernel": r(width, heads, hd), "bias": r(heads, hd)}
        t[f"{e}/MultiHeadDotProductAttention_0/out"] = {"kernel": r(heads, hd, width), "bias": r(width)}
        t[f"{e}/MlpBlock_0/Dense_0"] = {"kernel": r(width, mlp), "bias": r(mlp)}
        t[f"{e}/MlpBlock_0/Dense_1"] = {"kernel": r(mlp, width), "bias": r(width)}
    t["transformer/embedder/mm_input_projection"] = {"w": r(width, D)}
    t["transformer/embedder/mm_soft_embedding_norm"] = {"scale": r(width)}
    return t


def siglip_to_hf(tree, prefix="vision_tower.vision_model.", projector="multi_modal_projector."):
    """The Flax SigLIP tower + projector in HF Gemma3ForConditionalGeneration names and layouts, by the formulas of
    transformers' Gemma 3 / gau-nernst `convert_siglip`: conv kernel.transpose(3, 2, 0, 1); q/k/v kernel (W, heads, hd)
    -> flatten(1, 2).T, bias.reshape(-1); out kernel (heads, hd, W) -> flatten(0, 1).T; Dense kernel.T;
    pos_embedding.squeeze(0); LayerNorm scale -> weight. This is the reference every mmproj tensor is checked against."""
    P = "SigLiPFromPatches_0/siglip_encoder"
    out = {}
    emb = tree[f"{P}/embedding"]
    out[prefix + "embeddings.patch_embedding.weight"] = emb["kernel"].transpose(3, 2, 0, 1)
    out[prefix + "embeddings.patch_embedding.bias"] = emb["bias"]
    out[prefix + "embeddings.position_embedding.weight"] = tree[P]["pos_embedding"].squeeze(0)
    j = 0
    while f"{P}/Transformer/encoderblock_{j}/LayerNorm_0" in tree:
        e, h = f"{P}/Transformer/encoderblock_{j}", f"{prefix}encoder.layers.{j}."
        for ln, name in (("LayerNorm_0", "layer_norm1"), ("LayerNorm_1", "layer_norm2")):
            out[h + name + ".weight"] = tree[f"{e}/{ln}"]["scale"]
            out[h + name + ".bias"] = tree[f"{e}/{ln}"]["bias"]
        for flax, name in (("query", "q_proj"), ("key", "k_proj"), ("value", "v_proj")):
            k = tree[f"{e}/MultiHeadDotProductAttention_0/{flax}"]
            w = k["kernel"]
            out[h + f"self_attn.{name}.weight"] = w.reshape(w.shape[0], -1).T
            out[h + f"self_attn.{name}.bias"] = k["bias"].reshape(-1)
        o = tree[f"{e}/MultiHeadDotProductAttention_0/out"]
        out[h + "self_attn.out_proj.weight"] = o["kernel"].reshape(-1, o["kernel"].shape[-1]).T
        out[h + "self_attn.out_proj.bias"] = o["bias"]
        for flax, name in (("Dense_0", "fc1"), ("Dense_1", "fc2")):
            out[h + f"mlp.{name}.weight"] = tree[f"{e}/MlpBlock_0/{flax}"]["kernel"].T
            out[h + f"mlp.{name}.bias"] = tree[f"{e}/MlpBlock_0/{flax}"]["bias"]
        j += 1
    out[prefix + "post_layernorm.weight"] = tree[f"{P}/Transformer/encoder_norm"]["scale"]
    out[prefix + "post_layernorm.bias"] = tree[f"{P}/Transformer/encoder_norm"]["bias"]
    if "transformer/embedder/mm_input_projection" in tree:
        out[projector + "mm_input_projection_weight"] = tree["transformer/embedder/mm_input_projection"]["w"]
    out[projector + "mm_soft_emb_norm.weight"] = tree["transformer/embedder/mm_soft_embedding_norm"]["scale"]
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in out.items()}


def save_hf_vision(w, layers, vocab, vtree, path, tok):
    """HF Gemma3ForConditionalGeneration layout as on the Hub (language_model.model.*, vision_tower.vision_model.*,
    multi_modal_projector.*), the embedding padded with 64 rows as HF does for the multimodal models."""
    from safetensors.numpy import save_file
    os.makedirs(path, exist_ok=True)
    t = {"language_model." + k: v for k, v in hf_names(w, layers).items()}
    emb = t["language_model.model.embed_tokens.weight"]
    t["language_model.model.embed_tokens.weight"] = np.pad(emb, ((0, 64), (0, 0)))
    t.update(siglip_to_hf(vtree))
    save_file(t, os.path.join(path, "model.safetensors"), metadata={"format": "pt"})
    P = "SigLiPFromPatches_0/siglip_encoder"
    positions, width = vtree[P]["pos_embedding"].shape[1:]
    patch = vtree[f"{P}/embedding"]["kernel"].shape[0]
    heads = vtree[f"{P}/Transformer/encoderblock_0/MultiHeadDotProductAttention_0/query"]["kernel"].shape[1]
    mlp = vtree[f"{P}/Transformer/encoderblock_0/MlpBlock_0/Dense_0"]["kernel"].shape[1]
    depth = sum(1 for k in vtree if k.endswith("/LayerNorm_0"))
    side = int(round(positions ** 0.5))
    cfg = {"architectures": ["Gemma3ForConditionalGeneration"], "model_type": "gemma3", "mm_tokens_per_image": 256,
           "boi_token_index": 5, "eoi_token_index": 6, "image_token_index": 4, "torch_dtype": "float32",
           "text_config": {"model_type": "gemma3_text", "hidden_size": D, "intermediate_size": F, "num_hidden_layers": layers,
                           "num_attention_heads": N, "num_key_value_heads": K, "head_dim": H, "vocab_size": vocab + 64,
                           "sliding_window": 1024, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0,
                           "rope_scaling": {"rope_type": "linear", "factor": 8.0}, "max_position_embeddings": 131072},
           "vision_config": {"model_type": "siglip_vision_model", "hidden_size": int(width), "intermediate_size": int(mlp),
                             "num_hidden_layers": depth, "num_attention_heads": int(heads), "patch_size": int(patch),
                             "image_size": side * int(patch), "layer_norm_eps": 1e-6, "vision_use_head": False}}
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    pre = {"image_processor_type": "Gemma3ImageProcessor", "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5],
           "image_seq_length": 256, "size": {"height": side * int(patch), "width": side * int(patch)},
           "processor_class": "Gemma3Processor", "do_normalize": True, "do_rescale": True, "rescale_factor": 1 / 255}
    with open(os.path.join(path, "preprocessor_config.json"), "w") as f:
        json.dump(pre, f, indent=2)
    shutil.copy(tok, os.path.join(path, "tokenizer.model"))


def save_orbax(tree, path):
    import orbax.checkpoint as ocp
    from etils import epath
    if os.path.exists(path):
        shutil.rmtree(path)
    c = ocp.StandardCheckpointer()
    c.save(epath.Path(os.path.abspath(path)), tree)
    c.wait_until_finished()


def hf_names(w, layers):
    m = {"token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight"}
    per = {"attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
           "attn_output": "self_attn.o_proj", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj",
           "ffn_down": "mlp.down_proj", "attn_q_norm": "self_attn.q_norm", "attn_k_norm": "self_attn.k_norm",
           "attn_norm": "input_layernorm", "post_attention_norm": "post_attention_layernorm",
           "ffn_norm": "pre_feedforward_layernorm", "post_ffw_norm": "post_feedforward_layernorm"}
    out = {}
    for k, v in w.items():
        if k in m:
            out[m[k]] = v
        else:
            _, i, n, _ = k.split(".")
            out[f"model.layers.{i}.{per[n]}.weight"] = v
    return out


def save_hf(w, layers, vocab, path, tok):
    from safetensors.numpy import save_file
    os.makedirs(path, exist_ok=True)
    save_file(hf_names(w, layers), os.path.join(path, "model.safetensors"), metadata={"format": "pt"})
    cfg = {"architectures": ["Gemma3ForCausalLM"], "model_type": "gemma3_text", "hidden_size": D,
           "intermediate_size": F, "num_hidden_layers": layers, "num_attention_heads": N, "num_key_value_heads": K,
           "head_dim": H, "vocab_size": vocab, "sliding_window": 512, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0,
           "max_position_embeddings": 32768, "torch_dtype": "float32"}
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    shutil.copy(tok, os.path.join(path, "tokenizer.model"))


def main():
    import sentencepiece as spm
    os.makedirs(ROOT, exist_ok=True)
    kaggle = os.path.join(ROOT, "tiny-kaggle")
    os.makedirs(kaggle, exist_ok=True)
    tok = train_tokenizer(os.path.join(kaggle, "tokenizer"))
    vocab = spm.SentencePieceProcessor(model_file=tok).vocab_size()

    w = make_weights(1, vocab, L)
    save_orbax(to_flax(w, L), os.path.join(kaggle, "gemma3-tiny-int4"))

    vis = os.path.join(ROOT, "tiny-kaggle-vision")
    os.makedirs(vis, exist_ok=True)
    shutil.copy(tok, os.path.join(vis, "tokenizer.model"))
    tree = to_flax(w, L)
    tree.update(vision_tree(np.random.default_rng(5)))
    save_orbax(tree, os.path.join(vis, "gemma3-tiny-vision-int4"))

    save_hf_vision(w, L, vocab, vision_tree(np.random.default_rng(5)), os.path.join(ROOT, "tiny-hf-vision"), tok)

    # A vision checkpoint without transformer/embedder/mm_input_projection (google-deepmind/gemma#189): 1 text layer,
    # a 1-block tower.
    noproj = os.path.join(ROOT, "tiny-kaggle-vision-noproj")
    os.makedirs(noproj, exist_ok=True)
    shutil.copy(tok, os.path.join(noproj, "tokenizer.model"))
    w1 = make_weights(1, vocab, 1)
    tree = to_flax(w1, 1)
    vt = vision_tree(np.random.default_rng(6), depth=1)
    del vt["transformer/embedder/mm_input_projection"]
    tree.update(vt)
    save_orbax(tree, os.path.join(noproj, "gemma3-tiny-vision-noproj"))

    save_hf(w, L, vocab, os.path.join(ROOT, "tiny-hf"), tok)
    off = make_weights(2, vocab, 1, on_grid=False)
    save_hf(off, 1, vocab, os.path.join(ROOT, "tiny-hf-offgrid"), tok)
    if os.path.exists(os.path.join(ROOT, "expected")):
        shutil.rmtree(os.path.join(ROOT, "expected"))
    print("wrote", ROOT, "vocab", vocab)


if __name__ == "__main__":
    sys.exit(main())
