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

// ---- grouped attention: the query heads that share one KV head, each key and value row read once for all of them ----
// scores[h·sstride + j] = dot_f32_f16(q + h·qstride, k + j·kstride, n) for h < g, j in [lo, hi]; out[h·ostride + i] +=
// Σ_j p[h·pstride + j] · v[j·vstride + i] as axpy_f32_f16 would add the rows one after another. Each result has exactly
// the operations of its one-head kernel (same lanes, same order), so the bits do not depend on the grouping.
#if CK_AVX2_VARIANT
static ATTR void KFN(scores_group_f16)(const float *q, int64_t qstride, int g, const uint16_t *k, int64_t kstride,
                                        int64_t lo, int64_t hi, int64_t n, float *scores, int64_t sstride) {
    for (int h0 = 0; h0 < g; h0 += 4) {
        const int gh = g - h0 < 4 ? g - h0 : 4;
        const float *qh = q + h0 * qstride;
        for (int64_t j = lo; j <= hi; j++) {
            const uint16_t *kj = k + j * kstride;
            __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
            int64_t i = 0;
            for (; i + 8 <= n; i += 8) {
                const __m256 kv = KFN(load8_f16)(kj + i);
                for (int h = 0; h < gh; h++) acc[h] = _mm256_fmadd_ps(_mm256_loadu_ps(qh + h * qstride + i), kv, acc[h]);
            }
            for (int h = 0; h < gh; h++) {
                float s[8];
                _mm256_storeu_ps(s, acc[h]);
                float t = 0;
                for (int64_t r = i; r < n; r++) t += qh[h * qstride + r] * H2F(kj[r]);
                scores[(h0 + h) * sstride + j] = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])) + t;
            }
        }
    }
}

static ATTR void KFN(pv_group_f16)(const float *p, int64_t pstride, int g, const uint16_t *v, int64_t vstride,
                                    int64_t lo, int64_t hi, int64_t n, float *out, int64_t ostride) {
    for (int h0 = 0; h0 < g; h0 += 4) {
        const int gh = g - h0 < 4 ? g - h0 : 4;
        const float *ph = p + h0 * pstride;
        float *oh = out + h0 * ostride;
        int64_t i = 0;
        // 16 output columns of every head in registers while the keys stream past.
        for (; i + 16 <= n; i += 16) {
            __m256 a0[4], a1[4];
            for (int h = 0; h < gh; h++) { a0[h] = _mm256_loadu_ps(oh + h * ostride + i); a1[h] = _mm256_loadu_ps(oh + h * ostride + i + 8); }
            for (int64_t j = lo; j <= hi; j++) {
                const __m256 v0 = KFN(load8_f16)(v + j * vstride + i), v1 = KFN(load8_f16)(v + j * vstride + i + 8);
                for (int h = 0; h < gh; h++) {
                    const __m256 pj = _mm256_set1_ps(ph[h * pstride + j]);
                    a0[h] = _mm256_fmadd_ps(pj, v0, a0[h]);
                    a1[h] = _mm256_fmadd_ps(pj, v1, a1[h]);
                }
            }
            for (int h = 0; h < gh; h++) { _mm256_storeu_ps(oh + h * ostride + i, a0[h]); _mm256_storeu_ps(oh + h * ostride + i + 8, a1[h]); }
        }
        for (; i + 8 <= n; i += 8)
            for (int h = 0; h < gh; h++) {
                __m256 a = _mm256_loadu_ps(oh + h * ostride + i);
                for (int64_t j = lo; j <= hi; j++) a = _mm256_fmadd_ps(_mm256_set1_ps(ph[h * pstride + j]), KFN(load8_f16)(v + j * vstride + i), a);
                _mm256_storeu_ps(oh + h * ostride + i, a);
            }
        for (; i < n; i++)
            for (int h = 0; h < gh; h++)
                for (int64_t j = lo; j <= hi; j++) oh[h * ostride + i] += ph[h * pstride + j] * H2F(v[j * vstride + i]);
    }
}
#else
static ATTR void KFN(scores_group_f16)(const float *q, int64_t qstride, int g, const uint16_t *k, int64_t kstride,
                                        int64_t lo, int64_t hi, int64_t n, float *scores, int64_t sstride) {
    for (int h = 0; h < g; h++)
        for (int64_t j = lo; j <= hi; j++) scores[h * sstride + j] = KFN(dot_f32_f16)(q + h * qstride, k + j * kstride, n);
}

static ATTR void KFN(pv_group_f16)(const float *p, int64_t pstride, int g, const uint16_t *v, int64_t vstride,
                                    int64_t lo, int64_t hi, int64_t n, float *out, int64_t ostride) {
    for (int h = 0; h < g; h++)
        for (int64_t j = lo; j <= hi; j++) KFN(axpy_f32_f16)(out + h * ostride, v + j * vstride, p[h * pstride + j], n);
}
#endif
