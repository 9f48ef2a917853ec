// Attention over an f16 KV cache (GemmaEngine stores K and V as halves when it emulates llama.cpp's F16 cache): the
// dot product and axpy of kernels.c with an f16 row, in both variants, dispatched as kernels.c dispatches.
#include "ckernels.h"
#include <string.h>

// No implicit FMA contraction: the same bits as the f32 kernels in debug and release builds.
#pragma clang fp contract(off)

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define KV_X86 1
#endif

// IEEE binary16 → float, exact (NaNs quieted as F16C's vcvtph2ps quiets them).
static inline float kv_h2f_soft(uint16_t h) {
    const uint32_t sign = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 0x1F, m = h & 0x3FF;
    uint32_t bits;
    if (e == 0) {
        const float v = (float)m * 5.9604644775390625e-08f;  // m · 2^-24, exact
        memcpy(&bits, &v, 4);
        bits |= sign;
    } else {
        bits = sign | (e == 0x1F ? 0x7F800000u | (m ? 0x00400000u : 0) : (e + 112) << 23) | (m << 13);
    }
    float f; memcpy(&f, &bits, 4);
    return f;
}

#define CK_AVX2_VARIANT 0
#define ATTR
#define KFN(x) kv_##x##_generic
#define H2F(h) kv_h2f_soft(h)
#include "kvcache_impl.h"
#undef ATTR
#undef KFN
#undef H2F
#undef CK_AVX2_VARIANT

#ifdef KV_X86
#define CK_AVX2_VARIANT 1
#define ATTR __attribute__((target("avx2,fma,f16c")))
#define KFN(x) kv_##x##_avx2
#define H2F(h) _cvtsh_ss(h)
#include "kvcache_impl.h"
#define KV_DISPATCH(name, ...) (ck_uses_avx2() ? kv_##name##_avx2(__VA_ARGS__) : kv_##name##_generic(__VA_ARGS__))
#else
#define KV_DISPATCH(name, ...) kv_##name##_generic(__VA_ARGS__)
#endif

float ck_dot_f32_f16(const float *q, const uint16_t *k, int64_t n) { return KV_DISPATCH(dot_f32_f16, q, k, n); }
void ck_axpy_f32_f16(float *y, const uint16_t *x, float a, int64_t n) { KV_DISPATCH(axpy_f32_f16, y, x, a, n); }
float ck_dot_f32_f16_portable(const float *q, const uint16_t *k, int64_t n) { return kv_dot_f32_f16_generic(q, k, n); }
void ck_axpy_f32_f16_portable(float *y, const uint16_t *x, float a, int64_t n) { kv_axpy_f32_f16_generic(y, x, a, n); }
void ck_scores_group_f16(const float *q, int64_t qstride, int g, const uint16_t *k, int64_t kstride, int64_t lo, int64_t hi,
                         int64_t n, float *scores, int64_t sstride) {
    KV_DISPATCH(scores_group_f16, q, qstride, g, k, kstride, lo, hi, n, scores, sstride);
}
void ck_pv_group_f16(const float *p, int64_t pstride, int g, const uint16_t *v, int64_t vstride, int64_t lo, int64_t hi,
                     int64_t n, float *out, int64_t ostride) {
    KV_DISPATCH(pv_group_f16, p, pstride, g, v, vstride, lo, hi, n, out, ostride);
}
