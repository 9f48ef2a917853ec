// Q4_K tensors repacked by ck_repack_q4_Kx8 (layout in repack_q4_kx8.c) against Q8_K activations, AVX2 only (included
// by kernels_impl.h in its AVX2 variant). Each output gets mm_k's numbers: per super-block the exact integers
// Σ_j sc_j·Σ q·a and Σ_j m_j·(bsums of sub-block j), then k_superblock_term's float operations in its order, super-block
// after super-block — here in eight lanes, one row each, so the bits are those of the stored-row path. The integers
// are formed as in x8_tile (q4_0x8_impl.h): four elements of all eight rows side by side, a multiply-add against those four
// activation bytes broadcast, the sub-block's scales as int16 madd factors.

// Activation row b's sub-block sums in pairs, as madd factors against repacked mins: bsp[(b·ns + s)·4 + p] holds
// bsums[4p] + bsums[4p + 1] (sub-block 2p) in its low 16 bits and bsums[4p + 2] + bsums[4p + 3] (sub-block 2p + 1) in
// its high 16 bits (each at most 32·128 in magnitude).
static ATTR void KFN(q4kx8_bsum_pairs)(const uint8_t *act, size_t ab, int batch, int ns, int32_t *bsp) {
    for (int b = 0; b < batch; b++)
        for (int s = 0; s < ns; s++) {
            int16_t bs[16]; memcpy(bs, act + (size_t)b * ab + 292 * (size_t)s + 260, 32);
            for (int p = 0; p < 4; p++) {
                const int lo = bs[4 * p] + bs[4 * p + 1], hi = bs[4 * p + 2] + bs[4 * p + 3];
                bsp[((size_t)b * ns + s) * 4 + p] = (int32_t)(((uint32_t)(uint16_t)(int16_t)lo) | ((uint32_t)(uint16_t)(int16_t)hi << 16));
            }
        }
}

// N activation rows (a compile-time constant at each call) × the eight rows of group-super-blocks `g` (ns of them).
static ATTR inline __attribute__((always_inline)) void KFN(q4kx8_tile)(const uint8_t *g, int ns, const uint8_t *act, size_t ab,
                                                                        const int32_t *bsp, int n, float *out, int ldo) {
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    __m256 sum[4];
    for (int k = 0; k < n; k++) sum[k] = _mm256_setzero_ps();
    for (int s = 0; s < ns; s++) {
        const uint8_t *blk = g + CK_Q4_K_X8_BYTES * (size_t)s;
        __m256i acc[4];
        for (int k = 0; k < n; k++) acc[k] = _mm256_setzero_si256();
        for (int j = 0; j < 8; j++) {
            const __m128i sc8 = _mm_loadl_epi64((const __m128i *)(blk + 32 + 8 * j));
            const __m256i scv = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(sc8, sc8));   // row r's scale in lanes 2r, 2r+1
            __m256i s16[4];
            for (int k = 0; k < n; k++) s16[k] = _mm256_setzero_si256();
            for (int v = 0; v < 4; v++) {
                const __m256i x = _mm256_loadu_si256((const __m256i *)(blk + 160 + 128 * j + 32 * v));
                const __m256i lo = _mm256_and_si256(x, m4), hi = _mm256_and_si256(_mm256_srli_epi16(x, 4), m4);
                for (int k = 0; k < n; k++) {
                    // Eight products of at most 15·128 in pairs: each 16-bit lane stays below 2^15.
                    const uint8_t *a = act + (size_t)k * ab + 292 * (size_t)s + 4 + 32 * j + 8 * v;
                    int32_t a0, a1; memcpy(&a0, a, 4); memcpy(&a1, a + 4, 4);
                    s16[k] = _mm256_add_epi16(s16[k], _mm256_add_epi16(_mm256_maddubs_epi16(lo, _mm256_set1_epi32(a0)),
                                                                       _mm256_maddubs_epi16(hi, _mm256_set1_epi32(a1))));
                }
            }
            for (int k = 0; k < n; k++) acc[k] = _mm256_add_epi32(acc[k], _mm256_madd_epi16(s16[k], scv));
        }
        const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)blk));
        const __m256 dmw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(blk + 16)));
        for (int k = 0; k < n; k++) {
            const uint8_t *ablk = act + (size_t)k * ab + 292 * (size_t)s;
            const int32_t *bp = bsp + ((size_t)k * ns + s) * 4;
            __m256i summ = _mm256_setzero_si256();
            for (int p = 0; p < 4; p++)
                summ = _mm256_add_epi32(summ, _mm256_madd_epi16(_mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(blk + 96 + 16 * p))),
                                                                _mm256_set1_epi32(bp[p])));
            float ad; memcpy(&ad, ablk, 4);
            const __m256 adv = _mm256_set1_ps(ad);
            // k_superblock_term: (d·ad)·(float)sumi − (dmin·ad)·(float)summ, added to the running sum.
            const __m256 t = _mm256_sub_ps(_mm256_mul_ps(_mm256_mul_ps(dw, adv), _mm256_cvtepi32_ps(acc[k])),
                                           _mm256_mul_ps(_mm256_mul_ps(dmw, adv), _mm256_cvtepi32_ps(summ)));
            sum[k] = _mm256_add_ps(sum[k], t);
        }
    }
    for (int k = 0; k < n; k++) _mm256_storeu_ps(out + (size_t)k * ldo, sum[k]);
}
