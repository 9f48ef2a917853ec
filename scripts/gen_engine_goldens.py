#!/usr/bin/env python3
"""Goldens for Kiln's Gemma 3 reference engine (RefInference/Engine), from llama.cpp (llama-cpp-python).

Usage:  python scripts/gen_engine_goldens.py [MODEL.gguf]   (in a venv with llama-cpp-python 0.3.36 and numpy)

1. Requantized variants of the 270M file, made by llama.cpp itself (`llama_model_quantize`, allow_requantize)
   into ~/.cache/kiln/gemma-3-270m-{q8_0,q4_0,f16}.gguf (skipped when present).
2. For the Q4_K_M file and each variant: per prompt position the top-40 logits (ids and values), the full-vocab
   max / mean / logsumexp, and a 16-token greedy continuation (1-token decodes) with the top-2 margin at each step.
   -> fixtures/engine/goldens_<variant>.json   (no whole-vocab arrays; each file well below 1 MB)
3. Per-stage intermediates of one prompt for a few layers, taken from llama.cpp's graph-evaluation callback by
   scripts/llama_stages.py -> fixtures/engine/stages/*.npy + stages.json.

llama.cpp settings everywhere: n_ctx=256, n_batch=256, n_threads=2, logits_all=True, flash_attn=False.
"""
import json
import os
import sys

import numpy as np
import llama_cpp
from llama_cpp import Llama

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import llama_stages  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.environ.get("KILN_CACHE", os.path.expanduser("~/.cache/kiln"))
MODEL = sys.argv[1] if len(sys.argv) > 1 else os.path.join(CACHE, "gemma-3-270m-q4_k_m.gguf")
OUT = os.path.join(ROOT, "fixtures", "engine")
TOPK = 40
GREEDY = 16

CHAT = "<start_of_turn>user\n{}<end_of_turn>\n<start_of_turn>model\n"
PROMPTS = [
    ("raw-france", "raw", "The capital of France is Paris. The capital of Germany is"),
    ("raw-story", "raw", "Once upon a time, in a small village at the edge of a dark forest, there lived an old woodcutter who"),
    ("raw-code", "raw", "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n    if n < 2:\n        return n\n"),
    ("raw-list", "raw", "Here are five fruits: apple, banana, cherry,"),
    ("raw-numbers", "raw", "1, 2, 3, 5, 8, 13, 21, 34, 55,"),
    ("raw-multilingual", "raw", "Bonjour! Wie geht es dir? 今日はいい天気ですね。 Hola, ¿qué tal?"),
    ("chat-capital", "chat", "What is the capital of France?"),
    ("chat-poem", "chat", "Write a short poem about the sea."),
    ("chat-system", "chat", "You are a helpful assistant.\n\nExplain why the sky is blue in one sentence."),
    ("raw-long", "raw", "The history of the printing press begins in the fifteenth century, when Johannes Gutenberg "
     "combined movable metal type, oil-based inks and a wooden press adapted from those used to make wine. "
     "Within fifty years, presses had spread to more than two hundred cities across Europe, and"),
]

VARIANTS = [  # (name, llama_ftype, file)
    ("q8_0", 7, "gemma-3-270m-q8_0.gguf"),
    ("q4_0", 2, "gemma-3-270m-q4_0.gguf"),
    ("f16", 1, "gemma-3-270m-f16.gguf"),
]


def make_variants():
    for name, ftype, fname in VARIANTS:
        dst = os.path.join(CACHE, fname)
        if os.path.exists(dst):
            continue
        p = llama_cpp.llama_model_quantize_default_params()
        p.ftype = ftype
        p.allow_requantize = True
        p.nthread = 2
        tmp = dst + ".tmp"
        rc = llama_cpp.llama_model_quantize(MODEL.encode(), tmp.encode(), p)
        if rc != 0:
            raise SystemExit(f"llama_model_quantize({name}) failed: {rc}")
        os.replace(tmp, dst)
        print(f"wrote {dst}")


def load(path):
    return Llama(model_path=path, n_ctx=256, n_batch=256, n_threads=2, n_threads_batch=2,
                 logits_all=True, flash_attn=False, seed=0, verbose=False)


def position_record(row):
    row = np.asarray(row, dtype=np.float64)
    top = np.argsort(-row, kind="stable")[:TOPK]
    m = row.max()
    return {
        "ids": [int(i) for i in top],
        "logits": [round(float(row[i]), 5) for i in top],
        "max": round(float(m), 5),
        "mean": round(float(row.mean()), 5),
        "logsumexp": round(float(m + np.log(np.exp(row - m).sum())), 5),
    }


def run_prompts(llm, prompts, greedy=True):
    cases = []
    for name, kind, text in prompts:
        full = CHAT.format(text) if kind == "chat" else text
        ids = llm.tokenize(full.encode(), add_bos=True, special=True)
        assert 8 <= len(ids) <= 64, (name, len(ids))
        llm.reset()
        llm.eval(ids)
        scores = np.array(llm.scores[: len(ids)], dtype=np.float32)
        case = {"name": name, "kind": kind, "text": full, "ids": [int(i) for i in ids],
                "positions": [position_record(r) for r in scores]}
        if greedy:
            steps = []
            last = scores[-1]
            for _ in range(GREEDY):
                order = np.argsort(-last.astype(np.float64), kind="stable")[:2]
                tok = int(order[0])
                steps.append({"id": tok, "logit": round(float(last[order[0]]), 5),
                              "second": int(order[1]), "margin": round(float(last[order[0]] - last[order[1]]), 5)})
                llm.eval([tok])
                last = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float32)
            case["greedy"] = steps
        cases.append(case)
        print(f"  {name}: {len(ids)} tokens, argmax@last {case['positions'][-1]['ids'][0]}")
    return cases


def write_goldens(variant, path, prompts, greedy=True):
    llm = load(path)
    cases = run_prompts(llm, prompts, greedy)
    doc = {
        "generator": "scripts/gen_engine_goldens.py",
        "llama_cpp_python": llama_cpp.__version__,
        "numpy": np.__version__,
        "model": os.path.basename(path),
        "model_bytes": os.path.getsize(path),
        "settings": {"n_ctx": 256, "n_batch": 256, "n_threads": 2, "logits_all": True, "flash_attn": False,
                     "tokenize": "add_bos=True, special=True", "greedy": "1-token decodes after the batched prompt"},
        "topk": TOPK,
        "cases": cases,
    }
    dst = os.path.join(OUT, f"goldens_{variant}.json")
    with open(dst, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
    print(f"wrote {dst} ({os.path.getsize(dst)} bytes)")
    del llm


STAGE_LAYERS = [0, 5]
STAGE_NAMES = ["attn_norm", "Qcur", "Kcur", "Vcur", "Qcur_normed", "Kcur_normed", "Qcur#3", "Kcur#3",
               "kqv_out", "attn_post_norm", "sa_out", "ffn_norm", "ffn_out", "ffn_post_norm", "l_out"]


def write_stages():
    text = CHAT.format("What is the capital of France?")
    llm = load(MODEL)
    ids = llm.tokenize(text.encode(), add_bos=True, special=True)
    llm.eval(ids)
    logits = np.array(llm.scores[: len(ids)], dtype=np.float32)
    del llm
    d, dumped_logits = llama_stages.dump(MODEL, [int(i) for i in ids])
    print(f"  stage dump: logits max |Δ| vs the Llama run {float(np.abs(dumped_logits - logits).max())}")
    sdir = os.path.join(OUT, "stages")
    os.makedirs(sdir, exist_ok=True)
    for f in os.listdir(sdir):
        os.remove(os.path.join(sdir, f))
    saved = []

    def save(key, arr):
        fn = key.replace("#", "_") + ".npy"
        np.save(os.path.join(sdir, fn), np.ascontiguousarray(arr.astype(np.float32)))
        saved.append({"key": key, "file": fn, "shape": list(arr.shape)})

    save("inp_scaled", d["inp_scaled"])
    for il in STAGE_LAYERS:
        if il > 0:
            save(f"l_out-{il - 1}", d[f"l_out-{il - 1}"])
        for s in STAGE_NAMES:
            base, _, suffix = s.partition("#")
            key = f"{base}-{il}" + (f"#{suffix}" if suffix else "")
            if key in d:
                save(key, d[key])
            else:
                print(f"  (no {key} in the dump)")
    save("l_out-17", d["l_out-17"])
    save("result_norm", d["result_norm"])
    last = len(STAGE_LAYERS) and f"l_out-{STAGE_LAYERS[-1]}"
    meta = {"generator": "scripts/gen_engine_goldens.py via scripts/llama_stages.py", "model": os.path.basename(MODEL),
            "text": text, "ids": [int(i) for i in ids], "layers": STAGE_LAYERS, "tensors": saved,
            "last": last}
    json.dump(meta, open(os.path.join(sdir, "stages.json"), "w"), indent=1)
    print(f"wrote {len(saved)} stage tensors to {sdir}")


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    what = os.environ.get("ONLY", "all")
    if what in ("all", "main"):
        write_goldens("q4_k_m", MODEL, PROMPTS)
    if what in ("all", "stages"):
        write_stages()
    if what in ("all", "variants"):
        make_variants()
        for name, _, fname in VARIANTS:
            write_goldens(name, os.path.join(CACHE, fname), PROMPTS[:5], greedy=True)
