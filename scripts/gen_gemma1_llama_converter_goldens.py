#!/usr/bin/env python3
"""llama.cpp's own HF converter as the judge of Kiln's Gemma 1 (`gemma`) names, metadata, vocabulary and tensors.

Called by scripts/make_gemma1_fixtures.py --hf-python (which runs in the gemma-llm venv and hands over one tiny Gemma
1 fixture's float32 weights under GemmaForCausalLM's names as an .npz, plus its shapes as JSON); runs in the llama.cpp
converter venv (scripts/llama-converter-env.sh: transformers 4.57.6, torch CPU).

Produced by:
- the checkpoint fixtures/llama-converter/gemma1-<name>/: `transformers` itself — a `GemmaForCausalLM` with the tiny
  config (context 8192, RMS epsilon 1e-6 and RoPE base 10 000 as Google's Gemma 1 config.json files state), its
  parameters loaded from the .npz (strict: every parameter present), saved with `save_pretrained` as float32
  safetensors; tokenizer: transformers' GemmaTokenizerFast on the fixture's tokenizer.model (as
  scripts/gen_gemma2_llama_converter_goldens.py does);
- the golden fixtures/llama-converter/gemma1-<name>-goldens.json: llama.cpp's `convert_hf_to_gguf.py` (vendored in the
  llama-cpp-python 0.3.36 sdist; its `GemmaModel`) with --outtype f32/f16/bf16/q8_0, described by its own gguf-py with
  gen_llama_converter_goldens.py's describe().
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

OUTTYPES = ["f32", "f16", "bf16", "q8_0"]


def make_checkpoint(path, npz, meta):
    import numpy as np
    import torch
    from transformers import GemmaConfig, GemmaForCausalLM, GemmaTokenizerFast
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    # ids 1 and 2 are "</s>"/"<s>" in the tiny tokenizer.model (see gen_gemma2_llama_converter_goldens.py)
    tok = GemmaTokenizerFast(vocab_file=os.path.join(ROOT, meta["tokenizer"]), bos_token="<s>", eos_token="</s>")
    tok.save_pretrained(path)
    assert len(tok.get_vocab()) == meta["vocab"], len(tok.get_vocab())
    cfg = GemmaConfig(vocab_size=meta["vocab"], hidden_size=meta["width"], intermediate_size=meta["ffn"],
                      num_hidden_layers=meta["layers"], num_attention_heads=meta["heads"],
                      num_key_value_heads=meta["kv_heads"], head_dim=meta["head_dim"], max_position_embeddings=8192,
                      rms_norm_eps=1e-6, rope_theta=10000.0, hidden_activation="gelu_pytorch_tanh",
                      torch_dtype="float32")
    model = GemmaForCausalLM(cfg).to(torch.float32)
    state = {k: torch.from_numpy(v) for k, v in dict(np.load(npz)).items()}
    state["lm_head.weight"] = state["model.embed_tokens.weight"]  # tied, as in every Gemma checkpoint
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not missing and not unexpected, (missing, unexpected)
    model.save_pretrained(path, safe_serialization=True)


def main():
    npz, meta = sys.argv[1], json.loads(sys.argv[2])
    import torch
    import transformers
    gguf = g3.gguf_module()
    name = f"gemma1-{meta['name']}"
    src = os.path.join(OUT, name)
    make_checkpoint(src, npz, meta)
    g3.MODEL_NAME = "kiln-tiny-gemma1"  # no size or variant words, so llama.cpp derives no basename or finetune
    doc = {"generator": "scripts/make_gemma1_fixtures.py --hf-python (scripts/gen_gemma1_llama_converter_goldens.py)",
           "converter": "llama.cpp convert_hf_to_gguf.py from llama-cpp-python 0.3.36 (vendor/llama.cpp)",
           "gguf_py": getattr(gguf, "__version__", "vendored"),
           "transformers": transformers.__version__, "torch": torch.__version__,
           "model_name": g3.MODEL_NAME, "outputs": []}
    with tempfile.TemporaryDirectory() as tmp:
        for outtype in OUTTYPES:
            dst = os.path.join(tmp, f"{name}-{outtype}.gguf")
            g3.convert(src, outtype, False, dst)
            d = g3.describe(dst, meta["vocab"])
            d.update({"checkpoint": f"llama-converter/{name}", "kind": "text", "outtype": outtype,
                      "file_sha256": hashlib.sha256(open(dst, "rb").read()).hexdigest(),
                      "file_bytes": os.path.getsize(dst)})
            doc["outputs"].append(d)
            print(f"{name} {outtype}: {len(d['metadata'])} keys, {len(d['tensors'])} tensors", file=sys.stderr)
    with open(os.path.join(OUT, f"{name}-goldens.json"), "w") as f:
        json.dump(doc, f, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()
