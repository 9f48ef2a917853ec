#!/usr/bin/env python3
"""llama.cpp's own HF converter as the judge of Kiln's vocabulary, metadata and tensors on HF-layout Gemma 3.

Produced by:
- the checkpoints: `transformers` itself (Gemma3ForCausalLM / Gemma3ForConditionalGeneration with a tiny SigLIP,
  random init with a fixed seed, `save_pretrained`; tokenizer: transformers' `GemmaTokenizerFast` built on
  fixtures/tokenizer/tiny.model and saved with `save_pretrained` (see save_tokenizer); the image processor:
  `Gemma3ImageProcessor`);
- the goldens: llama.cpp's `convert_hf_to_gguf.py` (+ `conversion/`, and gguf-py from the same tree) as vendored in
  the llama-cpp-python 0.3.36 source distribution (vendor/llama.cpp), read back with that gguf-py.

Environment (dev-only; `make test` never needs it): a venv with the converter's requirements from PyPI,
  scripts/llama-converter-env.sh   (torch, transformers 4.57.6 as the vendored requirements pin, sentencepiece, ...)
and the sdist unpacked by scripts/build-llama-tools.sh. Regenerate:
  $(bash scripts/llama-converter-env.sh) scripts/gen_llama_converter_goldens.py

Writes (fixtures/llama-converter/):
  tiny-text/     Gemma3ForCausalLM checkpoint, bfloat16 safetensors as Google's HF releases ship, with a config that
                 is in no size table (context 2048, sliding window 64, linear RoPE ×2, final soft-cap 30)
  tiny-vision/   Gemma3ForConditionalGeneration (text + SigLIP, float32 safetensors, padded vocabulary, the default
                 Gemma3Config values for the rest), preprocessor_config.json from Gemma3ImageProcessor
  goldens.json   for each (checkpoint, outtype in f32/f16/bf16/q8_0, text or mmproj): every metadata key in file
                 order with its gguf-py type and value (arrays: element type, length, sha256 of the elements as GGUF
                 serialises them, first entries), every tensor's name, type, ne, byte size and sha256 of its data.
The Swift test (Tests/ConversionTests/LlamaConverterGoldenTests.swift) converts the same checkpoints with Kiln and
compares against goldens.json, with every remaining difference listed and justified there.
"""
import hashlib
import json
import os
import shutil
import struct
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fixtures", "llama-converter")
DEV = os.environ.get("KILN_DEV_CACHE", os.path.expanduser("~/.cache/kiln-dev"))
LLAMA = os.environ.get("LLAMA_CPP_TREE",
                       os.path.join(DEV, "llama-tools", "src", "llama_cpp_python-0.3.36", "vendor", "llama.cpp"))
TOKENIZER = os.path.join(ROOT, "fixtures", "tokenizer", "tiny.model")
OUTTYPES = ["f32", "f16", "bf16", "q8_0"]
MODEL_NAME = "kiln-tiny-gemma3"
FIRST = 8
SEED = 1234
TOKENIZER_PIECES = 420  # fixtures/tokenizer/tiny.model (checked in main)


def gguf_module():
    sys.path.insert(0, os.path.join(LLAMA, "gguf-py"))
    import gguf
    return gguf


def save_tokenizer(path):
    """transformers' GemmaTokenizerFast built from tiny.model (converted by transformers' own GemmaConverter) and saved
    as Google's HF releases ship it: tokenizer.model, tokenizer.json, and a tokenizer_config.json whose
    added_tokens_decoder lists the model's control and user-defined pieces -- which llama.cpp's converter reads for
    token types. (The slow GemmaTokenizer saves only <pad>/<eos>/<bos>/<unk> there, so llama.cpp would type the
    user-defined pieces NORMAL with score 0, unlike any Gemma release.) No chat template: tiny.model is not Google's."""
    from transformers import GemmaTokenizerFast
    tok = GemmaTokenizerFast(vocab_file=TOKENIZER)
    tok.save_pretrained(path)
    return len(tok.get_vocab())


def text_config(vocab, **extra):
    from transformers import Gemma3TextConfig
    return Gemma3TextConfig(vocab_size=vocab, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                            num_attention_heads=2, num_key_value_heads=1, head_dim=32, query_pre_attn_scalar=32,
                            **extra)


def make_text(path):
    import torch
    from transformers import Gemma3ForCausalLM
    os.makedirs(path)
    n = save_tokenizer(path)
    cfg = text_config(n, max_position_embeddings=2048, sliding_window=64, rope_theta=500000.0,
                      rope_local_base_freq=10000.0, rope_scaling={"rope_type": "linear", "factor": 2.0},
                      final_logit_softcapping=30.0, rms_norm_eps=1e-6)
    torch.manual_seed(SEED)
    model = Gemma3ForCausalLM(cfg).to(torch.bfloat16)
    randomize_norms(model, torch)
    model.save_pretrained(path, safe_serialization=True)


def make_vision(path):
    import torch
    from transformers import Gemma3Config, Gemma3ForConditionalGeneration, Gemma3ImageProcessor, SiglipVisionConfig
    os.makedirs(path)
    n = save_tokenizer(path)
    vision = SiglipVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                                image_size=224, patch_size=14, layer_norm_eps=1e-6, vision_use_head=False)
    cfg = Gemma3Config(text_config=text_config(n + 28).to_dict(), vision_config=vision.to_dict(),
                       mm_tokens_per_image=16, boi_token_index=255999, eoi_token_index=256000,
                       image_token_index=262144)
    torch.manual_seed(SEED + 1)
    model = Gemma3ForConditionalGeneration(cfg)
    randomize_norms(model, torch)
    model.save_pretrained(path, safe_serialization=True)
    Gemma3ImageProcessor(size={"height": 224, "width": 224}, image_seq_length=16).save_pretrained(path)


def randomize_norms(model, torch):
    """transformers initialises norm weights to constants (0 for Gemma's 1+w RMSNorm, 1/0 for LayerNorm); random
    values make a wrong `+1` or a swapped norm visible in the tensor digests."""
    g = torch.Generator().manual_seed(SEED + 7)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name or name.endswith("bias"):
                p.copy_((torch.randn(p.shape, generator=g) * 0.1).to(p.dtype))


def convert(src, outtype, mmproj, dst):
    """Runs convert_hf_to_gguf.py's main() in this process (importing torch once, not once per file)."""
    sys.path.insert(0, LLAMA)
    import convert_hf_to_gguf
    args = ["convert_hf_to_gguf.py", src, "--outtype", outtype, "--outfile", dst, "--model-name", MODEL_NAME]
    if mmproj:
        args.append("--mmproj")
    saved = sys.argv
    sys.argv = args
    try:
        convert_hf_to_gguf.main()
    finally:
        sys.argv = saved
    if mmproj and not os.path.exists(dst):  # the converter prefixes the file name with mmproj-
        d, f = os.path.split(dst)
        os.replace(os.path.join(d, "mmproj-" + f), dst)


def element_bytes(gguf, vtype, values):
    T = gguf.GGUFValueType
    if vtype == T.STRING:
        out = bytearray()
        for s in values:
            b = s.encode("utf-8") if isinstance(s, str) else bytes(s)
            out += struct.pack("<Q", len(b)) + b
        return bytes(out)
    fmt = {T.UINT8: "B", T.INT8: "b", T.UINT16: "H", T.INT16: "h", T.UINT32: "I", T.INT32: "i", T.FLOAT32: "f",
           T.BOOL: "?", T.UINT64: "Q", T.INT64: "q", T.FLOAT64: "d"}[vtype]
    return struct.pack("<%d%s" % (len(values), fmt), *values)


def describe(path, n_tokenizer):
    """Keys, types, values and tensor digests of one GGUF. Where llama.cpp pads the vocabulary to config.json's
    vocab_size beyond the tokenizer's pieces, the arrays and token_embd also get the digest of their first
    `n_tokenizer` entries/rows ("prefix"), so a converter that stops at the tokenizer can be compared on those."""
    gguf = gguf_module()
    T = gguf.GGUFValueType
    r = gguf.GGUFReader(path)
    kv = []
    for f in r.fields.values():
        if f.name.startswith("GGUF."):
            continue
        t = f.types[0]
        if t == T.ARRAY:
            et = f.types[1]
            values = f.contents()
            item = {"key": f.name, "type": "ARRAY", "element_type": et.name, "length": len(values),
                    "sha256": hashlib.sha256(element_bytes(gguf, et, values)).hexdigest(),
                    "first": values[:FIRST]}
            if f.name.startswith("tokenizer.ggml.") and len(values) > n_tokenizer:
                item["prefix"] = {"length": n_tokenizer,
                                  "sha256": hashlib.sha256(element_bytes(gguf, et, values[:n_tokenizer])).hexdigest()}
            kv.append(item)
        else:
            v = f.contents()
            if t == T.FLOAT32:  # the float32 value itself, as a bit pattern too (JSON doubles would round)
                kv.append({"key": f.name, "type": t.name, "value": float(v),
                           "bits": struct.unpack("<I", struct.pack("<f", v))[0]})
            else:
                kv.append({"key": f.name, "type": t.name, "value": v})
    tensors = []
    for t in r.tensors:
        item = {"name": t.name, "type": t.tensor_type.name, "ne": [int(x) for x in t.shape],
                "bytes": int(t.n_bytes), "sha256": hashlib.sha256(t.data.tobytes()).hexdigest()}
        if t.name == "token_embd.weight" and int(t.shape[1]) > n_tokenizer:  # data rows are the first axis
            item["prefix"] = {"rows": n_tokenizer, "sha256": hashlib.sha256(t.data[:n_tokenizer].tobytes()).hexdigest()}
        tensors.append(item)
    return {"version": 3, "alignment": r.alignment, "metadata": kv, "tensors": tensors}


def main():
    import torch
    import transformers
    gguf = gguf_module()
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    import sentencepiece
    assert sentencepiece.SentencePieceProcessor(model_file=TOKENIZER).vocab_size() == TOKENIZER_PIECES
    checkpoints = {"tiny-text": make_text, "tiny-vision": make_vision}
    for name, make in checkpoints.items():
        make(os.path.join(OUT, name))
    doc = {"generator": "scripts/gen_llama_converter_goldens.py",
           "converter": "llama.cpp convert_hf_to_gguf.py from llama-cpp-python 0.3.36 (vendor/llama.cpp)",
           "gguf_py": getattr(gguf, "__version__", "vendored"),
           "transformers": transformers.__version__, "torch": torch.__version__,
           "model_name": MODEL_NAME, "outputs": []}
    with tempfile.TemporaryDirectory() as tmp:
        for name in checkpoints:
            src = os.path.join(OUT, name)
            kinds = ["text"] + (["mmproj"] if name == "tiny-vision" else [])
            for kind in kinds:
                for outtype in OUTTYPES:
                    dst = os.path.join(tmp, f"{name}-{kind}-{outtype}.gguf")
                    convert(src, outtype, kind == "mmproj", dst)
                    d = describe(dst, TOKENIZER_PIECES)
                    d.update({"checkpoint": f"llama-converter/{name}", "kind": kind, "outtype": outtype,
                              "file_sha256": hashlib.sha256(open(dst, "rb").read()).hexdigest(),
                              "file_bytes": os.path.getsize(dst)})
                    doc["outputs"].append(d)
                    print(f"{name} {kind} {outtype}: {len(d['metadata'])} keys, {len(d['tensors'])} tensors")
    with open(os.path.join(OUT, "goldens.json"), "w") as f:
        json.dump(doc, f, indent=1, ensure_ascii=False)
    for name in checkpoints:
        size = sum(os.path.getsize(os.path.join(OUT, name, f)) for f in os.listdir(os.path.join(OUT, name)))
        print(f"{name}: {size} bytes")


if __name__ == "__main__":
    main()
