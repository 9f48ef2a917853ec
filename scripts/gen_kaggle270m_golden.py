#!/usr/bin/env python3
"""Runs llama.cpp on Kiln's conversion of the Kaggle-layout 270M checkpoint and records what it did.

Produced by: llama-cpp-python 0.3.36 (llama.cpp's own loader and CPU graph), gguf-py 0.19.0.
Regenerate:  eval "$(bash scripts/prepare-real-model.sh)" &&
             .build/release/convert "$KILN_KAGGLE270M" -o /tmp/k270.gguf --name gemma3-270m-int4 &&
             python3 scripts/gen_kaggle270m_golden.py /tmp/k270.gguf
The sha256 is Kiln's own output: a regression lock, not evidence; the evidence is what llama.cpp did with the file.
Output:      fixtures/gemma3/kaggle270m-llama.json: the file's sha256 (the test checks Kiln still writes exactly
             this file), and llama.cpp's greedy continuation of "The capital of France is" plus its top-5 next
             tokens, for the same prompt on the original Q4_K_M GGUF too.
"""
import hashlib
import json
import os
import sys

import llama_cpp
import numpy as np

PROMPT = "The capital of France is"


def run(path):
    llm = llama_cpp.Llama(model_path=path, n_ctx=128, n_threads=2, logits_all=True, verbose=False)
    toks = llm.tokenize(PROMPT.encode(), add_bos=True, special=True)
    llm.eval(toks)
    last = np.array(llm.scores[len(toks) - 1])
    top = np.argsort(-last)[:5]
    llm.reset()
    out = llm.create_completion(PROMPT, max_tokens=16, temperature=0)
    return {"tokens": toks, "continuation": out["choices"][0]["text"],
            "top5": [{"id": int(i), "piece": llm.detokenize([int(i)]).decode("utf-8", "replace"), "logit": float(last[i])} for i in top]}


def main():
    path = sys.argv[1]
    sha = hashlib.sha256(open(path, "rb").read()).hexdigest()
    orig = os.path.expanduser(os.environ.get("KILN_GEMMA270M", "~/.cache/kiln/gemma-3-270m-q4_k_m.gguf"))
    doc = {"generator": f"llama-cpp-python {llama_cpp.__version__}", "prompt": PROMPT, "kiln_output_sha256": sha,
           "kiln_output": run(path), "original_q4_k_m": run(orig)}
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "gemma3", "kaggle270m-llama.json")
    with open(out, "w") as f:
        json.dump(doc, f, indent=1, ensure_ascii=False)
    print(json.dumps(doc, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
