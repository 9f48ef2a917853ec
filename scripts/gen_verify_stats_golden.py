#!/usr/bin/env python3
"""Golden for Kiln's `verify` statistics (Sources/Verify/KLStatistics.swift), computed independently with numpy.

Writes fixtures/verify/stats-logits.npy (float32 [N, 2, V]: source row, candidate row per position) and
fixtures/verify/stats-golden.json (the next-token targets and every figure llama-perplexity --kl-divergence prints,
computed here in float64 from full-precision log-softmax, with the formulas of llama.cpp's
tools/perplexity/perplexity.cpp re-expressed in numpy: standard error sqrt(var/(n-1)), numpy's linear-interpolation
percentiles and median, Pearson correlation of the per-position negative log-likelihoods).

numpy only (tested with numpy 2.4.6). Run: python scripts/gen_verify_stats_golden.py
"""
import json
import os

import numpy as np

N, V = 240, 256
rng = np.random.default_rng(20261128)
src = rng.normal(0, 3, size=(N, V)).astype(np.float32)
# Candidate = source + noise whose scale varies by position (some near-lossless, some far off).
scale = np.exp(rng.uniform(np.log(1e-4), np.log(2.0), size=(N, 1)))
cand = (src + rng.normal(0, 1, size=(N, V)) * scale).astype(np.float32)
targets = np.array([rng.choice(V, p=np.exp(r - r.max()) / np.exp(r - r.max()).sum()) for r in src.astype(np.float64)])

s = src.astype(np.float64)
c = cand.astype(np.float64)


def log_softmax(x):
    m = x.max(axis=1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=1, keepdims=True))


ls, lc = log_softmax(s), log_softmax(c)
kld = (np.exp(ls) * (ls - lc)).sum(axis=1)
idx = np.arange(N)
nll = -lc[idx, targets]
nll_base = -ls[idx, targets]
p_diff = np.exp(-nll) - np.exp(-nll_base)
same_top = (s.argmax(axis=1) == c.argmax(axis=1))


def top5(x):
    # stable: highest value first, ties to the lower index
    return [set(np.lexsort((np.arange(V), -row))[:5].tolist()) for row in x]


overlap = np.array([len(a & b) for a, b in zip(top5(src), top5(cand))])
max_abs_logit = float(np.abs(c - s).max())


def sem(x):
    return float(np.std(x) / np.sqrt(len(x) - 1))  # population std / sqrt(n-1) = sqrt(var/(n-1))


def pct(x, q):
    return float(np.percentile(x, q * 100))


mean_nll, mean_base = nll.mean(), nll_base.mean()
cor = float(np.corrcoef(nll, nll_base)[0, 1])
cov = float(np.cov(nll, nll_base, ddof=1)[0, 1]) / N  # covariance of the means
ln_ratio = mean_nll - mean_base
ln_ratio_unc = float(np.sqrt(sem(nll) ** 2 + sem(nll_base) ** 2 - 2 * cov))
p_top = float(same_top.mean())
mse = p_diff ** 2
rms = float(np.sqrt(mse.mean()))
golden = {
    "generator": "scripts/gen_verify_stats_golden.py (numpy %s)" % np.__version__,
    "targets": targets.tolist(),
    "count": N,
    "kl_mean": float(kld.mean()), "kl_mean_unc": sem(kld),
    "kl_max": float(kld.max()), "kl_min": float(kld.min()),
    "kl_percentiles": {"99.9%": pct(kld, 0.999), "99.0%": pct(kld, 0.99), "95.0%": pct(kld, 0.95), "90.0%": pct(kld, 0.9),
                       "Median": float(np.median(kld)), "10.0%": pct(kld, 0.1), "5.0%": pct(kld, 0.05),
                       "1.0%": pct(kld, 0.01), "0.1%": pct(kld, 0.001)},
    "ppl_candidate": float(np.exp(mean_nll)), "ppl_candidate_unc": float(np.exp(mean_nll) * sem(nll)),
    "ppl_source": float(np.exp(mean_base)), "ppl_source_unc": float(np.exp(mean_base) * sem(nll_base)),
    "ln_ppl_correlation": cor,
    "ln_ppl_ratio": float(ln_ratio), "ln_ppl_ratio_unc": ln_ratio_unc,
    "ppl_ratio": float(np.exp(ln_ratio)),
    "p_diff_mean": float(p_diff.mean()), "p_diff_mean_unc": sem(p_diff),
    "p_diff_max": float(p_diff.max()), "p_diff_min": float(p_diff.min()),
    "p_diff_percentiles": {"99.9%": pct(p_diff, 0.999), "99.0%": pct(p_diff, 0.99), "95.0%": pct(p_diff, 0.95),
                           "90.0%": pct(p_diff, 0.9), "75.0%": pct(p_diff, 0.75), "Median": float(np.median(p_diff)),
                           "25.0%": pct(p_diff, 0.25), "10.0%": pct(p_diff, 0.1), "5.0%": pct(p_diff, 0.05),
                           "1.0%": pct(p_diff, 0.01), "0.1%": pct(p_diff, 0.001)},
    "rms_p_diff": rms, "rms_p_diff_unc": float(0.5 / rms * np.std(mse) / np.sqrt(N - 1)),
    "same_top": p_top, "same_top_unc": float(np.sqrt(p_top * (1 - p_top) / (N - 1))),
    "top5_overlap": float(overlap.mean()),
    "max_abs_logit_diff": max_abs_logit,
}
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "verify")
os.makedirs(out, exist_ok=True)
np.save(os.path.join(out, "stats-logits.npy"), np.stack([src, cand], axis=1))
with open(os.path.join(out, "stats-golden.json"), "w") as f:
    json.dump(golden, f, indent=1)
print("wrote", out, "kl_mean", golden["kl_mean"], "same_top", p_top)
