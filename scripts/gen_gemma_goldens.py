#!/usr/bin/env python3
"""What Kaggle-layout Gemma 3 checkpoints compute, according to Google DeepMind's own `gemma` library.

Ground truth: `gemma` 3.3.0 (PyPI; scripts/install-gemma-lib.sh installs it with its pins), the reader
(`gm.ckpts.load_params`) and float32 forward pass (`gm.nn.Transformer`) that Kaggle's Flax checkpoints are made for.
It reads each checkpoint itself, so these goldens do not share Kiln's (or our fixture scripts') understanding of the
Flax layout.

Checkpoints:
- fixtures/gemma3/tiny-kaggle, tiny-kaggle-vision (scripts/make_gemma3_fixtures.py). They carry no config, so the
  model is the library's own `Gemma3_1B` config (text) or `Gemma3_4B` config (vision) with only the shapes replaced
  by those of the checkpoint — the same rule Kiln's converter applies to test-sized checkpoints
  (Sources/Conversion/Gemma3.swift: 1B rules without a vision tower, 4B rules with one).
- fixtures/gemma-lib/tiny-nested, tiny-kauldron (scripts/make_gemma_lib_checkpoints.py, written by the gemma and
  kauldron libraries): the layouts of a fine-tune; same 1B-rules config as tiny-kaggle.
- the real-weight Kaggle-layout 270M checkpoint (`--kaggle270m DIR`, default $KILN_CACHE/kaggle270m), run as
  `gm.nn.Gemma3_270M()`.
- Gemma 2: fixtures/gemma2/tiny-flat and tiny-nested (scripts/make_gemma2_fixtures.py, written by the gemma library),
  run with the library's Gemma2_2B / Gemma2_9B configs and the tiny shapes, with the family's 4096 window (what Kiln
  writes for a Flax Gemma 2 of unknown size); "gemma2-tiny-window8" runs the FLAT weights with an 8-token window, as
  their HF twin fixtures/llama-converter/gemma2-tiny states in config.json, and `--llama` runs Kiln's conversion of
  that twin. Output files are named fixtures/verify/gemma2-tiny-*.json.
Token ids: fixed prompts (prose, code, numbers, a Gemma 3 chat turn, non-English) encoded with sentencepiece from
the checkpoint's tokenizer.model (BOS first; `<start_of_turn>`/`<end_of_turn>` mapped to their ids), plus one
sequence longer than the sliding window the library's config uses, so local and global layers both count.

Output: fixtures/verify/gemma-<model>.json, per sequence: `ids`, and per position the log-sum-exp of the logits over
the full vocabulary (`lse`), the 64 largest logits (`top_ids`, `top_logits`, rounded to 7 significant digits) and
the log of the probability outside them (`log_tail`, summed directly in float64: exact even where 1 − Σ top would
be lost in rounding);
`full_vocab`: figures over the full vocabulary the script saw (how much probability lies outside the top 64, so a
KL over the top 64 plus one tail bucket is a faithful stand-in for the full one).
With `--llama`: Kiln converts each checkpoint to F32 (`.build/release/convert DIR -o x.gguf --type f32`, or the binary
`--convert` names) and llama.cpp (llama-cpp-python, run with `--llama-python`) scores the same ids; `llama_cpp_f32`
records max |Δlogit|, mean KL(gemma ‖ llama.cpp) and argmax agreement over the full vocabulary, and the sha256 of the
file llama.cpp ran (`gguf_sha256`, which the Swift tests check Kiln still writes): an independent check that Kiln
reads the Flax layout as Google's code does. For the int4-grid Gemma 2 checkpoints `llama_cpp_auto` does the same for
the default `--type auto` (lossless Q4_0) conversion, and `llama_quantize` the sha256 of llama-quantize's Q4_K_M of
Kiln's F32 conversion (`--llama-quantize`), which Kiln's direct `--type Q4_K_M` conversion must equal.

Regenerate:  scripts/install-gemma-lib.sh && swift build -c release --product convert &&
             ~/.cache/kiln-dev/venv-gemma/bin/python scripts/gen_gemma_goldens.py --llama
             (--only tiny-kaggle,tiny-kaggle-vision,270m,gemma2-tiny-flat,... selects models; the tiny ones take ~1.5 min each, the 270M
             ~17 min on a loaded 2-core machine). The committed 270M golden was made from a checkpoint whose 200
             arrays are bit-identical to those scripts/make_kaggle_checkpoint.py writes (its tokenizer.model differs
             only in leaving bos_id unset, hence the `<bos>` fallback below).
"""
import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # tensorflow (imported by kauldron) is chatty on import

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, ".."))
OUT_DIR = os.path.join(ROOT, "fixtures", "verify")
TOP_K = 64
LOSSLESS_TOO = {"gemma2-tiny-flat", "gemma2-tiny-window8"}

PROMPTS = [
    ("prose", "The capital of France is Paris. It is known for the Eiffel Tower, its museums and its cafés."),
    ("code", "def fibonacci(n):\n    if n < 2:\n        return n\n    return fibonacci(n - 1) + fibonacci(n - 2)\n"),
    ("numbers", "1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144; pi = 3.14159, e = 2.71828, 2026-11-28 at 07:30."),
    ("chat", "<start_of_turn>user\nWhat is the tallest mountain in Europe?<end_of_turn>\n<start_of_turn>model\n"),
    ("non-english", "Le renard brun rapide saute par-dessus le chien paresseux. Der schnelle braune Fuchs springt. "
                    "素早い茶色の狐がのろまな犬を飛び越える。"),
]
SPECIAL = ["<start_of_turn>", "<end_of_turn>"]

# Text of the long sequence: cut to `window + 88` tokens (600 for a 512 window).
LONG_TEXT = " ".join([
    "A kiln is a thermally insulated chamber, a type of oven, that produces temperatures sufficient to complete some "
    "process, such as hardening, drying, or chemical changes. Kilns have been used for millennia to turn objects made "
    "from clay into pottery, tiles and bricks.",
    "Various industries use rotary kilns for pyroprocessing (to calcinate ores, such as limestone to lime for cement) "
    "and to transform many other materials.",
    "The earliest known kilns date to around 6000 BC and were found at the Yarim Tepe site in modern Iraq. Neolithic "
    "kilns were able to produce temperatures greater than 900 degrees Celsius.",
    "Uses include annealing, fusing and deco firing of glass, or fusing metallic oxide paints to the surface of glass; "
    "drying lumber, so that it can be used immediately; drying and roasting wood; and smelting ores to extract metal.",
    "Firing pottery: when the kiln is heated slowly, water leaves the clay first, then organic matter burns away, and "
    "at higher temperatures the clay particles begin to fuse. The potter watches pyrometric cones, small pyramids "
    "that bend at known temperatures, through a spy hole in the door.",
    "Wood-fired kilns need a crew who stoke the fire day and night for several days; ash carried by the flame lands "
    "on the pots and melts into a natural glaze whose colour depends on the wood, the clay and where each pot stood.",
    "Electric kilns, by contrast, are controlled by a thermocouple and a small computer that follows a firing "
    "schedule: ramp to 600 degrees at 100 degrees per hour, hold for ten minutes, then climb to 1222 degrees.",
    "def firing_schedule(segments):\n    total = 0\n    for rate, target, hold in segments:\n        total += target / rate"
    " + hold / 60\n    return total\n",
    "In Japan, the anagama is a single long chamber dug into a slope; the noborigama climbs the hill in a row of "
    "chambers, each heated partly by the exhaust of the one below it, which saves fuel and evens out the heat.",
    "Brick clamps, the oldest way to fire bricks, are stacks of unfired bricks with fuel between them, covered with "
    "earth; the whole stack becomes the kiln and is taken apart when it has cooled.",
    "Modern tunnel kilns run without stopping: cars loaded with ware move slowly through a long heated tunnel, "
    "passing through preheating, firing and cooling zones, so that the kiln never has to be heated from cold.",
    "Le four à bois demande une équipe qui alimente le feu jour et nuit. Der Brennofen wird langsam abgekühlt, "
    "damit die Glasur nicht reißt. 窯の温度はゆっくりと上げる。",
] * 2)


def fmt(x):
    """Round to 7 significant digits (logits), as a float JSON writes compactly."""
    return float(f"{x:.7g}")


# ---------------------------------------------------------------------------------------------------------------
# Token ids


def encode(sp, text):
    """BOS + sentencepiece ids of `text`, with the Gemma turn markers mapped to their control-token ids."""
    bos = sp.bos_id() if sp.bos_id() >= 0 else sp.piece_to_id("<bos>")  # a rebuilt model may leave bos_id unset
    ids = [bos]
    for part in re.split("(" + "|".join(map(re.escape, SPECIAL)) + ")", text):
        if part in SPECIAL:
            tid = sp.piece_to_id(part)
            assert tid != sp.unk_id(), f"{part} is not in the tokenizer"
            ids.append(tid)
        elif part:
            ids.extend(sp.encode(part))
    return ids


def sequences(tokenizer_model, long_len):
    import sentencepiece as spm
    sp = spm.SentencePieceProcessor(model_file=tokenizer_model)
    out = [(name, encode(sp, text)) for name, text in PROMPTS]
    if long_len:
        ids = encode(sp, LONG_TEXT)
        assert len(ids) >= long_len, f"long text gives only {len(ids)} tokens"
        out.append((f"long-{long_len}", ids[:long_len]))
    for name, ids in out:
        assert 0 not in ids[1:], f"{name}: pad id 0 would be masked by the gemma library"
    return out


# ---------------------------------------------------------------------------------------------------------------
# The gemma library


def import_gemma():
    import kauldron.typing.type_check as type_check
    type_check.TYPECHECKING_ENABLED = False  # kauldron's jaxtyping annotation checks lag typeguard; checks only
    import gemma
    from gemma import gm
    return gemma, gm


def weights_dir(download):
    """The Orbax directory inside a Kaggle download root (the folder beside tokenizer.model); for a Kauldron workdir
    (fixtures/gemma-lib/tiny-kauldron) its newest `checkpoints/ckpt_<step>`, which `load_params` itself resolves."""
    manager = os.path.join(download, "checkpoints")
    if os.path.isdir(manager):
        steps = sorted((int(d.split("_")[1]), d) for d in os.listdir(manager) if d.startswith("ckpt_"))
        return os.path.abspath(os.path.join(manager, steps[-1][1]))
    subs = [d for d in sorted(os.listdir(download)) if os.path.isfile(os.path.join(download, d, "_METADATA"))]
    assert len(subs) == 1, f"{download}: expected one weights directory, found {subs}"
    return os.path.abspath(os.path.join(download, subs[0]))  # orbax 0.11 finds no metadata via a relative path


def float32():
    import jax.numpy as jnp
    return jnp.float32


def tiny_model(gm, params, base_class):
    """The library's own `base_class` config (a `gm.nn` Gemma 3 class) with the checkpoint's shapes, the SigLIP
    tower's too when there is one. Returns (model, config)."""
    import dataclasses
    from gemma.gm.nn import _config
    from gemma.multimodal import vision as gemma_vision
    from gemma.multimodal import vision_utils

    def w(x):
        return np.asarray(x["w"] if isinstance(x, dict) else x)

    emb = w(params["embedder"]["input_embedding"])
    layers = sum(1 for k in params if k.startswith("layer_"))
    q = w(params["layer_0"]["attn"]["q_einsum"])              # (N, D, H)
    kv = w(params["layer_0"]["attn"]["kv_einsum"])            # (2, K, D, H)
    gating = w(params["layer_0"]["mlp"]["gating_einsum"])     # (2, F, D): Gemma 3's transpose_gating_einsum layout
    base = getattr(gm.nn, base_class).config
    assert base.transpose_gating_einsum, "Gemma 3 configs store gating_einsum as (2, F, D)"
    pattern = tuple(base.attention_types[:6])
    vision = None
    if "vision_encoder" in params:
        enc = params["vision_encoder"]["siglip_encoder"]
        kernel = w(enc["embedding"]["kernel"])                 # (P, P, 3, width)
        blocks = [k for k in enc["Transformer"] if k.startswith("encoderblock_")]
        b0 = enc["Transformer"]["encoderblock_0"]
        tokens = w(enc["pos_embedding"]).shape[1]
        side = int(round(tokens ** 0.5))
        vit = vision_utils.ViTModel(
            patch_size=(kernel.shape[0], kernel.shape[1]), width=kernel.shape[-1], depth=len(blocks),
            mlp_dim=w(b0["MlpBlock_0"]["Dense_0"]["kernel"]).shape[1],
            num_heads=w(b0["MultiHeadDotProductAttention_0"]["query"]["kernel"]).shape[1])
        vision = gemma_vision.SigLiPFromPatches(
            siglip_encoder=vit, siglip_exit=gemma_vision.VisionExit(output_length=tokens),
            num_mm_tokens_per_image_prepool=tokens, num_mm_tokens_per_image=tokens,
            image_height=side * kernel.shape[0], image_width=side * kernel.shape[1])
    cfg = dataclasses.replace(
        base, num_embed=emb.shape[0], embed_dim=emb.shape[1], hidden_dim=gating.shape[1], num_heads=q.shape[0],
        head_dim=q.shape[2], num_kv_heads=kv.shape[1],
        attention_types=_config.make_attention_layers_types(pattern, num_layers=layers), vision_encoder=vision)
    return gm.nn.Transformer(config=cfg, dtype=float32()), cfg


def tiny_gemma2_model(gm, params, base_class, window=None):
    """The library's own Gemma 2 `base_class` config with the tiny shapes of the Gemma 2 fixtures
    (scripts/make_gemma2_fixtures.py's `tiny_config`) and the family's window, or `window`; checked against the
    checkpoint's shapes. Returns (model, config)."""
    sys.path.insert(0, HERE)
    import make_gemma2_fixtures
    cfg = make_gemma2_fixtures.tiny_config(gm, base_class, window)
    w = lambda x: np.asarray(x["w"] if isinstance(x, dict) else x)
    q = w(params["layer_0"]["attn"]["q_einsum"])
    gating = w(params["layer_0"]["mlp"]["gating_einsum"])
    want_gating = (2, cfg.hidden_dim, cfg.embed_dim) if cfg.transpose_gating_einsum else (2, cfg.embed_dim, cfg.hidden_dim)
    assert q.shape == (cfg.num_heads, cfg.embed_dim, cfg.head_dim) and gating.shape == want_gating, (q.shape, gating.shape)
    assert w(params["embedder"]["input_embedding"]).shape == (cfg.num_embed, cfg.embed_dim)
    assert sum(1 for k in params if k.startswith("layer_")) == cfg.num_layers
    return gm.nn.Transformer(config=cfg, dtype=float32()), cfg


def config_record(cfg):
    return {
        "num_embed": cfg.num_embed, "embed_dim": cfg.embed_dim, "hidden_dim": cfg.hidden_dim,
        "num_heads": cfg.num_heads, "head_dim": cfg.head_dim, "num_kv_heads": cfg.num_kv_heads,
        "num_layers": cfg.num_layers, "attention_types": [a.name for a in cfg.attention_types],
        "sliding_window_size": cfg.sliding_window_size, "query_pre_attn_scalar": cfg.query_pre_attn_scalar(),
        "final_logit_softcap": cfg.final_logit_softcap, "attn_logits_soft_cap": cfg.attn_logits_soft_cap,
        "use_qk_norm": cfg.use_qk_norm, "use_post_attn_norm": cfg.use_post_attn_norm,
        "use_post_ffw_norm": cfg.use_post_ffw_norm,
        "local_base_frequency": cfg.local_base_frequency, "global_base_frequency": cfg.global_base_frequency,
        "local_scale_factor": cfg.local_scale_factor, "global_scale_factor": cfg.global_scale_factor,
    }


def gemma_logits(model, params, seqs):
    """Float32 logits of every position of each sequence. All sequences are padded with the pad id 0 to one length
    so the forward pass compiles once: the library masks pad tokens out of attention and counts positions over
    real tokens only, and causality keeps trailing pads from reaching earlier positions."""
    import jax
    import jax.numpy as jnp
    length = max(len(ids) for _, ids in seqs)
    forward = jax.jit(lambda p, t: model.apply({"params": p}, tokens=t, return_last_only=False).logits)
    out = []
    for name, ids in seqs:
        t0 = time.time()
        tokens = jnp.asarray([ids + [0] * (length - len(ids))], dtype=jnp.int32)
        logits = np.asarray(forward(params, tokens)[0, : len(ids)])
        assert logits.dtype == np.float32, logits.dtype
        out.append(logits)
        print(f"  {name}: {len(ids)} tokens in {time.time() - t0:.1f} s", file=sys.stderr, flush=True)
    return out


# ---------------------------------------------------------------------------------------------------------------
# Statistics (float64 over float32 logits)


def log_softmax(x):
    x = x.astype(np.float64)
    m = x.max(-1, keepdims=True)
    return x - (m + np.log(np.exp(x - m).sum(-1, keepdims=True)))


def lse(x):
    x = x.astype(np.float64)
    m = x.max(-1)
    return m + np.log(np.exp(x - m[..., None]).sum(-1))


def top_and_tail(logits):
    """Per position: the ids of the 64 largest logits and log Σ_{others} softmax (summed directly in float64, so a
    tail far below float32's resolution of 1 − Σ top is still exact)."""
    part = np.argpartition(-logits, TOP_K, axis=-1)[:, :TOP_K]
    order = np.argsort(-np.take_along_axis(logits, part, -1), axis=-1, kind="stable")
    top = np.take_along_axis(part, order, -1)
    lp = log_softmax(logits)
    rest = np.ones(lp.shape, dtype=bool)
    np.put_along_axis(rest, top, False, -1)
    tail = np.where(rest, np.exp(lp), 0).sum(-1)
    return top, np.log(np.clip(tail, 1e-300, None))


def compact(logits):
    top, log_tail = top_and_tail(logits)
    return {"lse": [fmt(v) for v in lse(logits)],
            "log_tail": [fmt(v) for v in log_tail],
            "top_ids": top.tolist(),
            "top_logits": [[fmt(v) for v in row[ids]] for row, ids in zip(logits, top)]}


def full_vocab_figures(all_logits):
    lp = [log_softmax(x) for x in all_logits]
    top2 = [-np.partition(-x, 1, axis=-1)[:, :2] for x in all_logits]
    tail = np.exp(np.concatenate([top_and_tail(x)[1] for x in all_logits]))
    ent = np.concatenate([-(np.exp(l) * l).sum(-1) for l in lp])
    margin = np.concatenate([t[:, 0] - t[:, 1] for t in top2])
    return {"positions": int(tail.size), "tail_mass_outside_top64_max": float(tail.max()),
            "tail_mass_outside_top64_mean": float(tail.mean()), "entropy_mean_nats": float(ent.mean()),
            "top2_margin_min": float(margin.min()), "positions_with_top2_margin_le_0.01": int((margin <= 0.01).sum())}


def compare(ref, other):
    """max |Δlogit|, mean KL(ref ‖ other) over the full vocabulary and over the top 64 plus a tail bucket, argmax."""
    diffs, kls, kls_bucket, agree, n = [], [], [], 0, 0
    for a, b in zip(ref, other):
        diffs.append(np.abs(a.astype(np.float64) - b).max())
        la, lb = log_softmax(a), log_softmax(b)
        pa = np.exp(la)
        kls.append((pa * (la - lb)).sum(-1))
        top, log_tail_a = top_and_tail(a)
        rest = np.ones(lb.shape, dtype=bool)
        np.put_along_axis(rest, top, False, -1)
        log_tail_b = np.log(np.clip(np.where(rest, np.exp(lb), 0).sum(-1), 1e-300, None))
        ta, tb = np.take_along_axis(la, top, -1), np.take_along_axis(lb, top, -1)
        kls_bucket.append((np.exp(ta) * (ta - tb)).sum(-1) + np.exp(log_tail_a) * (log_tail_a - log_tail_b))
        agree += int((a.argmax(-1) == b.argmax(-1)).sum())
        n += a.shape[0]
    kl = np.concatenate(kls)
    return {"positions": n, "max_abs_logit_diff": float(max(diffs)), "kl_mean": float(kl.mean()),
            "kl_max": float(kl.max()), "kl_mean_top64_plus_tail": float(np.concatenate(kls_bucket).mean()),
            "argmax_agreement": agree / n}


# ---------------------------------------------------------------------------------------------------------------
# llama.cpp on Kiln's F32 conversion


def llama_worker(gguf, ids_json, out_npz):
    """Runs in the llama-cpp-python venv: full logits of every position for each id list."""
    import llama_cpp
    seqs = json.load(open(ids_json))
    n_ctx = max(len(s) for s in seqs) + 8
    llm = llama_cpp.Llama(model_path=gguf, n_ctx=n_ctx, n_batch=n_ctx, n_ubatch=n_ctx, n_threads=2, logits_all=True,
                          verbose=False)
    res = {}
    for k, ids in enumerate(seqs):
        llm.reset()
        llm.eval(ids)
        res[f"p{k}"] = np.array(llm.scores[: len(ids)], dtype=np.float32)
    np.savez(out_npz, **res)
    print(json.dumps({"llama_cpp_python": llama_cpp.__version__}))


def llama_compare(download, seqs, ref, args, tmp, outtype="f32"):
    """llama.cpp's logits on Kiln's `--type outtype` conversion against the library's; records the converted file's
    sha256, so a test can tie the figures to the bytes llama.cpp ran."""
    import hashlib
    gguf = os.path.join(tmp, f"model-{outtype}.gguf")
    cmd = [args.convert, download, "-o", gguf, "--type", outtype, "--no-mmproj"]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    digest = hashlib.sha256(open(gguf, "rb").read()).hexdigest()
    ids_json, out_npz = os.path.join(tmp, "ids.json"), os.path.join(tmp, "llama.npz")
    json.dump([ids for _, ids in seqs], open(ids_json, "w"))
    r = subprocess.run([args.llama_python, os.path.abspath(__file__), "--llama-worker", gguf, ids_json, out_npz],
                       check=True, capture_output=True, text=True)
    version = json.loads(r.stdout.strip().splitlines()[-1])["llama_cpp_python"]
    got = np.load(out_npz)
    other = [got[f"p{k}"] for k in range(len(seqs))]
    rec = compare(ref, other)
    git = lambda *a: subprocess.run(["git", "-C", ROOT, *a], capture_output=True, text=True).stdout.strip()
    commit = git("rev-parse", "--short", "HEAD") + ("+uncommitted Sources" if git("status", "--porcelain", "--", "Sources", "Package.swift") else "")
    rec["kiln_convert"] = f"convert DIR -o x.gguf --type {outtype} --no-mmproj (Kiln {commit or 'unknown commit'})"
    rec["gguf_sha256"] = digest
    rec["llama_cpp_python"] = version
    rec["settings"] = "logits_all, n_threads=2, one batch per sequence, flash attention off"
    os.remove(gguf)
    return rec


def llama_quantize_record(download, args, tmp, preset="Q4_K_M"):
    """llama.cpp's own llama-quantize on Kiln's F32 conversion: the sha256 of the file it writes, which Kiln's direct
    `convert DIR --type PRESET` must reproduce byte for byte (its per-tensor type rules and block formats)."""
    import hashlib
    f32 = os.path.join(tmp, "quantize-src-f32.gguf")
    out = os.path.join(tmp, f"llama-quantize-{preset}.gguf")
    subprocess.run([args.convert, download, "-o", f32, "--type", "f32", "--no-mmproj"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([args.llama_quantize, f32, out, preset], check=True, capture_output=True)
    rec = {"preset": preset, "sha256": hashlib.sha256(open(out, "rb").read()).hexdigest(),
           "command": f"llama-quantize KILN_F32.gguf OUT.gguf {preset} (llama.cpp from llama-cpp-python 0.3.36, scripts/build-llama-tools.sh)"}
    os.remove(f32)
    os.remove(out)
    return rec


# ---------------------------------------------------------------------------------------------------------------


def run_model(name, download, make_model, long_len_of, args, versions, convert_input=None):
    """The library's logits on `download`; with --llama, llama.cpp's on Kiln's conversion of `convert_input` (a
    checkpoint holding the same weights in another layout) or of `download` itself."""
    gemma, gm = import_gemma()
    t0 = time.time()
    params = gm.ckpts.load_params(weights_dir(download))
    # A bfloat16 checkpoint (a fine-tune) is widened to float32 — exact — so the forward pass is float32 like the
    # release checkpoints' (the library would otherwise compute in the stored bfloat16).
    import jax
    params = jax.tree.map(lambda x: x.astype(np.float32) if x.dtype != np.float32 else x, params)
    model, cfg = make_model(gm, params)
    long_len = long_len_of(cfg)
    seqs = sequences(os.path.join(download, "tokenizer.model"), long_len)
    logits = gemma_logits(model, params, seqs)
    elapsed = time.time() - t0
    doc = {
        "what": "logits of Google DeepMind's gemma library (float32 forward pass) on a Kaggle-layout checkpoint",
        "model": name,
        "checkpoint": os.path.relpath(download, ROOT) if download.startswith(ROOT) else download,
        "generator": "scripts/gen_gemma_goldens.py",
        "command": "python scripts/gen_gemma_goldens.py " + " ".join(sys.argv[1:]),
        "versions": versions,
        "gemma_config": config_record(cfg),
        "top_k": TOP_K,
        "seconds": round(elapsed, 1),
        "sequences": [dict(name=n, ids=ids, **compact(l)) for (n, ids), l in zip(seqs, logits)],
        "full_vocab": full_vocab_figures(logits),
    }
    if args.llama:
        with tempfile.TemporaryDirectory() as tmp:
            source = convert_input or download
            if convert_input:
                doc["llama_cpp_checkpoint"] = os.path.relpath(convert_input, ROOT)
            doc["llama_cpp_f32"] = llama_compare(source, seqs, logits, args, tmp)
            if name in LOSSLESS_TOO:  # on the int4 grid: also the default lossless Q4_0 conversion
                doc["llama_cpp_auto"] = llama_compare(source, seqs, logits, args, tmp, "auto")
            if name.startswith("gemma2"):
                doc["llama_quantize"] = llama_quantize_record(source, args, tmp)
    return doc


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--llama-worker":
        return llama_worker(*sys.argv[2:5])
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", default="tiny-kaggle,tiny-kaggle-vision,270m")
    ap.add_argument("--kaggle270m", default=os.path.join(os.environ.get("KILN_CACHE", os.path.expanduser("~/.cache/kiln")),
                                                          "kaggle270m"))
    ap.add_argument("--llama", action="store_true", help="also run llama.cpp on Kiln's F32 conversion")
    ap.add_argument("--llama-python", default=os.path.expanduser("~/.cache/kiln-dev/oracle/bin/python"))
    ap.add_argument("--llama-quantize", default=os.path.expanduser("~/.cache/kiln-dev/llama-tools/bin/llama-quantize"))
    ap.add_argument("--convert", default=os.path.join(ROOT, ".build", "release", "convert"),
                    help="Kiln's convert binary for --llama (a debug build writes the same bytes)")
    args = ap.parse_args()

    gemma, gm = import_gemma()
    import jax
    import flax
    import orbax.checkpoint
    import sentencepiece
    versions = {"gemma": gemma.__version__, "jax": jax.__version__, "flax": flax.__version__,
                "orbax-checkpoint": orbax.checkpoint.__version__, "sentencepiece": sentencepiece.__version__,
                "numpy": np.__version__, "python": sys.version.split()[0]}
    jax.config.update("jax_default_matmul_precision", "highest")
    versions["jax_default_matmul_precision"] = "highest"

    def tiny(base_class):
        return lambda gm, params: tiny_model(gm, params, base_class)

    def long_len(cfg):
        return (cfg.sliding_window_size or 0) + 88

    models = {
        "tiny-kaggle": (os.path.join(ROOT, "fixtures", "gemma3", "tiny-kaggle"), tiny("Gemma3_1B"), long_len),
        # The same text weights; the 4B rules (1024 window, RoPE ×8 on global layers). Short prompts only: positions
        # below the window do not depend on it, and tiny-kaggle's long sequence covers the sliding mask.
        "tiny-kaggle-vision": (os.path.join(ROOT, "fixtures", "gemma3", "tiny-kaggle-vision"), tiny("Gemma3_4B"),
                               lambda cfg: 0),
        # Written by the gemma / kauldron libraries themselves (scripts/make_gemma_lib_checkpoints.py): a NESTED
        # bfloat16 fine-tune layout and a Kauldron trainer checkpoint (its newest step). Short prompts only.
        "tiny-nested": (os.path.join(ROOT, "fixtures", "gemma-lib", "tiny-nested"), tiny("Gemma3_1B"), lambda cfg: 0),
        "tiny-kauldron": (os.path.join(ROOT, "fixtures", "gemma-lib", "tiny-kauldron"), tiny("Gemma3_1B"), lambda cfg: 0),
        # Gemma 2 (scripts/make_gemma2_fixtures.py, written by the gemma library): the FLAT Kaggle layout on the
        # int4 grid with Gemma2_2B's config family, and a NESTED bfloat16 fine-tune with Gemma2_9B's (the other
        # gating_einsum order), both with the family's 4096 window (what Kiln writes for a Flax Gemma 2 of unknown
        # size; the prompts stay below it). "gemma2-tiny-window8": the FLAT weights with an 8-token window, as the
        # HF twin's config.json (fixtures/llama-converter/gemma2-tiny) states: every prompt crosses it, and the long
        # sequence is 96 tokens; llama.cpp runs Kiln's conversion of that HF twin.
        "gemma2-tiny-flat": (os.path.join(ROOT, "fixtures", "gemma2", "tiny-flat"),
                             lambda gm, params: tiny_gemma2_model(gm, params, "Gemma2_2B"), lambda cfg: 0),
        "gemma2-tiny-nested": (os.path.join(ROOT, "fixtures", "gemma2", "tiny-nested"),
                               lambda gm, params: tiny_gemma2_model(gm, params, "Gemma2_9B"), lambda cfg: 0),
        "gemma2-tiny-window8": (os.path.join(ROOT, "fixtures", "gemma2", "tiny-flat"),
                                lambda gm, params: tiny_gemma2_model(gm, params, "Gemma2_2B", 8), long_len,
                                os.path.join(ROOT, "fixtures", "llama-converter", "gemma2-tiny")),
        "270m": (args.kaggle270m, lambda gm, params: (gm.nn.Gemma3_270M(dtype=float32()), gm.nn.Gemma3_270M.config), long_len),
    }
    os.makedirs(OUT_DIR, exist_ok=True)
    for name in args.only.split(","):
        download, make, ll, *convert_input = models[name]
        doc = run_model(name, download, make, ll, args, versions, convert_input[0] if convert_input else None)
        path = os.path.join(OUT_DIR, f"{name}.json" if name.startswith("gemma2") else f"gemma-{name}.json")
        with open(path + ".tmp", "w") as f:
            json.dump(doc, f, separators=(",", ":"), ensure_ascii=False)
        os.replace(path + ".tmp", path)
        summary = {k: doc[k] for k in ("full_vocab", "llama_cpp_f32", "llama_cpp_auto") if k in doc}
        print(f"wrote {path} ({os.path.getsize(path)} bytes, {doc['seconds']} s):", json.dumps(summary))


if __name__ == "__main__":
    sys.exit(main())
