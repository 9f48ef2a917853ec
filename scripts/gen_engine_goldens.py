#!/usr/bin/env python3
"""Goldens for Kiln's Gemma 3 reference engine (RefInference/Engine), from llama.cpp (llama-cpp-python).

Usage:  python scripts/gen_engine_goldens.py [MODEL.gguf]   (in a venv with llama-cpp-python 0.3.36 and numpy)

1. Requantized variants of the 270M file, made by llama.cpp itself (`llama_model_quantize`, allow_requantize)
   into ~/.cache/kiln/gemma-3-270m-{q8_0,q4_0,f16}.gguf (skipped when present).
2. For the Q4_K_M file and each variant: per prompt position the top-40 logits (ids and values), the full-vocab
   max / mean / logsumexp, and a 16-token greedy continuation (1-token decodes) with the top-2 margin at each step.
   -> fixtures/engine/goldens_<variant>.json   (no whole-vocab arrays; each file well below 1 MB)
3. More weight types (ONLY=kiln-variants): Q2_K, Q3_K_M, Q5_K_M, Q4_1, Q5_1 and BF16 variants of the 270M file, made
   by Kiln's own `convert MODEL --type T --allow-requantize [--tensor-type ...]` (KILN_CONVERT, default
   .build/release/convert; see KILN_VARIANTS for why Q2_K and Q3_K_M force two tensor kinds) into
   ~/.cache/kiln/gemma-3-270m-<t>.gguf -- the same command scripts/prepare-real-model.sh runs for `make test`. Each
   golden records the variant's sha256 (so a test knows it runs on exactly the bytes llama.cpp ran) and whether
   llama.cpp's own quantizer (the llama-quantize binary of scripts/build-llama-tools.sh, same arguments) writes the
   identical file.
   The golden is llama.cpp's logits on Kiln's file: llama.cpp is the judge of the engine here, not of the quantizer.
4. Per-stage intermediates of one prompt for a few layers, taken from llama.cpp's graph-evaluation callback by
   scripts/llama_stages.py -> fixtures/engine/stages/*.npy + stages.json.
5. (ONLY=variant-stages) The same callback on the Q2_K and Q5_1 variants of step 3, layer 0 only, the first 16 tokens
   of the last prompt: the inputs and outputs of the attention output projection (kqv_out-0 -> attn_post_norm-0) and
   of the feed-forward block (ffn_norm-0 -> ffn_out-0), i.e. llama.cpp's Q2_K x Q8_K and Q5_1 x Q8_1 products (and
   Q4_0/Q5_0 for the Q2_K file's gate/up) -> fixtures/engine/stages_<variant>/*.npy + stages.json (with the file's
   sha256).

llama.cpp settings everywhere: n_ctx=256, n_batch=256, n_threads=2, logits_all=True, flash_attn=False.
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile

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


# The 270M's rows of 640 are not a multiple of 256, so llama-quantize's Q2_K and Q3_K_M mixes on it hold no Q2_K or
# Q3_K tensor at all (they fall back to Q4_0/Q5_0/...); those two variants force the tensors whose rows are a multiple
# of 256 (ffn_down: 2048, attn_output: 1024) to the type, with llama-quantize's own --tensor-type option.
KILN_VARIANTS = [  # (name, quantize type, --tensor-type overrides, llama_ftype, file): made by Kiln's convert
    ("q2_k", "Q2_K", ["ffn_down=q2_k", "attn_output=q2_k"], 10, "gemma-3-270m-q2_k.gguf"),
    ("q3_k_m", "Q3_K_M", ["ffn_down=q3_k", "attn_output=q3_k"], 12, "gemma-3-270m-q3_k_m.gguf"),
    ("q5_k_m", "Q5_K_M", [], 17, "gemma-3-270m-q5_k_m.gguf"),
    ("q4_1", "Q4_1", [], 3, "gemma-3-270m-q4_1.gguf"),
    ("q5_1", "Q5_1", [], 9, "gemma-3-270m-q5_1.gguf"),
    ("bf16", "BF16", [], 32, "gemma-3-270m-bf16.gguf"),
]
LLAMA_QUANTIZE = os.environ.get("LLAMA_QUANTIZE", os.path.expanduser("~/.cache/kiln-dev/llama-tools/bin/llama-quantize"))


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 24), b""):
            h.update(chunk)
    return h.hexdigest()


def make_kiln_variant(qtype, overrides, ftype, fname):
    """Kiln's convert writes the variant (the command scripts/prepare-real-model.sh runs); llama.cpp's quantizer writes
    the same type beside it for comparison: the llama-quantize binary (scripts/build-llama-tools.sh) when present,
    else llama_model_quantize through llama-cpp-python (which has no --tensor-type: overridden variants then go
    unchecked, recorded as null)."""
    kiln = os.environ.get("KILN_CONVERT", os.path.join(ROOT, ".build", "release", "convert"))
    tt = [a for o in overrides for a in ("--tensor-type", o)]
    dst = os.path.join(CACHE, fname)
    if not os.path.exists(dst):
        subprocess.run([kiln, MODEL, "-o", dst, "--type", qtype, "--allow-requantize"] + tt, check=True)
    ref_sha, how = None, None
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        ref = os.path.join(tmp, "llama-quantize.gguf")
        if os.path.exists(LLAMA_QUANTIZE):
            subprocess.run([LLAMA_QUANTIZE, "--allow-requantize"] + tt + [MODEL, ref, qtype, "2"], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            how = "llama-quantize " + " ".join(["--allow-requantize"] + tt + ["MODEL", "OUT", qtype, "2"])
        elif not overrides:
            p = llama_cpp.llama_model_quantize_default_params()
            p.ftype = ftype
            p.allow_requantize = True
            p.nthread = 2
            if llama_cpp.llama_model_quantize(MODEL.encode(), ref.encode(), p) != 0:
                raise SystemExit(f"llama_model_quantize({qtype}) failed")
            how = f"llama_model_quantize(ftype={ftype}, allow_requantize)"
        if how:
            ref_sha = sha256(ref)
    return dst, {"made_by": f"Kiln convert {os.path.basename(MODEL)} --type {qtype} --allow-requantize"
                            + "".join(f" --tensor-type {o}" for o in overrides),
                 "source_sha256": sha256(MODEL),
                 "llama_quantize": how, "llama_quantize_sha256": ref_sha}


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


# THREADS=1 suits a machine busy with other work (ggml's worker threads spin while they wait for each other). ggml's CPU
# kernels split work by output rows, so the count should not change the logits; it is recorded in each golden.
THREADS = int(os.environ.get("THREADS", "2"))


def load(path):
    return Llama(model_path=path, n_ctx=256, n_batch=256, n_threads=THREADS, n_threads_batch=THREADS,
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


def write_goldens(variant, path, prompts, greedy=True, provenance=None):
    llm = load(path)
    cases = run_prompts(llm, prompts, greedy)
    doc = {
        "generator": "scripts/gen_engine_goldens.py",
        "llama_cpp_python": llama_cpp.__version__,
        "numpy": np.__version__,
        "model": os.path.basename(path),
        "model_bytes": os.path.getsize(path),
        **({"model_sha256": sha256(path), **provenance} if provenance else {}),
        "settings": {"n_ctx": 256, "n_batch": 256, "n_threads": THREADS, "logits_all": True, "flash_attn": False,
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


VARIANT_STAGES = ["q2_k", "q5_1"]
VARIANT_STAGE_KEYS = ["kqv_out-0", "attn_post_norm-0", "ffn_norm-0", "ffn_out-0"]
VARIANT_STAGE_TOKENS = 16


def write_variant_stages():
    for name, qtype, overrides, ftype, fname in KILN_VARIANTS:
        if name not in VARIANT_STAGES:
            continue
        path = os.path.join(CACHE, fname)
        if not os.path.exists(path):
            path, _ = make_kiln_variant(qtype, overrides, ftype, fname)
        text = PROMPTS[-1][2]
        llm = load(path)
        ids = [int(i) for i in llm.tokenize(text.encode(), add_bos=True, special=True)][:VARIANT_STAGE_TOKENS]
        del llm
        d, _ = llama_stages.dump(path, ids)
        sdir = os.path.join(OUT, f"stages_{name}")
        os.makedirs(sdir, exist_ok=True)
        for f in os.listdir(sdir):
            os.remove(os.path.join(sdir, f))
        saved = []
        for key in VARIANT_STAGE_KEYS:
            fn = key + ".npy"
            np.save(os.path.join(sdir, fn), np.ascontiguousarray(d[key].astype(np.float32)))
            saved.append({"key": key, "file": fn, "shape": list(d[key].shape)})
        meta = {"generator": "scripts/gen_engine_goldens.py (ONLY=variant-stages) via scripts/llama_stages.py",
                "llama_cpp_python": llama_cpp.__version__, "numpy": np.__version__,
                "model": fname, "model_sha256": sha256(path), "text": text, "ids": ids,
                "settings": {"n_ctx": 256, "n_batch": 256, "n_threads": 2, "flash_attn": False}, "tensors": saved}
        with open(os.path.join(sdir, "stages.json"), "w") as f:
            json.dump(meta, f, indent=1)
        print(f"wrote {len(saved)} stage tensors of {fname} to {sdir}")


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
    if what in ("all", "kiln-variants"):
        only = os.environ.get("VARIANTS", "").split(",") if os.environ.get("VARIANTS") else None  # e.g. VARIANTS=q2_k,bf16
        for name, qtype, overrides, ftype, fname in KILN_VARIANTS:
            if only and name not in only:
                continue
            path, prov = make_kiln_variant(qtype, overrides, ftype, fname)
            ref = prov["llama_quantize_sha256"]
            prov["identical_to_llama_quantize"] = None if ref is None else ref == sha256(path)
            print(f"{name}: Kiln's file vs llama-quantize's: {prov['identical_to_llama_quantize']}")
            write_goldens(name, path, PROMPTS[:5], greedy=True, provenance=prov)
    if what in ("all", "variant-stages"):
        write_variant_stages()
