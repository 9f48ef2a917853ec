#!/usr/bin/env python3
"""A Gemma 3 mmproj GGUF of full SigLIP So400m/14 size with random weights, for benchmarking image encoding.

Written with gguf-py (the reference GGUF writer), with the tensor names, types and keys llama.cpp's converter gives a
Gemma 3 vision tower (`convert_hf_to_gguf.py --mmproj`, as scripts/check_mmproj.py re-states them): 2-D weights F16,
the patch and position embeddings, norms and biases F32, `mm.input_projection` F16; width 1152, 27 blocks, 16 heads,
FFN 4304, patch 14, image 896 (64×64 patches pooled 4×4 to 256 soft tokens). The projection width is the text
model's embedding length (default 640, Gemma 3 270M's, so the bench can pair it with the real 270M GGUF; the encoder's
cost does not depend on it). Weights are N(0, 0.02) from a fixed seed — the numbers are meaningless, the work is real.

Usage: python scripts/make_random_mmproj.py OUT.gguf [--text-width 640] [--depth 27]
       (a venv with numpy and gguf, e.g. scripts/python-env.sh numpy==2.4.6 gguf==0.19.0)
"""
import argparse
import os

import numpy as np
import gguf


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--text-width", type=int, default=640)
    ap.add_argument("--depth", type=int, default=27)
    a = ap.parse_args()
    width, heads, ffn, patch, size, depth = 1152, 16, 4304, 14, 896, a.depth
    rng = np.random.default_rng(10)

    def f16(*shape):
        return (rng.standard_normal(shape, dtype=np.float32) * 0.02).astype(np.float16)

    def f32(*shape, mean=0.0):
        return (mean + rng.standard_normal(shape, dtype=np.float32) * 0.02).astype(np.float32)

    w = gguf.GGUFWriter(a.out + ".tmp", "clip")
    w.add_type("mmproj")
    w.add_name("random-siglip-so400m")
    w.add_file_type(1)
    w.add_bool("clip.has_vision_encoder", True)
    w.add_uint32("clip.vision.projection_dim", a.text_width)
    w.add_uint32("clip.vision.image_size", size)
    w.add_uint32("clip.vision.patch_size", patch)
    w.add_uint32("clip.vision.embedding_length", width)
    w.add_uint32("clip.vision.feed_forward_length", ffn)
    w.add_uint32("clip.vision.block_count", depth)
    w.add_uint32("clip.vision.attention.head_count", heads)
    w.add_array("clip.vision.image_mean", [0.5, 0.5, 0.5])
    w.add_array("clip.vision.image_std", [0.5, 0.5, 0.5])
    w.add_string("clip.projector_type", "gemma3")
    w.add_float32("clip.vision.attention.layer_norm_epsilon", 1e-6)
    w.add_bool("clip.use_gelu", True)
    w.add_quantization_version(2)
    # numpy shapes (ggml ne reversed)
    w.add_tensor("mm.input_projection.weight", f16(width, a.text_width))
    w.add_tensor("mm.soft_emb_norm.weight", f32(width, mean=1.0))
    w.add_tensor("v.patch_embd.bias", f32(width))
    w.add_tensor("v.patch_embd.weight", (rng.standard_normal((width, 3, patch, patch), dtype=np.float32) * 0.02))
    w.add_tensor("v.position_embd.weight", f32((size // patch) ** 2, width))
    w.add_tensor("v.post_ln.bias", f32(width))
    w.add_tensor("v.post_ln.weight", f32(width, mean=1.0))
    for i in range(depth):
        p = f"v.blk.{i}."
        for n in ("attn_k", "attn_out", "attn_q", "attn_v"):
            w.add_tensor(p + n + ".bias", f32(width))
            w.add_tensor(p + n + ".weight", f16(width, width))
        w.add_tensor(p + "ffn_down.bias", f32(width))
        w.add_tensor(p + "ffn_down.weight", f16(width, ffn))
        w.add_tensor(p + "ffn_up.bias", f32(ffn))
        w.add_tensor(p + "ffn_up.weight", f16(ffn, width))
        for n in ("ln1", "ln2"):
            w.add_tensor(p + n + ".bias", f32(width))
            w.add_tensor(p + n + ".weight", f32(width, mean=1.0))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    os.replace(a.out + ".tmp", a.out)
    print(f"wrote {a.out}: SigLIP {depth} blocks, width {width}, {size} px, projection {width} -> {a.text_width}")


if __name__ == "__main__":
    main()
