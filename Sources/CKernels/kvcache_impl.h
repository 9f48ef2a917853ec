// Included twice by kvcache.c: once with ATTR = AVX2/FMA/F16C target attributes and KFN(x) = x##_avx2, once portable
// with KFN(x) = x##_generic. Each kernel is its f32 twin in kernels_impl.h (dot_f32, axpy_f32) with the f16 operand
// widened on load: the widening is exact, and lanes, operation order and tail are the same, so an f16 row gives the
// bits its f32 twin gives on the same (f16-exact) values.

#if CK_AVX2_VARIANT
static ATTR inline __m256 KFN(load8_f16)(const uint16_t *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); }

static ATTR float KFN(dot_f32_f16)(const float *a, const uint16_t *b, int64_t n) {
    __m256 acc = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), KFN(load8_f16)(b + i), acc);
    float s[8];
    _mm256_storeu_ps(s, acc);
    float t = 0;
    for (; i < n; i++) t += a[i] * H2F(b[i]);
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])) + t;
}

static ATTR void KFN(axpy_f32_f16)(float *y, const uint16_t *x, float a, int64_t n) {
    const __m256 va = _mm256_set1_ps(a);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, KFN(load8_f16)(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++) y[i] += a * H2F(x[i]);
}
#else
static ATTR float KFN(dot_f32_f16)(const float *a, const uint16_t *b, int64_t n) {
    float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; l++) s[l] += a[i + l] * H2F(b[i + l]);
    float t = 0;
    for (; i < n; i++) t += a[i] * H2F(b[i]);
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])) + t;
}

static ATTR void KFN(axpy_f32_f16)(float *y, const uint16_t *x, float a, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] += a * H2F(x[i]);
}
#endif
