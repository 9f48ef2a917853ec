#!/usr/bin/env python3
"""Runs llama.cpp on Kiln's conversion of the tiny Kaggle-layout Gemma 3 fixture and records its logits.

Produced by: llama-cpp-python 0.3.36 (llama.cpp's loader and CPU graph; n_threads=2, flash attention off).
Regenerate:  .build/release/convert fixtures/gemma3/tiny-kaggle -o /tmp/tiny.gguf --name gemma3-tiny-int4 &&
             python3 scripts/gen_tiny_llama_goldens.py /tmp/tiny.gguf
Output:      fixtures/gemma3/tiny-llama-logits.json: the converted file's sha256 (Kiln must still write exactly this
             file), and for each prompt the token ids, llama.cpp's logits at every position (the vocabulary has 400
             tokens, so whole rows are small) and its greedy continuation.
"""
import hashlib
import json
import os
import sys

import llama_cpp
import numpy as np

PROMPTS = ["the capital of france is paris .", "<start_of_turn>user\nkiln converts gemma<end_of_turn>\n<start_of_turn>model\n",
           "def f(x):\n    return x * 2", "once upon a time there was a model"]


def main():
    path = sys.argv[1]
    llm = llama_cpp.Llama(model_path=path, n_ctx=128, n_threads=2, logits_all=True, verbose=False)
    cases = []
    for p in PROMPTS:
        llm.reset()
        toks = llm.tokenize(p.encode(), add_bos=True, special=True)
        llm.eval(toks)
        logits = np.array(llm.scores[: len(toks)], dtype=np.float32)
        llm.reset()
        greedy = []
        ctx = list(toks)
        for _ in range(8):
            llm.reset()
            llm.eval(ctx)
            nxt = int(np.argmax(llm.scores[len(ctx) - 1]))
            greedy.append(nxt)
            ctx.append(nxt)
        cases.append({"prompt": p, "tokens": toks, "logits": [[round(float(v), 6) for v in row] for row in logits],
                      "greedy": greedy})
    doc = {"generator": f"llama-cpp-python {llama_cpp.__version__}", "sha256": hashlib.sha256(open(path, "rb").read()).hexdigest(),
           "cases": cases}
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "gemma3", "tiny-llama-logits.json")
    with open(out, "w") as f:
        json.dump(doc, f)
    print("wrote", out, "sha256", doc["sha256"], [len(c["tokens"]) for c in cases])


if __name__ == "__main__":
    main()
