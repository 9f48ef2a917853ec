// Per-row softmax statistics for `verify`: the first argmax, Σ exp(l − max) in double, the KL pieces and the top 5
// of a vocabulary row. These used to be scalar Swift loops over glibc's `exp`, three full-vocabulary passes per scored
// position — a sixth of verify's CPU time. Exponentials are double precision (a polynomial within a few ulp of
// glibc's `exp`) so the statistics keep their double-precision meaning; the AVX2 variant does four at a time.
#include "ckernels.h"
#include <math.h>
#include <string.h>

#pragma clang fp contract(off)

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define RS_X86 1
#endif

// Below this, exp(x) < 2.3e-308: it is flushed to 0 (a row's sum is at least exp(0) = 1, so such terms are
// 300 orders of magnitude below the sum's last bit).
#define RS_EXP_FLOOR (-708.0)

// ---- portable ----

// The first index holding `m` (0 when none: an empty or all-NaN row).
static int64_t rs_first_generic(const float *l, int64_t n, float m) {
    for (int64_t i = 0; i < n; i++) if (l[i] == m) return i;
    return 0;
}

static double rs_exp_generic(double x) { return x < RS_EXP_FLOOR ? 0.0 : exp(x); }

static double rs_sumexp_generic(const float *l, int64_t n, float m, double *e) {
    double s = 0;
    for (int64_t i = 0; i < n; i++) {
        double v = rs_exp_generic((double)l[i] - (double)m);
        if (e) e[i] = v;
        s += v;
    }
    return s;
}

static void rs_kl_generic(const double *e, const float *s, const float *c, int64_t n, float cmax,
                          double *weighted, double *csum, double *maxabs) {
    double w = 0, cs = 0, ma = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = (double)s[i] - (double)c[i];
        w += e[i] * d;
        double a = fabs(d);
        ma = a > ma ? a : ma;
        cs += rs_exp_generic((double)c[i] - (double)cmax);
    }
    *weighted = w; *csum = cs; *maxabs = ma;
}

// ---- AVX2 + FMA ----
#ifdef RS_X86
#define RS_ATTR __attribute__((target("avx2,fma")))

static RS_ATTR int64_t rs_first_avx2(const float *l, int64_t n, float m) {
    const __m256 mv = _mm256_set1_ps(m);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const int bits = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(l + i), mv, _CMP_EQ_OQ));
        if (bits) return i + __builtin_ctz((unsigned)bits);
    }
    for (; i < n; i++) if (l[i] == m) return i;
    return 0;
}

// exp of four doubles ≤ 0: x = k·ln2 + r with |r| ≤ ln2/2 (fdlibm's two-part ln2, so k·ln2_hi is exact), e^r by its
// Taylor series to r^13 (truncation < 5e-18), times 2^k built in the exponent bits; x below the floor gives 0.
static RS_ATTR __m256d rs_exp_pd(__m256d x) {
    const __m256d floor = _mm256_set1_pd(RS_EXP_FLOOR);
    const __m256d under = _mm256_cmp_pd(x, floor, _CMP_LT_OQ);
    x = _mm256_max_pd(x, floor);
    const __m256d k = _mm256_round_pd(_mm256_mul_pd(x, _mm256_set1_pd(1.4426950408889634)),
                                      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256d r = _mm256_fnmadd_pd(k, _mm256_set1_pd(6.93147180369123816490e-01), x);
    r = _mm256_fnmadd_pd(k, _mm256_set1_pd(1.90821492927058770002e-10), r);
    static const double inv_fact[14] = {
        1.0, 1.0, 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040, 1.0 / 40320, 1.0 / 362880,
        1.0 / 3628800, 1.0 / 39916800, 1.0 / 479001600, 1.0 / 6227020800.0};
    __m256d p = _mm256_set1_pd(inv_fact[13]);
    for (int j = 12; j >= 0; j--) p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(inv_fact[j]));
    const __m128i ki = _mm256_cvtpd_epi32(k);  // k in [-1022, 0]
    const __m256i bits = _mm256_slli_epi64(_mm256_add_epi64(_mm256_cvtepi32_epi64(ki), _mm256_set1_epi64x(1023)), 52);
    const __m256d y = _mm256_mul_pd(p, _mm256_castsi256_pd(bits));
    return _mm256_andnot_pd(under, y);
}

static RS_ATTR inline __m256d rs_load4(const float *p) { return _mm256_cvtps_pd(_mm_loadu_ps(p)); }

// The last n % 4 values, padded with `pad`.
static RS_ATTR inline void rs_tail(const float *p, int64_t left, float *out4, float pad) {
    for (int k = 0; k < 4; k++) out4[k] = k < left ? p[k] : pad;
}

static RS_ATTR double rs_sum4(__m256d v) {
    double t[4];
    _mm256_storeu_pd(t, v);
    return (t[0] + t[1]) + (t[2] + t[3]);
}

static RS_ATTR double rs_sumexp_avx2(const float *l, int64_t n, float m, double *e) {
    const __m256d mv = _mm256_set1_pd((double)m);
    __m256d acc = _mm256_setzero_pd();
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        __m256d v = rs_exp_pd(_mm256_sub_pd(rs_load4(l + i), mv));
        if (e) _mm256_storeu_pd(e + i, v);
        acc = _mm256_add_pd(acc, v);
    }
    if (i < n) {
        float t[4];
        rs_tail(l + i, n - i, t, -INFINITY);
        const __m256d v = rs_exp_pd(_mm256_sub_pd(rs_load4(t), mv));  // padded lanes are exp(-inf) = 0
        if (e) {
            double v4[4];
            _mm256_storeu_pd(v4, v);
            for (int64_t k = 0; k < n - i; k++) e[i + k] = v4[k];
        }
        acc = _mm256_add_pd(acc, v);
    }
    return rs_sum4(acc);
}

static RS_ATTR void rs_kl_avx2(const double *e, const float *s, const float *c, int64_t n, float cmax,
                               double *weighted, double *csum, double *maxabs) {
    const __m256d mv = _mm256_set1_pd((double)cmax);
    const __m256d sign = _mm256_set1_pd(-0.0);
    __m256d w = _mm256_setzero_pd(), cs = _mm256_setzero_pd(), ma = _mm256_setzero_pd();
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const __m256d cv = rs_load4(c + i);
        const __m256d d = _mm256_sub_pd(rs_load4(s + i), cv);
        w = _mm256_fmadd_pd(_mm256_loadu_pd(e + i), d, w);
        ma = _mm256_max_pd(_mm256_andnot_pd(sign, d), ma);
        cs = _mm256_add_pd(cs, rs_exp_pd(_mm256_sub_pd(cv, mv)));
    }
    double wt = rs_sum4(w), ct = rs_sum4(cs);
    double mt[4];
    _mm256_storeu_pd(mt, ma);
    double m = mt[0];
    for (int k = 1; k < 4; k++) m = mt[k] > m ? mt[k] : m;
    for (; i < n; i++) {
        double d = (double)s[i] - (double)c[i];
        wt += e[i] * d;
        double a = fabs(d);
        m = a > m ? a : m;
        ct += rs_exp_generic((double)c[i] - (double)cmax);
    }
    *weighted = wt; *csum = ct; *maxabs = m;
}
#endif

static int rs_avx2(void) {
#ifdef RS_X86
    return ck_uses_avx2();
#else
    return 0;
#endif
}

void ck_row_argmax(const float *l, int64_t n, int64_t *argmax, float *max) {
    const float m = ck_max_f32(l, n);
    *max = m;
#ifdef RS_X86
    if (rs_avx2()) { *argmax = rs_first_avx2(l, n, m); return; }
#endif
    *argmax = rs_first_generic(l, n, m);
}

double ck_row_sumexp(const float *l, int64_t n, float max, double *exps) {
#ifdef RS_X86
    if (rs_avx2()) return rs_sumexp_avx2(l, n, max, exps);
#endif
    return rs_sumexp_generic(l, n, max, exps);
}

void ck_row_kl(const double *source_exps, const float *s, const float *c, int64_t n, float cmax,
               double *weighted, double *csum, double *maxabs) {
#ifdef RS_X86
    if (rs_avx2()) { rs_kl_avx2(source_exps, s, c, n, cmax, weighted, csum, maxabs); return; }
#endif
    rs_kl_generic(source_exps, s, c, n, cmax, weighted, csum, maxabs);
}

// Insertion into the sorted best-5 list; ties keep the lower index first (it was seen first).
static void rs_insert5(const float *x, int64_t i, int64_t *best, int *count) {
    int j = *count;
    while (j > 0 && x[best[j - 1]] < x[i]) j--;
    int last = *count < 5 ? *count : 4;
    for (int k = last; k > j; k--) best[k] = best[k - 1];
    best[j] = i;
    if (*count < 5) (*count)++;
}

#ifdef RS_X86
// From index i on, with five already chosen: blocks of 8 compared with the current fifth at once; most have none above it.
static RS_ATTR int64_t rs_top5_scan_avx2(const float *x, int64_t i, int64_t n, int64_t *best, int *count) {
    for (; i + 8 <= n; i += 8) {
        const __m256 thr = _mm256_set1_ps(x[best[4]]);
        if (!_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(x + i), thr, _CMP_GT_OQ))) continue;
        for (int k = 0; k < 8; k++) if (x[i + k] > x[best[4]]) rs_insert5(x, i + k, best, count);
    }
    return i;
}
#endif

int ck_row_top5(const float *x, int64_t n, int64_t *best) {
    int count = 0;
    int64_t i = 0;
    for (; i < n && count < 5; i++) rs_insert5(x, i, best, &count);
#ifdef RS_X86
    if (rs_avx2() && count == 5) i = rs_top5_scan_avx2(x, i, n, best, &count);
#endif
    for (; i < n; i++) if (x[i] > x[best[4]]) rs_insert5(x, i, best, &count);
    return count;
}
