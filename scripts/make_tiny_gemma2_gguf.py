#!/usr/bin/env python3
"""A tiny random Gemma 2 made by `transformers`, converted by llama.cpp's own converter, and the logits of both
reference implementations: the ground truth for Kiln's Gemma 2 engine (issue 13).

Produced by:
- the model: transformers' own `Gemma2ForCausalLM` (Gemma2Config: 4 layers, d=64, 2 query heads / 1 KV head of 32,
  ffn 128, sliding window 8 on the even layers, attention soft-cap 50, final soft-cap 30, query_pre_attn_scalar =
  head_dim), random init with a fixed seed, then rescaled so the numbers exercise what Gemma 2 adds: q/k projections
  with std 0.5 (attention scores of order 10-60, where tanh(s/50)*50 bends them), every other matrix 1/sqrt(fan_in),
  token embedding std 1 (logits of order 10-40, where the final cap at 30 bends them; transformers' std 0.02 would give
  near-uniform logits), norm weights N(0, 0.1) (transformers leaves them 0, a no-op under Gemma's 1 + w). Saved with
  `save_pretrained` as float32 safetensors; tokenizer: transformers' GemmaTokenizerFast on fixtures/tokenizer/tiny.model.
- the GGUFs: llama.cpp's `convert_hf_to_gguf.py` (and gguf-py) from the llama-cpp-python 0.3.36 sdist (vendor/llama.cpp),
  `--outtype f32` and `--outtype q8_0`.
- llama.cpp's logits: llama-cpp-python 0.3.36 running each GGUF, every position of each prompt in one batch, no flash
  attention (scripts/llama_stages.py), n_ctx 64, 2 threads.
- transformers' logits: the same model in float32 with attn_implementation="eager" (the implementation that applies
  the attention soft-cap), `model(input_ids).logits`, no cache.

Two interpreters (torch and llama-cpp-python live in different venvs); regenerate with
  PY=$(bash scripts/llama-converter-env.sh); $PY scripts/make_tiny_gemma2_gguf.py model
  ~/.cache/kiln-dev/oracle/bin/python scripts/make_tiny_gemma2_gguf.py llama
The first step writes the GGUFs and transformers' logits, the second llama.cpp's logits; both update the JSON.

Writes (fixtures/gemma2/):
  tiny-gemma2-f32.gguf, tiny-gemma2-q8_0.gguf   llama.cpp's conversions
  tiny-gemma2.json                              prompts (token ids), config, library versions
  tiny-gemma2-hf.npy                            transformers float32 logits, [Σ T, vocab] (prompts concatenated)
  tiny-gemma2-llama-f32.npy, -llama-q8_0.npy    llama.cpp's logits on each GGUF, same layout
"""
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# The llama.cpp tree, the tokenizer and transformers' tokenizer as the Gemma 3 converter goldens use them.
from gen_llama_converter_goldens import LLAMA, ROOT, save_tokenizer  # noqa: E402

OUT = os.path.join(ROOT, "fixtures", "gemma2")
META = os.path.join(OUT, "tiny-gemma2.json")
OUTTYPES = ["f32", "q8_0"]
SEED = 20261128
PROMPT_LENGTHS = [24, 40]


def load_meta():
    return json.load(open(META)) if os.path.exists(META) else {}


def save_meta(doc):
    with open(META, "w") as f:
        json.dump(doc, f, indent=1)


def make_model(tmp):
    import numpy as np
    import torch
    import transformers
    from transformers import Gemma2Config, Gemma2ForCausalLM
    src = os.path.join(tmp, "hf")
    os.makedirs(src)
    vocab = save_tokenizer(src)
    cfg = Gemma2Config(vocab_size=vocab, hidden_size=64, intermediate_size=128, num_hidden_layers=4,
                       num_attention_heads=2, num_key_value_heads=1, head_dim=32, query_pre_attn_scalar=32,
                       sliding_window=8, attn_logit_softcapping=50.0, final_logit_softcapping=30.0,
                       max_position_embeddings=256, rms_norm_eps=1e-6, rope_theta=10000.0,
                       attn_implementation="eager")
    torch.manual_seed(SEED)
    model = Gemma2ForCausalLM(cfg).to(torch.float32).eval()
    g = torch.Generator().manual_seed(SEED + 1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.copy_(torch.randn(p.shape, generator=g) * 0.1)
            elif name.endswith("embed_tokens.weight"):
                p.copy_(torch.randn(p.shape, generator=g))
            elif name.endswith(("q_proj.weight", "k_proj.weight")):
                p.copy_(torch.randn(p.shape, generator=g) * 0.5)
            else:
                p.copy_(torch.randn(p.shape, generator=g) / p.shape[1] ** 0.5)
    model.save_pretrained(src, safe_serialization=True)

    rng = np.random.default_rng(SEED)
    prompts = [[2] + [int(i) for i in rng.integers(4, vocab, size=n - 1)] for n in PROMPT_LENGTHS]
    rows = []
    with torch.no_grad():
        for ids in prompts:
            out = model(torch.tensor([ids]), use_cache=False).logits[0]
            rows.append(out.to(torch.float32).numpy())
    hf = np.concatenate(rows).astype(np.float32)
    np.save(os.path.join(OUT, "tiny-gemma2-hf.npy"), hf)

    sys.path.insert(0, LLAMA)
    sys.path.insert(0, os.path.join(LLAMA, "gguf-py"))
    import convert_hf_to_gguf
    for outtype in OUTTYPES:
        dst = os.path.join(OUT, f"tiny-gemma2-{outtype}.gguf")
        saved = sys.argv
        sys.argv = ["convert_hf_to_gguf.py", src, "--outtype", outtype, "--outfile", dst,
                    "--model-name", "kiln-tiny-gemma2"]
        try:
            convert_hf_to_gguf.main()
        finally:
            sys.argv = saved
    doc = load_meta()
    doc.update({"generator": "scripts/make_tiny_gemma2_gguf.py",
                "transformers": transformers.__version__, "torch": torch.__version__, "numpy": np.__version__,
                "converter": "llama.cpp convert_hf_to_gguf.py from llama-cpp-python 0.3.36 (vendor/llama.cpp)",
                "config": {k: getattr(cfg, k) for k in ["vocab_size", "hidden_size", "intermediate_size",
                                                       "num_hidden_layers", "num_attention_heads",
                                                       "num_key_value_heads", "head_dim", "query_pre_attn_scalar",
                                                       "sliding_window", "attn_logit_softcapping",
                                                       "final_logit_softcapping", "rms_norm_eps", "rope_theta"]},
                "layer_types": list(cfg.layer_types),
                "prompts": prompts, "seed": SEED})
    save_meta(doc)
    print(f"hf logits {hf.shape}, max |logit| {abs(hf).max():.2f}")


def run_llama():
    import numpy as np
    import llama_cpp
    import llama_stages
    doc = load_meta()
    for outtype in OUTTYPES:
        path = os.path.join(OUT, f"tiny-gemma2-{outtype}.gguf")
        rows = [llama_stages.dump(path, ids, n_ctx=64)[1] for ids in doc["prompts"]]
        logits = np.concatenate(rows).astype(np.float32)
        np.save(os.path.join(OUT, f"tiny-gemma2-llama-{outtype}.npy"), logits)
        print(f"{outtype}: llama.cpp logits {logits.shape}, max |logit| {abs(logits).max():.2f}")
    doc["llama_cpp_python"] = llama_cpp.__version__
    doc["llama_settings"] = {"n_ctx": 64, "n_threads": 2, "flash_attn": False, "batch": "each prompt in one batch"}
    save_meta(doc)


if __name__ == "__main__":
    step = sys.argv[1] if len(sys.argv) > 1 else ""
    if step == "model":
        os.makedirs(OUT, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            make_model(tmp)
    elif step == "llama":
        run_llama()
    else:
        raise SystemExit(__doc__)
