#include "ckernels.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

// No implicit FMA contraction anywhere: debug and release builds must compute the same bits.
#pragma clang fp contract(off)

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CK_X86 1
#endif

// ---- portable half conversions (IEEE binary16, round to nearest even; NaN -> 0x7E00 with sign) ----
static inline float ck_h2f_soft(uint16_t h) {
    const uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    const uint32_t e = (h >> 10) & 0x1F, m = h & 0x3FF;
    uint32_t bits;
    if (e == 0) {
        float v = (float)m * 5.9604644775390625e-08f;  // m * 2^-24, exact
        memcpy(&bits, &v, 4);
        bits |= sign;
    } else if (e == 0x1F) {
        bits = sign | 0x7F800000u | (m << 13) | (m ? 0x00400000u : 0);
    } else {
        bits = sign | ((e + 112) << 23) | (m << 13);
    }
    float f; memcpy(&f, &bits, 4);
    return f;
}

static inline uint16_t ck_f2h_soft(float f) {
    uint32_t u; memcpy(&u, &f, 4);
    const uint16_t sign = (uint16_t)((u >> 16) & 0x8000);
    const uint32_t a = u & 0x7FFFFFFFu;
    if (a >= 0x47800000u) return sign | (a > 0x7F800000u ? 0x7E00 : 0x7C00);
    if (a < 0x38800000u) {
        float r; memcpy(&r, &a, 4);
        r += 0.5f;
        uint32_t rb; memcpy(&rb, &r, 4);
        return sign | (uint16_t)(rb - 0x3F000000u);
    }
    const uint32_t odd = (a >> 13) & 1;
    return sign | (uint16_t)((a + 0xC8000FFFu + odd) >> 13);
}

// ---- bfloat16 (exact widening; narrowing as ggml's GGML_FP32_TO_BF16: NaN quieted, else round to nearest even) ----
static inline void ck_bf16_to_f32_soft(const uint16_t *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) { uint32_t u = (uint32_t)x[i] << 16; memcpy(y + i, &u, 4); }
}

static inline uint16_t ck_f2bf_soft(float f) {
    uint32_t u; memcpy(&u, &f, 4);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((u >> 16) | 64);
    return (uint16_t)((u + (0x7FFFu + ((u >> 16) & 1))) >> 16);
}

void ck_f32_to_bf16(const float *x, uint16_t *y, int64_t n) { for (int64_t i = 0; i < n; i++) y[i] = ck_f2bf_soft(x[i]); }

void ck_round_bf16(float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) { uint32_t u = (uint32_t)ck_f2bf_soft(x[i]) << 16; memcpy(x + i, &u, 4); }
}

#define CK_AVX2_VARIANT 0
#define ATTR
#define KFN(x) x##_generic
#define H2F(h) ck_h2f_soft(h)
#define F2H(f) ck_f2h_soft(f)
#include "kernels_impl.h"
#undef ATTR
#undef KFN
#undef H2F
#undef F2H
#undef CK_AVX2_VARIANT

#ifdef CK_X86
#define CK_AVX2_VARIANT 1
#define ATTR __attribute__((target("avx2,fma,f16c")))
#define KFN(x) x##_avx2
#define H2F(h) _cvtsh_ss(h)
#define F2H(f) ck_f2h_avx2(f)
static ATTR inline uint16_t ck_f2h_avx2(float f) {
    if (f != f) { uint32_t u; memcpy(&u, &f, 4); return (uint16_t)(((u >> 16) & 0x8000) | 0x7E00); }
    return _cvtss_sh(f, 0);
}
#include "kernels_impl.h"
#endif

static int ck_mode = -1;  // 1: AVX2 variants, 0: portable

int ck_uses_avx2(void) {
    if (ck_mode < 0) {
#ifdef CK_X86
        __builtin_cpu_init();
        ck_mode = (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c")) ? 1 : 0;
#else
        ck_mode = 0;
#endif
    }
    return ck_mode;
}

#ifdef CK_X86
#define DISPATCH(name, ...) do { if (ck_uses_avx2()) name##_avx2(__VA_ARGS__); else name##_generic(__VA_ARGS__); } while (0)
#define DISPATCH_R(name, ...) return ck_uses_avx2() ? name##_avx2(__VA_ARGS__) : name##_generic(__VA_ARGS__)
#else
#define DISPATCH(name, ...) name##_generic(__VA_ARGS__)
#define DISPATCH_R(name, ...) return name##_generic(__VA_ARGS__)
#endif

int ck_supports(int t) {
    switch (t) {
    case 0: case 1: case 2: case 3: case 6: case 7: case 8: case 10: case 11: case 12: case 13: case 14: case 30: return 1;
    default: return 0;
    }
}

int ck_activation_type(int t) {
    switch (t) {
    case 2: case 6: case 8: return 8;
    case 3: case 7: return 9;
    case 10: case 11: case 12: case 13: case 14: return 15;
    case 1: return 1;
    case 30: return 30;
    default: return 0;
    }
}

void ck_quantize_q8_0(const float *x, void *y, int64_t n) { DISPATCH(quantize_q8_0, x, y, n); }
void ck_quantize_q8_1(const float *x, void *y, int64_t n) { DISPATCH(quantize_q8_1, x, y, n); }
void ck_quantize_q8_K(const float *x, void *y, int64_t n) { DISPATCH(quantize_q8_K, x, y, n); }
void ck_f32_to_f16(const float *x, uint16_t *y, int64_t n) { DISPATCH(f32_to_f16, x, y, n); }
void ck_f16_to_f32(const uint16_t *x, float *y, int64_t n) { DISPATCH(f16_to_f32, x, y, n); }
void ck_round_f16(float *x, int64_t n) { DISPATCH(round_f16, x, n); }
float ck_dot_f32(const float *a, const float *b, int64_t n) { DISPATCH_R(dot_f32, a, b, n); }
void ck_axpy_f32(float *y, const float *x, float a, int64_t n) { DISPATCH(axpy_f32, y, x, a, n); }

void ck_matmul(int wtype, const void *w, size_t row_bytes, int nrows, int r0, int r1, int ncols,
               const void *act, size_t act_bytes, int batch, float *out, int ldo) {
    DISPATCH(matmul, wtype, w, row_bytes, nrows, r0, r1, ncols, act, act_bytes, batch, out, ldo);
}

void ck_sgemm_nt(const float *x, int64_t m, const float *w, int64_t n, int64_t k, float *y, int64_t ldy) {
    DISPATCH(sgemm_nt, x, m, w, n, k, y, ldy);
}

float ck_max_f32(const float *x, int64_t n) { DISPATCH_R(max_f32, x, n); }
float ck_exp_sub_f32(float *x, int64_t n, float m) { DISPATCH_R(exp_sub_f32, x, n, m); }
void ck_exp_f32(const float *x, float *y, int64_t n) { DISPATCH(exp_f32, x, y, n); }
