// Included twice by kernels.c: once with ATTR = AVX2/FMA/F16C target attributes and KFN(x) = x##_avx2,
// once portable with KFN(x) = x##_generic. H2F/F2H are the half conversions of that variant.

static ATTR float KFN(h2f)(const uint8_t *p) {
    uint16_t h; memcpy(&h, p, 2);
    return H2F(h);
}

// One block of 32 activations as ggml-cpu's x86 quantize_row_q8_0/q8_1 round them (AVX2 path: d = amax/127,
// id = 127/amax, round half to even); returns d in float and Σq in *sum.
static ATTR float KFN(q8_block)(const float *xb, int8_t *qs, int *sum) {
    float amax = 0;
    for (int j = 0; j < 32; j++) { float a = fabsf(xb[j]); amax = amax > a ? amax : a; }
    const float d = amax / 127.f;
    const float id = amax != 0.0f ? 127.f / amax : 0.0f;
    int s = 0;
    for (int j = 0; j < 32; j++) { qs[j] = (int8_t)(int)__builtin_rintf(xb[j] * id); s += qs[j]; }
    *sum = s;
    return d;
}

static ATTR void KFN(quantize_q8_0)(const float *x, void *vy, int64_t n) {
    uint8_t *y = vy;
    for (int64_t i = 0; i < n / 32; i++) {
        uint8_t *yb = y + 34 * i;
        int sum;
        const float d = KFN(q8_block)(x + 32 * i, (int8_t *)(yb + 2), &sum);
        uint16_t hd = F2H(d); memcpy(yb, &hd, 2);
    }
}

// Q8_1 (block_q8_1: half d, half s, int8 qs[32]): as Q8_0 plus s = f16(d·Σq) with the float d, as ggml-cpu's x86
// quantize_row_q8_1 (quantize_row_q8_1_ref computes s the same way).
static ATTR void KFN(quantize_q8_1)(const float *x, void *vy, int64_t n) {
    uint8_t *y = vy;
    for (int64_t i = 0; i < n / 32; i++) {
        uint8_t *yb = y + 36 * i;
        int sum;
        const float d = KFN(q8_block)(x + 32 * i, (int8_t *)(yb + 4), &sum);
        uint16_t hd = F2H(d), hs = F2H(d * (float)sum);
        memcpy(yb, &hd, 2); memcpy(yb + 2, &hs, 2);
    }
}

static ATTR inline int KFN(nearest_int_k)(float fval) {
    float val = fval + 12582912.f;
    int i; memcpy(&i, &val, sizeof(int));
    return (i & 0x007fffff) - 0x00400000;
}

static ATTR void KFN(quantize_q8_K)(const float *x, void *vy, int64_t n) {
    uint8_t *y = vy;
    for (int64_t i = 0; i < n / 256; i++) {
        const float *xb = x + 256 * i;
        uint8_t *yb = y + 292 * i;
        int8_t *qs = (int8_t *)(yb + 4);
        int16_t bs[16];
        float mx = 0, amax = 0;
        for (int j = 0; j < 256; j++) { float ax = fabsf(xb[j]); if (ax > amax) { amax = ax; mx = xb[j]; } }
        if (amax == 0) {
            float z = 0; memcpy(yb, &z, 4);
            memset(qs, 0, 256); memset(yb + 260, 0, 32);
            continue;
        }
        const float iscale = -127.f / mx;
        for (int j = 0; j < 256; j++) { int v = KFN(nearest_int_k)(iscale * xb[j]); qs[j] = (int8_t)(v < 127 ? v : 127); }
        for (int j = 0; j < 16; j++) {
            int sum = 0;
            for (int ii = 0; ii < 16; ii++) sum += qs[16 * j + ii];
            bs[j] = (int16_t)sum;
        }
        memcpy(yb + 260, bs, 32);
        float d = 1 / iscale; memcpy(yb, &d, 4);
    }
}

#if CK_AVX2_VARIANT
// Eight at a time with F16C, which rounds to nearest even and widens exactly as F2H/H2F do; a group of eight holding
// a NaN goes through F2H, which gives every NaN the quiet half 0x7E00 with its sign as ggml does (F16C would keep
// payload bits).
static ATTR void KFN(f32_to_f16)(const float *x, uint16_t *y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_loadu_ps(x + i);
        if (_mm256_movemask_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q)) == 0)
            _mm_storeu_si128((__m128i *)(y + i), _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
        else
            for (int l = 0; l < 8; l++) y[i + l] = F2H(x[i + l]);
    }
    for (; i < n; i++) y[i] = F2H(x[i]);
}
static ATTR void KFN(f16_to_f32)(const uint16_t *x, float *y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i))));
    for (; i < n; i++) y[i] = H2F(x[i]);
}
static ATTR void KFN(round_f16)(float *x, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_loadu_ps(x + i);
        if (_mm256_movemask_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q)) == 0)
            _mm256_storeu_ps(x + i, _mm256_cvtph_ps(_mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT)));
        else
            for (int l = 0; l < 8; l++) x[i + l] = H2F(F2H(x[i + l]));
    }
    for (; i < n; i++) x[i] = H2F(F2H(x[i]));
}
#else
static ATTR void KFN(f32_to_f16)(const float *x, uint16_t *y, int64_t n) { for (int64_t i = 0; i < n; i++) y[i] = F2H(x[i]); }
static ATTR void KFN(f16_to_f32)(const uint16_t *x, float *y, int64_t n) { for (int64_t i = 0; i < n; i++) y[i] = H2F(x[i]); }
static ATTR void KFN(round_f16)(float *x, int64_t n) { for (int64_t i = 0; i < n; i++) x[i] = H2F(F2H(x[i])); }
#endif

#if CK_AVX2_VARIANT
// Explicit FMA intrinsics: the same operations in debug (-O0) and release builds.
static ATTR float KFN(dot_f32)(const float *a, const float *b, int64_t n) {
    __m256 acc = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc);
    float s[8];
    _mm256_storeu_ps(s, acc);
    float t = 0;
    for (; i < n; i++) t += a[i] * b[i];
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])) + t;
}

static ATTR void KFN(axpy_f32)(float *y, const float *x, float a, int64_t n) {
    const __m256 va = _mm256_set1_ps(a);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++) y[i] += a * x[i];
}
#else
static ATTR float KFN(dot_f32)(const float *a, const float *b, int64_t n) {
    float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; l++) s[l] += a[i + l] * b[i + l];
    float t = 0;
    for (; i < n; i++) t += a[i] * b[i];
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])) + t;
}

static ATTR void KFN(axpy_f32)(float *y, const float *x, float a, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] += a * x[i];
}
#endif

#if CK_AVX2_VARIANT
// |a|·(b·sign a) with maddubs: exact for |a| <= 128 and b in [-127, 127] (activations never reach -128).
static ATTR inline int KFN(hsum8)(__m256i s32) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(s32), _mm256_extracti128_si256(s32, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}
static ATTR inline int KFN(idot32)(const int8_t *a, const int8_t *b) {
    const __m256i x = _mm256_loadu_si256((const __m256i *)a), y = _mm256_loadu_si256((const __m256i *)b);
    const __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
    return KFN(hsum8)(_mm256_madd_epi16(p, _mm256_set1_epi16(1)));
}
static ATTR inline int KFN(idot16)(const int8_t *a, const int8_t *b) {
    const __m128i x = _mm_loadu_si128((const __m128i *)a), y = _mm_loadu_si128((const __m128i *)b);
    const __m128i p = _mm_madd_epi16(_mm_maddubs_epi16(_mm_sign_epi8(x, x), _mm_sign_epi8(y, x)), _mm_set1_epi16(1));
    __m128i s = _mm_add_epi32(p, _mm_shuffle_epi32(p, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}
#else
static ATTR int KFN(idot32)(const int8_t *a, const int8_t *b) {
    int s = 0;
    for (int j = 0; j < 32; j++) s += (int)a[j] * (int)b[j];
    return s;
}
static ATTR int KFN(idot16)(const int8_t *a, const int8_t *b) {
    int s = 0;
    for (int j = 0; j < 16; j++) s += (int)a[j] * (int)b[j];
    return s;
}
#endif

#if CK_AVX2_VARIANT
static ATTR inline float KFN(hsum_f8)(__m256 acc) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// Σ_blocks d_w·d_a·Σ q_w·q_a with the block sums converted to float and FMA-accumulated in 8 lanes, as ggml's AVX2
// ggml_vec_dot_q8_0_q8_0 does. `wstride` is 34 for stored Q8_0 blocks, 32 for unpacked int8 rows (scales in dw).
// Activation blocks are `astride` bytes with the half d first and qs in the last 32 bytes (Q8_0: 34, Q8_1: 36).
// With mins `mw` (Q4_1/Q5_1 against Q8_1) the result adds Σ m_w·s_a, FMA-accumulated in one float and added after
// the lane sum, as ggml_vec_dot_q4_1_q8_1 / ggml_vec_dot_q5_1_q8_1 on AVX2 (GCC contracts their `summs += m*s`).
static ATTR float KFN(dot_blocks)(const int8_t *wq, size_t wstride, const uint8_t *wd, const float *dw, const float *mw,
                                   const uint8_t *a, size_t astride, int nb) {
    __m256 acc = _mm256_setzero_ps();
    const __m256i ones = _mm256_set1_epi16(1);
    float summs = 0;
    for (int i = 0; i < nb; i++) {
        const uint8_t *ab = a + astride * i;
        const float dwi = wd ? KFN(h2f)(wd + 34 * i) : dw[i];
        const __m256 d = _mm256_set1_ps(dwi * KFN(h2f)(ab));
        const __m256i x = _mm256_loadu_si256((const __m256i *)(wq + wstride * i));
        const __m256i y = _mm256_loadu_si256((const __m256i *)(ab + astride - 32));
        const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x)), ones);
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(p), acc);
        if (mw) summs = fmaf(mw[i], KFN(h2f)(ab + 2), summs);
    }
    return KFN(hsum_f8)(acc) + summs;
}
#else
// As ggml's generic vec_dot_q8_0_q8_0 / vec_dot_q4_1_q8_1: one float sum of (d_w·d_a)·Σq·q (+ m_w·s_a) per block.
static ATTR float KFN(dot_blocks)(const int8_t *wq, size_t wstride, const uint8_t *wd, const float *dw, const float *mw,
                                   const uint8_t *a, size_t astride, int nb) {
    float sum = 0;
    for (int i = 0; i < nb; i++) {
        const uint8_t *ab = a + astride * i;
        const float dwi = wd ? KFN(h2f)(wd + 34 * i) : dw[i];
        const int s = KFN(idot32)(wq + wstride * i, (const int8_t *)(ab + astride - 32));
        if (mw) sum += (dwi * KFN(h2f)(ab)) * (float)s + mw[i] * KFN(h2f)(ab + 2);
        else sum += (float)s * (dwi * KFN(h2f)(ab));
    }
    return sum;
}
#endif



// Integer super-block dots for K-quants (exact, so both variants give the same value).
#if CK_AVX2_VARIANT
// Q4_K/Q5_K: 8 sub-blocks of 32 unsigned values (0..31) times 6-bit scales.
static ATTR int KFN(kdot_q4k)(const int8_t *q, const int8_t *a, const int *sc) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i acc = _mm256_setzero_si256();
    for (int j = 0; j < 8; j++) {
        const __m256i x = _mm256_loadu_si256((const __m256i *)(q + 32 * j)), y = _mm256_loadu_si256((const __m256i *)(a + 32 * j));
        const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(x, y), ones);
        acc = _mm256_add_epi32(acc, _mm256_mullo_epi32(p, _mm256_set1_epi32(sc[j])));
    }
    return KFN(hsum8)(acc);
}
// Q6_K, Q3_K, Q2_K: 16 sub-blocks of 16 values (Q6_K -32..31, Q3_K -4..3, Q2_K 0..3) times int scales, kept in
// 8 int32 lanes: lane k holds the elements whose index mod 32 lies in [4k, 4k+4), the lanes of ggml's AVX2
// ggml_vec_dot_q2_K_q8_K / q3_K_q8_K (maddubs, then madd with the scales, summed over the 32-byte chunks).
static ATTR __m256i KFN(kdot16_lanes)(const int8_t *q, const int8_t *a, const int *sc) {
    __m256i acc = _mm256_setzero_si256();
    for (int j = 0; j < 8; j++) {
        const __m256i x = _mm256_loadu_si256((const __m256i *)(q + 32 * j)), y = _mm256_loadu_si256((const __m256i *)(a + 32 * j));
        const __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
        const __m256i s = _mm256_set_m128i(_mm_set1_epi16((short)sc[2 * j + 1]), _mm_set1_epi16((short)sc[2 * j]));
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, s));
    }
    return acc;
}
static ATTR int KFN(kdot16)(const int8_t *q, const int8_t *a, const int *sc) { return KFN(hsum8)(KFN(kdot16_lanes)(q, a, sc)); }

// Q2_K / Q3_K against Q8_K, one row: per super-block the integer lanes are converted to float and FMA-accumulated
// with d_a·d_w in 8 float lanes, after (Q2_K) the mins' lanes Σ m·bsums with -d_a·dmin_w; one horizontal sum at the
// end. The operations and their order of ggml's AVX2 ggml_vec_dot_q2_K_q8_K and ggml_vec_dot_q3_K_q8_K.
static ATTR float KFN(dot_k16)(const int8_t *q, const float *d, const float *dmin, const int *sc, const int *mn,
                                const uint8_t *a, int ns) {
    __m256 acc = _mm256_setzero_ps();
    for (int s = 0; s < ns; s++) {
        const uint8_t *ablk = a + 292 * s;
        float ad; memcpy(&ad, ablk, 4);
        if (mn) {
            int16_t bs[16]; memcpy(bs, ablk + 260, 32);
            int32_t prod[8];
            for (int k = 0; k < 8; k++) prod[k] = mn[16 * s + 2 * k] * bs[2 * k] + mn[16 * s + 2 * k + 1] * bs[2 * k + 1];
            const float dm = -ad * dmin[s];
            acc = _mm256_fmadd_ps(_mm256_set1_ps(dm), _mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i *)prod)), acc);
        }
        const __m256i sumi = KFN(kdot16_lanes)(q + 256 * s, (const int8_t *)(ablk + 4), sc + 16 * s);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(ad * d[s]), _mm256_cvtepi32_ps(sumi), acc);
    }
    return KFN(hsum_f8)(acc);
}
#else
static ATTR int KFN(kdot_q4k)(const int8_t *q, const int8_t *a, const int *sc) {
    int sumi = 0;
    for (int j = 0; j < 8; j++) sumi += sc[j] * KFN(idot32)(q + 32 * j, a + 32 * j);
    return sumi;
}
static ATTR int KFN(kdot16)(const int8_t *q, const int8_t *a, const int *sc) {
    int sumi = 0;
    for (int j = 0; j < 16; j++) sumi += sc[j] * KFN(idot16)(q + 16 * j, a + 16 * j);
    return sumi;
}
// As ggml's generic ggml_vec_dot_q2_K_q8_K: one float sum of d_a·d_w·Σ sc·q·a − d_a·dmin_w·Σ m·bsums per super-block.
static ATTR float KFN(dot_k16)(const int8_t *q, const float *d, const float *dmin, const int *sc, const int *mn,
                                const uint8_t *a, int ns) {
    float sum = 0;
    for (int s = 0; s < ns; s++) {
        const uint8_t *ablk = a + 292 * s;
        float ad; memcpy(&ad, ablk, 4);
        const int sumi = KFN(kdot16)(q + 256 * s, (const int8_t *)(ablk + 4), sc + 16 * s);
        if (mn) {
            int16_t bs[16]; memcpy(bs, ablk + 260, 32);
            int summs = 0;
            for (int j = 0; j < 16; j++) summs += mn[16 * s + j] * bs[j];
            sum += (ad * d[s]) * (float)sumi - (ad * dmin[s]) * (float)summs;
        } else {
            sum += (ad * d[s]) * (float)sumi;
        }
    }
    return sum;
}
#endif

// Q2_K / Q3_K against Q8_K for a batch of 8 or more activation rows: llama.cpp then takes ggml-cpu's tiled K-quant
// matmul (tiled/tiled-kernel.cpp, ggml_compute_forward_mul_mat_tiled, used when src1 has >= 8 rows) instead of
// vec_dot. Per super-block, in order: res = d_w·(float)Σ sc·q·a, minus dmin_w·(float)Σ m·bsums fused (Q2_K),
// then acc = fma(res, d_a, acc) — the epilogue of its AVX2 microtile (tiled_run_microtile_avx2, FMA3 build).
static ATTR float KFN(dot_k16_tiled)(const int8_t *q, const float *d, const float *dmin, const int *sc, const int *mn,
                                      const uint8_t *a, int ns) {
    float acc = 0;
    for (int s = 0; s < ns; s++) {
        const uint8_t *ablk = a + 292 * s;
        float ad; memcpy(&ad, ablk, 4);
        float res = d[s] * (float)KFN(kdot16)(q + 256 * s, (const int8_t *)(ablk + 4), sc + 16 * s);
        if (mn) {
            int16_t bs[16]; memcpy(bs, ablk + 260, 32);
            int summs = 0;
            for (int j = 0; j < 16; j++) summs += mn[16 * s + j] * bs[j];
            res = fmaf(-dmin[s], (float)summs, res);
        }
        acc = fmaf(res, ad, acc);
    }
    return acc;
}

#if CK_AVX2_VARIANT
#include "tiles_impl.h"
#include "q4_0x8_impl.h"
#endif

#if !CK_AVX2_VARIANT
// Q8_0 · Q8_0 directly on the stored blocks.
static ATTR void KFN(mm_q8_0)(const uint8_t *w, size_t rb, int r0, int r1, int ncols, const uint8_t *act, size_t ab,
                               int batch, float *out, int ldo) {
    const int nb = ncols / 32;
    for (int r = r0; r < r1; r++) {
        const uint8_t *wr = w + (size_t)r * rb;
        for (int b = 0; b < batch; b++)
            out[(size_t)b * ldo + r] = KFN(dot_blocks)((const int8_t *)(wr + 2), 34, wr, NULL, NULL, act + (size_t)b * ab, 34, nb);
    }
}
#endif

// One row of a Q4_0/Q4_1/Q5_0/Q5_1 tensor unpacked to int8 values `q` and float scales `dw` (and, given `mw`, mins).
static ATTR void KFN(unpack_legacy_row)(int type, const uint8_t *wr, int nb, int8_t *q, float *dw, float *mw) {
    for (int i = 0; i < nb; i++) {
        int8_t *qb = q + 32 * i;
        if (type == 2 || type == 3) {
            // block_q4_0: half d, u8 qs[16] (values q - 8); block_q4_1: half d, half m, u8 qs[16] (values q)
            const uint8_t *blk = wr + (type == 2 ? 18 : 20) * (size_t)i, *qs = blk + (type == 2 ? 2 : 4);
            const int off = type == 2 ? 8 : 0;
            dw[i] = KFN(h2f)(blk);
            if (mw) mw[i] = KFN(h2f)(blk + 2);
            for (int j = 0; j < 16; j++) { qb[j] = (int8_t)((qs[j] & 0x0F) - off); qb[j + 16] = (int8_t)((qs[j] >> 4) - off); }
        } else {
            // block_q5_0: half d, u32 qh, u8 qs[16] (values q - 16); block_q5_1: half d, half m, u32 qh, u8 qs[16]
            const uint8_t *blk = wr + (type == 6 ? 22 : 24) * (size_t)i, *qh8 = blk + (type == 6 ? 2 : 4), *qs = qh8 + 4;
            const int off = type == 6 ? 16 : 0;
            uint32_t qh; memcpy(&qh, qh8, 4);
            dw[i] = KFN(h2f)(blk);
            if (mw) mw[i] = KFN(h2f)(blk + 2);
            for (int j = 0; j < 16; j++) {
                const int h0 = ((qh >> j) << 4) & 0x10, h1 = (qh >> (j + 12)) & 0x10;
                qb[j] = (int8_t)(((qs[j] & 0x0F) | h0) - off);
                qb[j + 16] = (int8_t)(((qs[j] >> 4) | h1) - off);
            }
        }
    }
}

// Q4_0 / Q5_0 (against Q8_0) and Q4_1 / Q5_1 (against Q8_1): unpack a row once to int8 values and float scales
// (and mins), then reuse it for every activation row (on AVX2 only Q4_1 / Q5_1 come here; see mm_q8_family).
static ATTR void KFN(mm_legacy)(int type, const uint8_t *w, size_t rb, int r0, int r1, int ncols,
                                 const uint8_t *act, size_t ab, int batch, float *out, int ldo) {
    const int nb = ncols / 32;
    const int has_min = type == 3 || type == 7;
    int8_t *q = malloc((size_t)ncols);
    float *dw = malloc(sizeof(float) * 2 * (size_t)nb);
    float *mw = dw + nb;
    for (int r = r0; r < r1; r++) {
        KFN(unpack_legacy_row)(type, w + (size_t)r * rb, nb, q, dw, has_min ? mw : NULL);
        for (int b = 0; b < batch; b++)
            out[(size_t)b * ldo + r] = KFN(dot_blocks)(q, 32, NULL, dw, has_min ? mw : NULL, act + (size_t)b * ab, has_min ? 36 : 34, nb);
    }
    free(q); free(dw);
}

static ATTR inline void KFN(scale_min_k4)(int j, const uint8_t *q, int *sc, int *m) {
    if (j < 4) { *sc = q[j] & 63; *m = q[j + 4] & 63; }
    else { *sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4); *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4); }
}

#if CK_AVX2_VARIANT
// mm_k's unpacking of one Q4_K super-block (`qh` NULL) or Q5_K super-block (fifth bits in `qh`) into the same 256
// values, 32 at a time in vector registers: chunk c's 32 bytes give elements 64c + l (low nibbles) and 64c + 32 + l
// (high nibbles); Q5_K adds 16 where bit 2c (low) or 2c + 1 (high) of qh[l] is set.
static ATTR void KFN(unpack_q4k_v)(const uint8_t *qs, const uint8_t *qh, int8_t *qb) {
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    const __m256i h = qh ? _mm256_loadu_si256((const __m256i *)qh) : _mm256_setzero_si256();
    for (int c = 0; c < 4; c++) {
        const __m256i v = _mm256_loadu_si256((const __m256i *)(qs + 32 * c));
        __m256i lo = _mm256_and_si256(v, low4), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
        if (qh) {
            const __m256i b1 = _mm256_set1_epi8((char)(1u << (2 * c))), b2 = _mm256_set1_epi8((char)(2u << (2 * c)));
            lo = _mm256_or_si256(lo, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(h, b1), b1), _mm256_set1_epi8(16)));
            hi = _mm256_or_si256(hi, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(h, b2), b2), _mm256_set1_epi8(16)));
        }
        _mm256_storeu_si256((__m256i *)(qb + 64 * c), lo);
        _mm256_storeu_si256((__m256i *)(qb + 64 * c + 32), hi);
    }
}

// mm_k's unpacking of one Q6_K super-block (ql[128], qh[64]) into the same 256 values (−32..31), 32 at a time: half n
// takes ql[64n ..< 64n + 64] and qh[32n ..< 32n + 32]; element 128n + 32k + l combines a nibble of ql with bits
// 2k, 2k + 1 of qh[32n + l].
static ATTR void KFN(unpack_q6k_v)(const uint8_t *ql, const uint8_t *qh, int8_t *qb) {
    const __m256i low4 = _mm256_set1_epi8(0x0F), two = _mm256_set1_epi8(0x30), off = _mm256_set1_epi8(32);
    for (int n = 0; n < 2; n++) {
        const __m256i a0 = _mm256_loadu_si256((const __m256i *)(ql + 64 * n));
        const __m256i a1 = _mm256_loadu_si256((const __m256i *)(ql + 64 * n + 32));
        const __m256i h = _mm256_loadu_si256((const __m256i *)(qh + 32 * n));
        const __m256i v0 = _mm256_or_si256(_mm256_and_si256(a0, low4), _mm256_and_si256(_mm256_slli_epi16(h, 4), two));
        const __m256i v1 = _mm256_or_si256(_mm256_and_si256(a1, low4), _mm256_and_si256(_mm256_slli_epi16(h, 2), two));
        const __m256i v2 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(a0, 4), low4), _mm256_and_si256(h, two));
        const __m256i v3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(a1, 4), low4), _mm256_and_si256(_mm256_srli_epi16(h, 2), two));
        _mm256_storeu_si256((__m256i *)(qb + 128 * n), _mm256_sub_epi8(v0, off));
        _mm256_storeu_si256((__m256i *)(qb + 128 * n + 32), _mm256_sub_epi8(v1, off));
        _mm256_storeu_si256((__m256i *)(qb + 128 * n + 64), _mm256_sub_epi8(v2, off));
        _mm256_storeu_si256((__m256i *)(qb + 128 * n + 96), _mm256_sub_epi8(v3, off));
    }
}
#endif

// What super-block s adds to a Q4_K/Q5_K/Q6_K output given its exact integer Σ sc·q·a `sumi`: d_w·d_a·sumi, less
// (Q4_K/Q5_K) dmin_w·d_a·Σ m·bsums over the activation block `ablk` (the one place mm_k's float epilogue is written).
static ATTR inline float KFN(k_superblock_term)(int type, int s, int sumi, const float *d, const float *dmin, const int *mn,
                                                 const uint8_t *ablk) {
    float ad; memcpy(&ad, ablk, 4);
    if (type == 14) return (d[s] * ad) * (float)sumi;
    int16_t bs[16]; memcpy(bs, ablk + 260, 32);
    int summ = 0;
    for (int j = 0; j < 8; j++) summ += mn[16 * s + j] * (bs[2 * j] + bs[2 * j + 1]);
    return (d[s] * ad) * (float)sumi - (dmin[s] * ad) * (float)summ;
}

#if CK_AVX2_VARIANT
// One unpacked Q4_K/Q5_K/Q6_K row against four Q8_K activation rows: the same per-super-block integers as kdot_q4k /
// kdot16 (exact, so computed here with the scales as int16 madd factors and each weight chunk and scale vector loaded
// once for the four rows), then each output's float sum exactly as mm_k's one-row loop forms it, super-block by
// super-block. `out[n·ldo]` receives activation row n's result.
static ATTR void KFN(mm_k_row_x4)(int type, const int8_t *q, const float *d, const float *dmin, const int *sc, const int *mn,
                                   const uint8_t *act, size_t ab, int ns, float *out, int ldo) {
    float sum[4] = {0, 0, 0, 0};
    for (int s = 0; s < ns; s++) {
        __m256i acc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
        const int8_t *qb = q + 256 * s;
        const int *scs = sc + 16 * s;
        for (int j = 0; j < 8; j++) {
            const __m256i x = _mm256_loadu_si256((const __m256i *)(qb + 32 * j));
            const __m256i ax = type == 14 ? _mm256_sign_epi8(x, x) : x;
            const __m256i scv = type == 14 ? _mm256_set_m128i(_mm_set1_epi16((short)scs[2 * j + 1]), _mm_set1_epi16((short)scs[2 * j]))
                                           : _mm256_set1_epi16((short)scs[j]);
            for (int n = 0; n < 4; n++) {
                const __m256i y = _mm256_loadu_si256((const __m256i *)(act + (size_t)n * ab + 292 * (size_t)s + 4 + 32 * j));
                acc[n] = _mm256_add_epi32(acc[n], _mm256_madd_epi16(_mm256_maddubs_epi16(ax, type == 14 ? _mm256_sign_epi8(y, x) : y), scv));
            }
        }
        for (int n = 0; n < 4; n++)
            sum[n] += KFN(k_superblock_term)(type, s, KFN(hsum8)(acc[n]), d, dmin, mn, act + (size_t)n * ab + 292 * (size_t)s);
    }
    for (int n = 0; n < 4; n++) out[(size_t)n * ldo] = sum[n];
}
#endif

// K-quants (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K) against Q8_K activations: unpack a row once, reuse across the batch.
static ATTR void KFN(mm_k)(int type, const uint8_t *w, size_t rb, int r0, int r1, int ncols, const uint8_t *act,
                            size_t ab, int batch, float *out, int ldo) {
    const int ns = ncols / 256;
    int8_t *q = malloc((size_t)ncols);
    float *d = malloc(sizeof(float) * 2 * (size_t)ns);
    float *dmin = d + ns;
    int *sc = malloc(sizeof(int) * 32 * (size_t)ns);
    int *mn = sc + 16 * ns;
    for (int r = r0; r < r1; r++) {
        const uint8_t *wr = w + (size_t)r * rb;
        for (int s = 0; s < ns; s++) {
            int8_t *qb = q + 256 * s;
            if (type == 12 || type == 13) {
                const size_t bb = type == 12 ? 144 : 176;
                const uint8_t *blk = wr + bb * s;
                d[s] = KFN(h2f)(blk); dmin[s] = KFN(h2f)(blk + 2);
                for (int j = 0; j < 8; j++) KFN(scale_min_k4)(j, blk + 4, &sc[16 * s + j], &mn[16 * s + j]);
                if (type == 12) {
                    const uint8_t *qs = blk + 16;
#if CK_AVX2_VARIANT
                    KFN(unpack_q4k_v)(qs, NULL, qb);
#else
                    for (int c = 0; c < 4; c++)
                        for (int l = 0; l < 32; l++) {
                            qb[64 * c + l] = (int8_t)(qs[32 * c + l] & 0xF);
                            qb[64 * c + 32 + l] = (int8_t)(qs[32 * c + l] >> 4);
                        }
#endif
                } else {
                    const uint8_t *qh = blk + 16, *qs = blk + 48;
#if CK_AVX2_VARIANT
                    KFN(unpack_q4k_v)(qs, qh, qb);
#else
                    for (int c = 0; c < 4; c++) {
                        const uint8_t u1 = (uint8_t)(1u << (2 * c)), u2 = (uint8_t)(2u << (2 * c));
                        for (int l = 0; l < 32; l++) {
                            qb[64 * c + l] = (int8_t)((qs[32 * c + l] & 0xF) + ((qh[l] & u1) ? 16 : 0));
                            qb[64 * c + 32 + l] = (int8_t)((qs[32 * c + l] >> 4) + ((qh[l] & u2) ? 16 : 0));
                        }
                    }
#endif
                }
            } else if (type == 10) {
                // block_q2_K: u8 scales[16] (scale | min << 4), u8 qs[64], half d, half dmin; element 128h + 32l + b
                // is bits 2l..2l+1 of qs[32h + b]
                const uint8_t *blk = wr + 84 * s, *qs = blk + 16;
                d[s] = KFN(h2f)(blk + 80); dmin[s] = KFN(h2f)(blk + 82);
                for (int j = 0; j < 16; j++) { sc[16 * s + j] = blk[j] & 0xF; mn[16 * s + j] = blk[j] >> 4; }
                for (int h = 0; h < 2; h++)
                    for (int l = 0; l < 4; l++)
                        for (int b = 0; b < 32; b++) qb[128 * h + 32 * l + b] = (int8_t)((qs[32 * h + b] >> (2 * l)) & 3);
            } else if (type == 11) {
                // block_q3_K: u8 hmask[32], u8 qs[64], u8 scales[12] (16 6-bit values, offset 32), half d; element
                // 128h + 32l + b is bits 2l..2l+1 of qs[32h + b], minus 4 unless bit 4h + l of hmask[b] is set
                const uint8_t *blk = wr + 110 * s, *hm = blk, *qs = blk + 32, *scb = blk + 96;
                d[s] = KFN(h2f)(blk + 108);
                for (int j = 0; j < 16; j++) {
                    const int low = j < 8 ? (scb[j] & 0xF) : (scb[j - 8] >> 4);
                    sc[16 * s + j] = (low | (((scb[8 + j % 4] >> (2 * (j / 4))) & 3) << 4)) - 32;
                }
                for (int h = 0; h < 2; h++)
                    for (int l = 0; l < 4; l++)
                        for (int b = 0; b < 32; b++)
                            qb[128 * h + 32 * l + b] = (int8_t)(((qs[32 * h + b] >> (2 * l)) & 3) - (((hm[b] >> (4 * h + l)) & 1) ? 0 : 4));
            } else {
                const uint8_t *blk = wr + 210 * s, *ql = blk, *qh = blk + 128;
                const int8_t *scales = (const int8_t *)(blk + 192);
                d[s] = KFN(h2f)(blk + 208);
                for (int j = 0; j < 16; j++) sc[16 * s + j] = scales[j];
#if CK_AVX2_VARIANT
                KFN(unpack_q6k_v)(ql, qh, qb);
#else
                for (int n = 0; n < 2; n++)
                    for (int l = 0; l < 32; l++) {
                        const uint8_t a0 = ql[64 * n + l], a1 = ql[64 * n + 32 + l], h = qh[32 * n + l];
                        qb[128 * n + l] = (int8_t)(((a0 & 0xF) | (((h >> 0) & 3) << 4)) - 32);
                        qb[128 * n + l + 32] = (int8_t)(((a1 & 0xF) | (((h >> 2) & 3) << 4)) - 32);
                        qb[128 * n + l + 64] = (int8_t)(((a0 >> 4) | (((h >> 4) & 3) << 4)) - 32);
                        qb[128 * n + l + 96] = (int8_t)(((a1 >> 4) | (((h >> 6) & 3) << 4)) - 32);
                    }
#endif
            }
        }
        int b = 0;
#if CK_AVX2_VARIANT
        if (type >= 12)
            for (; b + 4 <= batch; b += 4) KFN(mm_k_row_x4)(type, q, d, dmin, sc, mn, act + (size_t)b * ab, ab, ns, out + (size_t)b * ldo + r, ldo);
#endif
        for (; b < batch; b++) {
            const uint8_t *a = act + (size_t)b * ab;
            if (type == 10 || type == 11) {
                out[(size_t)b * ldo + r] = batch >= 8 ? KFN(dot_k16_tiled)(q, d, dmin, sc, type == 10 ? mn : NULL, a, ns)
                                                      : KFN(dot_k16)(q, d, dmin, sc, type == 10 ? mn : NULL, a, ns);
                continue;
            }
            float sum = 0;
            for (int s = 0; s < ns; s++) {
                const uint8_t *ablk = a + 292 * s;
                const int8_t *aq = (const int8_t *)(ablk + 4), *qb = q + 256 * s;
                const int sumi = type == 14 ? KFN(kdot16)(qb, aq, sc + 16 * s) : KFN(kdot_q4k)(qb, aq, sc + 16 * s);
                sum += KFN(k_superblock_term)(type, s, sumi, d, dmin, mn, ablk);
            }
            out[(size_t)b * ldo + r] = sum;
        }
    }
    free(q); free(d); free(sc);
}

static ATTR void KFN(sgemm_nt)(const float *x, int64_t m, const float *w, int64_t n, int64_t k, float *y, int64_t ldy);

#if CK_AVX2_VARIANT
#include "q4_kx8_impl.h"
#include "q6_kx8_impl.h"
#endif
#include "interleaved_impl.h"

// F32 / F16 / BF16 weights: every output is dot_f32 of the weight row and the activation row (the activation row
// widened exactly to float first), computed by sgemm_nt in register tiles (it gives each element dot_f32's bits), the
// half and bfloat16 weights widened a panel of rows at a time.
#ifndef CK_FLOAT_PANEL
#define CK_FLOAT_PANEL 32
#endif
// n values of an F32 (wtype 0), F16 (1) or BF16 (30) row as floats, widened exactly.
static ATTR void KFN(widen_row)(int wtype, const void *src, float *dst, int64_t n) {
    if (wtype == 1) KFN(f16_to_f32)((const uint16_t *)src, dst, n);
    else if (wtype == 30) ck_bf16_to_f32_soft((const uint16_t *)src, dst, n);
    else memcpy(dst, src, sizeof(float) * (size_t)n);
}
#if CK_AVX2_VARIANT
// Eight elements of a half (wtype 1) or bfloat16 (30) row widened exactly to float.
static ATTR inline __m256 KFN(widen8)(int wtype, const uint16_t *p) {
    const __m128i h = _mm_loadu_si128((const __m128i *)p);
    return wtype == 1 ? _mm256_cvtph_ps(h) : _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

// `m` F16/BF16 weight rows × `n` float activation rows (m·n = 8: eight independent fma chains, enough to cover the
// fma latency; constants at each call) for token-by-token decoding:
// dot_f32's operations for each output (eight lanes of fma over whole chunks of 8, its lane reduction, the scalar
// tail added last), with the weights widened in registers as they stream past instead of into a panel first (a
// decode step reads each weight once, so the panel only added a store and a load per element).
static ATTR inline __attribute__((always_inline)) void KFN(gemv_half)(int wtype, const uint8_t *w, size_t rb, int r, int rows,
                                                                       const float *af, int ncols, int n, float *out, int ldo) {
    const uint16_t *wr[8];
    for (int m = 0; m < rows; m++) wr[m] = (const uint16_t *)(w + (size_t)(r + m) * rb);
    __m256 acc[8][2];
    for (int m = 0; m < rows; m++) for (int k = 0; k < n; k++) acc[m][k] = _mm256_setzero_ps();
    const int k8 = ncols & ~7;
    // The next rows, fetched while these compute: `rows` parallel streams defeat the hardware prefetcher (as the
    // vocabulary-sized output product of a decode step shows), one contiguous stream does not.
    const char *next = (const char *)(w + (size_t)(r + rows) * rb);
    for (int i = 0; i < k8; i += 8) {
        __m256 x[2];
        for (int o = 0; o < rows * 16; o += 64) _mm_prefetch(next + (size_t)(i / 8) * rows * 16 + o, _MM_HINT_T0);
        for (int k = 0; k < n; k++) x[k] = _mm256_loadu_ps(af + (size_t)k * ncols + i);
        for (int m = 0; m < rows; m++) {
            const __m256 wv = KFN(widen8)(wtype, wr[m] + i);
            for (int k = 0; k < n; k++) acc[m][k] = _mm256_fmadd_ps(x[k], wv, acc[m][k]);
        }
    }
    for (int m = 0; m < rows; m++)
        for (int k = 0; k < n; k++) {
            float s8[8], t = 0;
            _mm256_storeu_ps(s8, acc[m][k]);
            for (int i = k8; i < ncols; i++) {
                float wi;
                KFN(widen_row)(wtype, wr[m] + i, &wi, 1);
                t += af[(size_t)k * ncols + i] * wi;
            }
            out[(size_t)k * ldo + r + m] = ((s8[0] + s8[1]) + (s8[2] + s8[3])) + ((s8[4] + s8[5]) + (s8[6] + s8[7])) + t;
        }
}
#endif

static ATTR void KFN(mm_float)(int wtype, const uint8_t *w, size_t rb, int r0, int r1, int ncols, const uint8_t *act,
                                size_t ab, int batch, float *out, int ldo) {
    if (wtype == 0 && ab == (size_t)ncols * 4 && rb == (size_t)ncols * 4) {
        KFN(sgemm_nt)((const float *)act, batch, (const float *)(w + (size_t)r0 * rb), r1 - r0, ncols, out + r0, ldo);
        return;
    }
    float *wf = malloc(sizeof(float) * (size_t)ncols * CK_FLOAT_PANEL);
    float *af = malloc(sizeof(float) * (size_t)ncols * (size_t)batch);
    for (int b = 0; b < batch; b++) KFN(widen_row)(wtype, act + (size_t)b * ab, af + (size_t)b * ncols, ncols);
    int r = r0;
#if CK_AVX2_VARIANT
    if (batch <= 2 && wtype != 0)
        for (const int step = batch == 1 ? 8 : 4; r + step <= r1; r += step) {
            if (batch == 1) KFN(gemv_half)(wtype, w, rb, r, 8, af, ncols, 1, out, ldo);
            else KFN(gemv_half)(wtype, w, rb, r, 4, af, ncols, 2, out, ldo);
        }
#endif
    for (; r < r1; r += CK_FLOAT_PANEL) {
        const int rows = r1 - r < CK_FLOAT_PANEL ? r1 - r : CK_FLOAT_PANEL;
        for (int k = 0; k < rows; k++) KFN(widen_row)(wtype, w + (size_t)(r + k) * rb, wf + (size_t)k * ncols, ncols);
        KFN(sgemm_nt)(af, batch, wf, rows, ncols, out + r, ldo);
    }
    free(wf); free(af);
}

static ATTR void KFN(matmul)(int wtype, const void *w, size_t rb, int nrows, int r0, int r1, int ncols, const void *act,
                              size_t ab, int batch, float *out, int ldo) {
    switch (wtype) {
    case 0: case 1: case 30: KFN(mm_float)(wtype, w, rb, r0, r1, ncols, act, ab, batch, out, ldo); break;
#if CK_AVX2_VARIANT
    case 2: case 6: case 8: KFN(mm_q8_family)(wtype, w, rb, nrows, r0, r1, ncols, act, ab, batch, out, ldo); break;
#else
    case 8: KFN(mm_q8_0)(w, rb, r0, r1, ncols, act, ab, batch, out, ldo); break;
    case 2: case 6: KFN(mm_legacy)(wtype, w, rb, r0, r1, ncols, act, ab, batch, out, ldo); break;
#endif
    case 3: case 7: KFN(mm_legacy)(wtype, w, rb, r0, r1, ncols, act, ab, batch, out, ldo); break;
    case CK_Q4_0_X8: case CK_Q4_K_X8: case CK_Q6_K_X8: KFN(mm_x8)(wtype, w, r0, r1, ncols, act, ab, batch, out, ldo); break;
    case 10: case 11: case 12: case 13: case 14: KFN(mm_k)(wtype, w, rb, r0, r1, ncols, act, ab, batch, out, ldo); break;
    default: break;
    }
}

// ---- float32 products y = x · wᵀ for the float path (both operands row-major with k contiguous) ----
// Every output element is computed with exactly the operations of dot_f32 (8-lane partial sums over whole chunks of
// 8, the same lane reduction, the scalar tail added last), whether it falls in a 4×2 register tile or in an edge
// loop, so results do not depend on how rows and columns are split into tiles or blocks.
#if CK_AVX2_VARIANT
static ATTR inline float KFN(finish_dot)(__m256 acc, const float *a, const float *b, int64_t k8, int64_t k) {
    float s[8];
    _mm256_storeu_ps(s, acc);
    float t = 0;
    for (int64_t i = k8; i < k; i++) t += a[i] * b[i];
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])) + t;
}

static ATTR void KFN(sgemm_nt)(const float *x, int64_t m, const float *w, int64_t n, int64_t k, float *y, int64_t ldy) {
    const int64_t k8 = k & ~(int64_t)7;
    int64_t i = 0;
    for (; i + 4 <= m; i += 4) {
        const float *x0 = x + i * k, *x1 = x0 + k, *x2 = x1 + k, *x3 = x2 + k;
        int64_t j = 0;
        for (; j + 2 <= n; j += 2) {
            const float *w0 = w + j * k, *w1 = w0 + k;
            __m256 a00 = _mm256_setzero_ps(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
            for (int64_t c = 0; c < k8; c += 8) {
                const __m256 b0 = _mm256_loadu_ps(w0 + c), b1 = _mm256_loadu_ps(w1 + c);
                __m256 v = _mm256_loadu_ps(x0 + c);
                a00 = _mm256_fmadd_ps(v, b0, a00); a01 = _mm256_fmadd_ps(v, b1, a01);
                v = _mm256_loadu_ps(x1 + c);
                a10 = _mm256_fmadd_ps(v, b0, a10); a11 = _mm256_fmadd_ps(v, b1, a11);
                v = _mm256_loadu_ps(x2 + c);
                a20 = _mm256_fmadd_ps(v, b0, a20); a21 = _mm256_fmadd_ps(v, b1, a21);
                v = _mm256_loadu_ps(x3 + c);
                a30 = _mm256_fmadd_ps(v, b0, a30); a31 = _mm256_fmadd_ps(v, b1, a31);
            }
            float *y0 = y + i * ldy + j;
            y0[0] = KFN(finish_dot)(a00, x0, w0, k8, k); y0[1] = KFN(finish_dot)(a01, x0, w1, k8, k);
            y0 += ldy;
            y0[0] = KFN(finish_dot)(a10, x1, w0, k8, k); y0[1] = KFN(finish_dot)(a11, x1, w1, k8, k);
            y0 += ldy;
            y0[0] = KFN(finish_dot)(a20, x2, w0, k8, k); y0[1] = KFN(finish_dot)(a21, x2, w1, k8, k);
            y0 += ldy;
            y0[0] = KFN(finish_dot)(a30, x3, w0, k8, k); y0[1] = KFN(finish_dot)(a31, x3, w1, k8, k);
        }
        for (; j < n; j++)
            for (int r = 0; r < 4; r++) y[(i + r) * ldy + j] = KFN(dot_f32)(x + (i + r) * k, w + j * k, k);
    }
    for (; i < m; i++)
        for (int64_t j = 0; j < n; j++) y[i * ldy + j] = KFN(dot_f32)(x + i * k, w + j * k, k);
}
#else
static ATTR void KFN(sgemm_nt)(const float *x, int64_t m, const float *w, int64_t n, int64_t k, float *y, int64_t ldy) {
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) y[i * ldy + j] = KFN(dot_f32)(x + i * k, w + j * k, k);
}
#endif

// ---- exp for softmax rows ----
// exp(x) = 2^n · e^r with n = nearest(x·log2 e) and r = x − n·ln 2 (ln 2 split in two parts so r keeps full
// precision), e^r by its Taylor series to degree 7 on |r| ≤ ln2/2 (truncation below 6e-9 relative), Horner with
// fused multiply-adds, 2^n built in the exponent bits. Both variants do the same operations in the same order
// (fmaf ≡ _mm256_fmadd_ps, rintf ≡ round-to-nearest-even), so their results are bit-identical.
#define CK_EXP_LO (-87.33654f)   // below: 0 (e^x is subnormal or less; -inf lands here too)
#define CK_EXP_HI (88.0f)        // above: e^88 (n stays ≤ 127)
#define CK_LOG2E 1.44269504088896341f
#define CK_LN2_HI 0.693145751953125f
#define CK_LN2_LO 1.42860682030941723212e-6f

static ATTR inline float KFN(exp1)(float x) {
    if (!(x >= CK_EXP_LO)) return 0;
    if (x > CK_EXP_HI) x = CK_EXP_HI;
    const float n = rintf(x * CK_LOG2E);
    float r = fmaf(-n, CK_LN2_HI, x);
    r = fmaf(-n, CK_LN2_LO, r);
    float p = 1.0f / 5040;
    p = fmaf(p, r, 1.0f / 720);
    p = fmaf(p, r, 1.0f / 120);
    p = fmaf(p, r, 1.0f / 24);
    p = fmaf(p, r, 1.0f / 6);
    p = fmaf(p, r, 0.5f);
    p = fmaf(p, r, 1.0f);
    p = fmaf(p, r, 1.0f);
    const uint32_t bits = (uint32_t)((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, 4);
    return p * scale;
}

#if CK_AVX2_VARIANT
static ATTR inline __m256 KFN(exp8)(__m256 x) {
    const __m256 keep = _mm256_cmp_ps(x, _mm256_set1_ps(CK_EXP_LO), _CMP_GE_OQ);
    x = _mm256_min_ps(x, _mm256_set1_ps(CK_EXP_HI));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(CK_LOG2E)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fmadd_ps(_mm256_sub_ps(_mm256_setzero_ps(), n), _mm256_set1_ps(CK_LN2_HI), x);
    r = _mm256_fmadd_ps(_mm256_sub_ps(_mm256_setzero_ps(), n), _mm256_set1_ps(CK_LN2_LO), r);
    __m256 p = _mm256_set1_ps(1.0f / 5040);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_and_ps(_mm256_mul_ps(p, _mm256_castsi256_ps(e)), keep);
}

static ATTR float KFN(max_f32)(const float *x, int64_t n) {
    __m256 m = _mm256_set1_ps(-INFINITY);
    int64_t i = 0;
    // max_ps(x, m) keeps m when x is NaN: NaNs are skipped, as the scalar loops below skip them.
    for (; i + 8 <= n; i += 8) m = _mm256_max_ps(_mm256_loadu_ps(x + i), m);
    float s[8];
    _mm256_storeu_ps(s, m);
    float t = -INFINITY;
    for (int l = 0; l < 8; l++) t = s[l] > t ? s[l] : t;
    for (; i < n; i++) t = x[i] > t ? x[i] : t;
    return t;
}

static ATTR float KFN(exp_sub_f32)(float *x, int64_t n, float m) {
    const __m256 vm = _mm256_set1_ps(m);
    __m256 acc = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 e = KFN(exp8)(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm));
        _mm256_storeu_ps(x + i, e);
        acc = _mm256_add_ps(acc, e);
    }
    float s[8];
    _mm256_storeu_ps(s, acc);
    float t = 0;
    for (; i < n; i++) { x[i] = KFN(exp1)(x[i] - m); t += x[i]; }
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])) + t;
}

static ATTR void KFN(exp_f32)(const float *x, float *y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, KFN(exp8)(_mm256_loadu_ps(x + i)));
    for (; i < n; i++) y[i] = KFN(exp1)(x[i]);
}
#else
static ATTR float KFN(max_f32)(const float *x, int64_t n) {
    float t = -INFINITY;
    for (int64_t i = 0; i < n; i++) t = x[i] > t ? x[i] : t;
    return t;
}

static ATTR float KFN(exp_sub_f32)(float *x, int64_t n, float m) {
    float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; l++) { x[i + l] = KFN(exp1)(x[i + l] - m); s[l] += x[i + l]; }
    float t = 0;
    for (; i < n; i++) { x[i] = KFN(exp1)(x[i] - m); t += x[i]; }
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])) + t;
}

static ATTR void KFN(exp_f32)(const float *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = KFN(exp1)(x[i]);
}
#endif
