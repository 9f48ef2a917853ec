#!/usr/bin/env python3
"""llama.cpp's own HF converter as the judge of Kiln's Gemma 2 names, metadata, vocabulary and tensors.

Called by scripts/make_gemma2_fixtures.py (which runs in the gemma-library venv and hands over the tiny FLAT
fixture's float32 weights under Gemma2ForCausalLM's names as an .npz, plus the tiny config as JSON); runs in the
llama.cpp converter venv (scripts/llama-converter-env.sh: transformers 4.57.6, torch CPU).

Produced by:
- the checkpoint fixtures/llama-converter/gemma2-tiny/: `transformers` itself — a `Gemma2ForCausalLM` with the tiny
  config (sliding window, soft-caps and query scaling of the gemma library's Gemma2_2B family; context 8192 as the
  real Gemma 2 config.json states), its parameters loaded from the .npz (strict: every parameter present), saved
  with `save_pretrained` as float32 safetensors; tokenizer: transformers' GemmaTokenizerFast on the fixture's
  tokenizer.model, saved with `save_pretrained` (as scripts/gen_llama_converter_goldens.py does for Gemma 3);
- the golden fixtures/llama-converter/gemma2-goldens.json: llama.cpp's `convert_hf_to_gguf.py` (vendored in the
  llama-cpp-python 0.3.36 sdist) with --outtype f32/f16/bf16/q8_0, described by its own gguf-py (every key in file
  order with type and value, every tensor's name, type, ne, size and sha256), with gen_llama_converter_goldens.py's
  describe().
Tests/ConversionTests/Gemma2ConversionTests.swift converts the FLAT and NESTED Flax fixtures and this HF checkpoint
with Kiln and compares.
"""
import hashlib
import json
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, ".."))
OUT = os.path.join(ROOT, "fixtures", "llama-converter")
sys.path.insert(0, HERE)
import gen_llama_converter_goldens as g3  # noqa: E402  (describe, convert, gguf_module: the Gemma 3 golden's own)

MODEL_NAME = "kiln-tiny-gemma2"
OUTTYPES = ["f32", "f16", "bf16", "q8_0"]


def make_checkpoint(path, npz, meta):
    import numpy as np
    import torch
    from transformers import Gemma2Config, Gemma2ForCausalLM, GemmaTokenizerFast
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    # The tiny tokenizer.model names ids 1 and 2 "</s>" and "<s>" (sentencepiece's defaults; Google's say "<eos>" and
    # "<bos>"): named so here, so tokenizer_config.json's added_tokens_decoder (which llama.cpp's converter prefers
    # to tokenizer.model's pieces) agrees with tokenizer.model instead of adding "<bos>"/"<eos>" as new tokens.
    tok = GemmaTokenizerFast(vocab_file=os.path.join(ROOT, meta["tokenizer"]), bos_token="<s>", eos_token="</s>")
    tok.save_pretrained(path)
    assert len(tok.get_vocab()) == meta["vocab"], len(tok.get_vocab())
    cfg = Gemma2Config(vocab_size=meta["vocab"], hidden_size=meta["width"], intermediate_size=meta["ffn"],
                       num_hidden_layers=meta["layers"], num_attention_heads=meta["heads"],
                       num_key_value_heads=meta["kv_heads"], head_dim=meta["head_dim"],
                       query_pre_attn_scalar=meta["query_pre_attn_scalar"], sliding_window=meta["sliding_window"],
                       attn_logit_softcapping=meta["attn_logit_softcapping"],
                       final_logit_softcapping=meta["final_logit_softcapping"], max_position_embeddings=8192,
                       rms_norm_eps=1e-6, rope_theta=10000.0, hidden_activation="gelu_pytorch_tanh",
                       torch_dtype="float32")
    model = Gemma2ForCausalLM(cfg).to(torch.float32)
    weights = dict(np.load(npz))
    state = {k: torch.from_numpy(v) for k, v in weights.items()}
    state["lm_head.weight"] = state["model.embed_tokens.weight"]  # tied, as in every Gemma 2 checkpoint
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not missing and not unexpected, (missing, unexpected)
    model.save_pretrained(path, safe_serialization=True)


def main():
    npz, meta = sys.argv[1], json.loads(sys.argv[2])
    import torch
    import transformers
    gguf = g3.gguf_module()
    src = os.path.join(OUT, "gemma2-tiny")
    make_checkpoint(src, npz, meta)
    doc = {"generator": "scripts/make_gemma2_fixtures.py --hf-python (scripts/gen_gemma2_llama_converter_goldens.py)",
           "converter": "llama.cpp convert_hf_to_gguf.py from llama-cpp-python 0.3.36 (vendor/llama.cpp)",
           "gguf_py": getattr(gguf, "__version__", "vendored"),
           "transformers": transformers.__version__, "torch": torch.__version__,
           "model_name": MODEL_NAME, "outputs": []}
    g3.MODEL_NAME = MODEL_NAME
    with tempfile.TemporaryDirectory() as tmp:
        for outtype in OUTTYPES:
            dst = os.path.join(tmp, f"gemma2-tiny-{outtype}.gguf")
            g3.convert(src, outtype, False, dst)
            d = g3.describe(dst, meta["vocab"])
            d.update({"checkpoint": "llama-converter/gemma2-tiny", "kind": "text", "outtype": outtype,
                      "file_sha256": hashlib.sha256(open(dst, "rb").read()).hexdigest(),
                      "file_bytes": os.path.getsize(dst)})
            doc["outputs"].append(d)
            print(f"gemma2-tiny {outtype}: {len(d['metadata'])} keys, {len(d['tensors'])} tensors", file=sys.stderr)
    with open(os.path.join(OUT, "gemma2-goldens.json"), "w") as f:
        json.dump(doc, f, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()
