#!/usr/bin/env python3
"""Checks a Kiln-written Gemma 3 mmproj GGUF against what llama.cpp's converter writes, and (with --load) that llama.cpp
loads it.

    . ~/.venvs/oracle/bin/activate
    python scripts/check_mmproj.py MMPROJ.gguf --reference fixtures/gemma3/tiny-hf-vision [--text TEXT.gguf --load [--encode]]

Reference: an HF Gemma3ForConditionalGeneration directory (model.safetensors, config.json, preprocessor_config.json),
read with the real `safetensors` package. The expectations are llama.cpp's converter (`convert_hf_to_gguf.py --mmproj`)
re-stated here, not Kiln's code:
- names: gguf-py's own TensorNameMap for MODEL_ARCH.MMPROJ after `Gemma3VisionModel.modify_tensors`'s
  `name.replace("_weight", ".weight")` (conversion/gemma.py);
- values: the HF tensor as stored (ne = reversed numpy shape), `mm_soft_emb_norm` + 1;
- types: `Gemma3VisionModel.tensor_force_quant` (`input_projection` -> F16, `.embeddings.` -> F32) then
  `ModelBase.prepare_tensors` (n_dims <= 1 or `_norm.weight` -> F32; otherwise the --outtype, F16 by default);
- metadata: `MmprojModel.set_gguf_parameters` + `Gemma3VisionModel.set_gguf_parameters` (conversion/base.py,
  conversion/gemma.py), with gguf-py's value types (uint32, bool, float32, float32 arrays, strings).
Values must match exactly: F32 tensors bit for bit, F16 tensors equal to numpy's float16 rounding of the reference.

--load: llama-cpp-python's bundled libllama + libmtmd (`mtmd_init_from_file`) load the text model and this mmproj;
--encode additionally encodes a synthetic image through libmtmd and compares the image embeddings with an independent
NumPy forward pass of the SigLIP tower + Gemma 3 projector written from the HF reference weights.
Exit status 0 when every check passes.
"""
import argparse
import json
import os
import sys

import numpy as np


def expected_type(hf_name, gguf_name, n_dims, outtype):
    import gguf
    T = gguf.GGMLQuantizationType
    qtype = False
    if "input_projection" in hf_name:
        qtype = T.F16
    elif ".embeddings." in hf_name:
        qtype = T.F32
    if n_dims <= 1 or gguf_name.endswith("_norm.weight"):
        qtype = T.F32
    if qtype is False and (gguf_name == "v.position_embd.weight" or not gguf_name.endswith(".weight")):
        qtype = T.F32
    return outtype if qtype is False else qtype


def check(path, ref_dir, outtype_name="F16"):
    import gguf
    from safetensors.numpy import load_file
    errors = []
    T = gguf.GGMLQuantizationType
    outtype = T[outtype_name]
    cfg = json.load(open(os.path.join(ref_dir, "config.json")))
    pre = json.load(open(os.path.join(ref_dir, "preprocessor_config.json")))
    v, t = cfg["vision_config"], cfg.get("text_config", cfg)
    ref = {k: x for k, x in load_file(os.path.join(ref_dir, "model.safetensors")).items()
           if k.startswith(("vision_tower.", "multi_modal_projector.", "model.vision_tower.", "model.multi_modal_projector."))}
    depth = v["num_hidden_layers"]
    tmap = gguf.get_tensor_name_map(gguf.MODEL_ARCH.MMPROJ, depth)

    r = gguf.GGUFReader(path)
    VT = gguf.GGUFValueType
    image_seq = pre.get("image_seq_length", 256)
    scale = (v["image_size"] // v["patch_size"]) // int(image_seq ** 0.5)
    want_kv = [
        ("general.architecture", VT.STRING, "clip"),
        ("general.type", VT.STRING, "mmproj"),
        ("general.file_type", VT.UINT32, {T.F16: 1, T.F32: 0, T.BF16: 32, T.Q8_0: 7}[outtype]),
        ("clip.has_vision_encoder", VT.BOOL, True),
        ("clip.vision.projection_dim", VT.UINT32, t["hidden_size"]),
        ("clip.vision.image_size", VT.UINT32, v["image_size"]),
        ("clip.vision.patch_size", VT.UINT32, v["patch_size"]),
        ("clip.vision.embedding_length", VT.UINT32, v["hidden_size"]),
        ("clip.vision.feed_forward_length", VT.UINT32, v["intermediate_size"]),
        ("clip.vision.block_count", VT.UINT32, depth),
        ("clip.vision.attention.head_count", VT.UINT32, v["num_attention_heads"]),
        ("clip.vision.image_mean", VT.ARRAY, [float(np.float32(x)) for x in pre["image_mean"]]),
        ("clip.vision.image_std", VT.ARRAY, [float(np.float32(x)) for x in pre["image_std"]]),
        ("clip.projector_type", VT.STRING, "gemma3"),
        ("clip.vision.attention.layer_norm_epsilon", VT.FLOAT32, float(np.float32(v.get("layer_norm_eps", 1e-6)))),
        ("clip.use_gelu", VT.BOOL, True),
        ("general.quantization_version", VT.UINT32, 2),
    ]
    if scale > 0 and scale != 4:
        want_kv.append(("clip.vision.projector.scale_factor", VT.UINT32, scale))
    fields = {f.name: f for f in r.fields.values() if not f.name.startswith("GGUF.")}
    for key, vt, value in want_kv:
        f = fields.get(key)
        if f is None:
            errors.append(f"missing key {key}")
            continue
        if f.types[0] != vt or (vt == VT.ARRAY and f.types[1] != VT.FLOAT32):
            errors.append(f"{key}: type {[VT(x).name for x in f.types]}, want {vt.name}")
        got = f.contents()
        if got != value:
            errors.append(f"{key}: {got!r}, want {value!r}")
    extra = set(fields) - {k for k, _, _ in want_kv} - {"general.name"}
    if extra:
        errors.append(f"unexpected keys {sorted(extra)}")

    tensors = {x.name: x for x in r.tensors}
    seen = set()
    for hf_name, data in ref.items():
        name = hf_name.replace("_weight", ".weight")
        if name.startswith("model."):
            name = name[len("model."):]
        g = tmap.get_name(name, try_suffixes=(".weight", ".bias"))
        if g is None:
            errors.append(f"gguf-py maps no name for {hf_name}")
            continue
        seen.add(g)
        if g not in tensors:
            errors.append(f"missing tensor {g} (from {hf_name})")
            continue
        x = tensors[g]
        want = data.astype(np.float32) + (1 if "soft_emb_norm.weight" in name else 0)
        if list(x.shape) != list(reversed(data.shape)):
            errors.append(f"{g}: ne {list(x.shape)}, want {list(reversed(data.shape))}")
        wt = expected_type(hf_name, g, data.ndim, outtype)
        if x.tensor_type != wt:
            errors.append(f"{g}: type {x.tensor_type.name}, want {wt.name}")
            continue
        got = gguf.quants.dequantize(x.data, x.tensor_type).reshape(-1)
        if x.tensor_type == T.F32:
            exp = want.reshape(-1)
        else:
            exp = gguf.quants.dequantize(gguf.quants.quantize(want, x.tensor_type), x.tensor_type).reshape(-1)
        if not np.array_equal(got.view(np.uint32) if got.dtype == np.float32 else got, exp.view(np.uint32) if exp.dtype == np.float32 else exp):
            errors.append(f"{g}: values differ (max |d| {np.abs(got - exp).max():.3g})")
    for g in set(tensors) - seen:
        errors.append(f"unexpected tensor {g}")
    return errors, len(tensors), len(want_kv)


# ---- llama.cpp load and encode ----

def numpy_reference_embeddings(ref_dir, image_f32_chw):
    """SigLIP + Gemma 3 projector forward in NumPy from the HF weights (transformers' SiglipVisionModel semantics:
    conv patch embedding, learned positions, pre-LN blocks with tanh-GELU MLP, post LN; then Gemma3MultiModalProjector:
    avg pool to tokens_per_image, RMSNorm (1 + w), projection)."""
    from safetensors.numpy import load_file
    cfg = json.load(open(os.path.join(ref_dir, "config.json")))
    pre = json.load(open(os.path.join(ref_dir, "preprocessor_config.json")))
    v = cfg["vision_config"]
    W = {k.replace("model.", "", 1) if k.startswith("model.") else k: x.astype(np.float64)
         for k, x in load_file(os.path.join(ref_dir, "model.safetensors")).items()}
    P = "vision_tower.vision_model."
    p, width, heads, eps = v["patch_size"], v["hidden_size"], v["num_attention_heads"], v.get("layer_norm_eps", 1e-6)
    img = image_f32_chw.astype(np.float64)
    C, H, Wd = img.shape
    side = H // p
    patches = img.reshape(C, side, p, side, p).transpose(1, 3, 0, 2, 4).reshape(side * side, C * p * p)
    kernel = W[P + "embeddings.patch_embedding.weight"].reshape(width, -1)
    x = patches @ kernel.T + W[P + "embeddings.patch_embedding.bias"]
    x = x + W[P + "embeddings.position_embedding.weight"]

    def ln(x, w, b):
        m = x.mean(-1, keepdims=True)
        var = ((x - m) ** 2).mean(-1, keepdims=True)
        return (x - m) / np.sqrt(var + eps) * w + b

    def gelu(x):
        return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))

    hd = width // heads
    for j in range(v["num_hidden_layers"]):
        b = f"{P}encoder.layers.{j}."
        h = ln(x, W[b + "layer_norm1.weight"], W[b + "layer_norm1.bias"])
        q, k, vv = (h @ W[b + f"self_attn.{n}_proj.weight"].T + W[b + f"self_attn.{n}_proj.bias"] for n in "qkv")
        q, k, vv = (a.reshape(-1, heads, hd).transpose(1, 0, 2) for a in (q, k, vv))
        s = q @ k.transpose(0, 2, 1) / np.sqrt(hd)
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        a = (s @ vv).transpose(1, 0, 2).reshape(-1, width)
        x = x + a @ W[b + "self_attn.out_proj.weight"].T + W[b + "self_attn.out_proj.bias"]
        h = ln(x, W[b + "layer_norm2.weight"], W[b + "layer_norm2.bias"])
        h = gelu(h @ W[b + "mlp.fc1.weight"].T + W[b + "mlp.fc1.bias"])
        x = x + h @ W[b + "mlp.fc2.weight"].T + W[b + "mlp.fc2.bias"]
    x = ln(x, W[P + "post_layernorm.weight"], W[P + "post_layernorm.bias"])
    tokens = pre.get("image_seq_length", 256)
    per = int(round(tokens ** 0.5))
    k = side // per
    x = x.reshape(per, k, per, k, width).mean(axis=(1, 3)).reshape(tokens, width)
    x = x / np.sqrt((x ** 2).mean(-1, keepdims=True) + 1e-6) * (1 + W["multi_modal_projector.mm_soft_emb_norm.weight"])
    return x @ W["multi_modal_projector.mm_input_projection_weight"]


def mtmd_context(mmproj_path, model):
    """libmtmd's context for an mmproj on the CPU with 2 threads (NULL when libmtmd refuses the file)."""
    from llama_cpp import mtmd_cpp as mtmd
    cp = mtmd.mtmd_context_params_default()
    cp.use_gpu = False
    cp.n_threads = 2
    cp.print_timings = False
    return mtmd.mtmd_init_from_file(mmproj_path.encode(), model, cp)


def encode_image(ctx, model, rgb):
    """libmtmd's embeddings of one RGB uint8 image (H, W, 3) through a loaded mtmd context (see encode_bitmap)."""
    import ctypes
    from llama_cpp import mtmd_cpp as mtmd
    h, w, _ = rgb.shape
    buf = (ctypes.c_ubyte * rgb.size).from_buffer_copy(rgb.tobytes())
    bitmap = mtmd.mtmd_bitmap_init(w, h, buf)
    try:
        return encode_bitmap(ctx, model, bitmap)
    finally:
        mtmd.mtmd_bitmap_free(bitmap)


def encode_bitmap(ctx, model, bitmap):
    """libmtmd's embeddings of one mtmd bitmap through a loaded mtmd context: a Gemma chat turn holding the image is
    tokenized, its image chunk encoded, and the output (n_tokens, n_embd) copied out as float32. RuntimeError when
    libmtmd refuses a step. The caller frees the bitmap."""
    import ctypes
    import llama_cpp
    from llama_cpp import mtmd_cpp as mtmd
    chunks = mtmd.mtmd_input_chunks_init()
    prompt = f"<start_of_turn>user\n{mtmd.mtmd_default_marker().decode()}<end_of_turn>".encode()
    text = mtmd.mtmd_input_text()
    text.text, text.text_len, text.add_special, text.parse_special = prompt, len(prompt), True, True
    try:
        bitmaps = (mtmd.mtmd_bitmap_p_ctypes * 1)(bitmap)
        rc = mtmd.mtmd_tokenize(ctx, chunks, ctypes.byref(text), bitmaps, 1)
        if rc != 0:
            raise RuntimeError(f"mtmd_tokenize returned {rc}")
        image = None
        for i in range(mtmd.mtmd_input_chunks_size(chunks)):
            c = mtmd.mtmd_input_chunks_get(chunks, i)
            if mtmd.mtmd_input_chunk_get_type(c) == mtmd.MTMD_INPUT_CHUNK_TYPE_IMAGE:
                image = c
        if image is None:
            raise RuntimeError("no image chunk after tokenize")
        rc = mtmd.mtmd_encode_chunk(ctx, image)
        if rc != 0:
            raise RuntimeError(f"mtmd_encode_chunk returned {rc}")
        n_tok = mtmd.mtmd_input_chunk_get_n_tokens(image)
        n_embd = llama_cpp.llama_model_n_embd(model)
        return np.ctypeslib.as_array(mtmd.mtmd_get_output_embd(ctx), shape=(n_tok * n_embd,)).reshape(n_tok, n_embd).copy()
    finally:
        mtmd.mtmd_input_chunks_free(chunks)


def load_with_llama_cpp(text_path, mmproj_path, ref_dir, encode):
    import llama_cpp
    from llama_cpp import mtmd_cpp as mtmd
    report = []
    llama_cpp.llama_backend_init()
    mp = llama_cpp.llama_model_default_params()
    model = llama_cpp.llama_model_load_from_file(text_path.encode(), mp)
    if not model:
        return False, ["llama_model_load_from_file failed for the text model"]
    report.append(f"text model loaded: n_embd={llama_cpp.llama_model_n_embd(model)}")
    ctx = mtmd_context(mmproj_path, model)
    if not ctx:
        return False, report + ["mtmd_init_from_file returned NULL (see the clip loader log above)"]
    report.append(f"mtmd_init_from_file: OK, support_vision={mtmd.mtmd_support_vision(ctx)}")
    ok = True
    if encode:
        cfg = json.load(open(os.path.join(ref_dir, "config.json")))
        size = cfg["vision_config"]["image_size"]
        rng = np.random.default_rng(7)
        rgb = rng.integers(0, 256, size=(size, size, 3), dtype=np.uint8)  # already the model's size: no resize
        try:
            got = encode_image(ctx, model, rgb)
        except RuntimeError as e:
            return False, report + [str(e)]
        n_tok, n_embd = got.shape
        # Gemma 3 preprocessing: pixels / 255, then (x - 0.5) / 0.5.
        img = (rgb.astype(np.float32) / 255.0 - 0.5) / 0.5
        want = numpy_reference_embeddings(ref_dir, img.transpose(2, 0, 1))
        err = np.abs(got - want).max()
        rel = err / np.abs(want).max()
        ok = got.shape == want.shape and rel < 2e-2
        report.append(f"mtmd_encode_chunk: {n_tok} image tokens × {n_embd}; vs NumPy SigLIP+projector reference: "
                      f"max |Δ| {err:.3g} ({rel:.3g} of max |ref|), cosine "
                      f"{float((got * want).sum() / np.linalg.norm(got) / np.linalg.norm(want)):.6f} -> {'OK' if ok else 'MISMATCH'}")
    mtmd.mtmd_free(ctx)
    llama_cpp.llama_model_free(model)
    return ok, report


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mmproj")
    ap.add_argument("--reference", required=True, help="HF Gemma3ForConditionalGeneration directory")
    ap.add_argument("--outtype", default="F16", help="the weight type expected for 2-D weights (F16, F32, BF16, Q8_0)")
    ap.add_argument("--text", help="the text model GGUF (for --load)")
    ap.add_argument("--load", action="store_true", help="load text model + mmproj with llama.cpp (llama-cpp-python's libmtmd)")
    ap.add_argument("--encode", action="store_true", help="also encode an image and compare with a NumPy reference")
    a = ap.parse_args()
    errors, n_t, n_kv = check(a.mmproj, a.reference, a.outtype)
    for e in errors:
        print("FAIL", e)
    print(f"gguf-py: {n_t} tensors, {n_kv} keys checked against llama.cpp's converter rules: "
          + ("OK" if not errors else f"{len(errors)} problems"))
    ok = not errors
    if a.load:
        loaded, lines = load_with_llama_cpp(a.text, a.mmproj, a.reference, a.encode)
        for line in lines:
            print("llama.cpp:", line)
        ok = ok and loaded
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
