// Q6_K tensors repacked by ck_repack_q6_Kx8 (layout in repack_q6_kx8.c) against Q8_K activations, AVX2 only (included
// by kernels_impl.h in its AVX2 variant). Each output gets mm_k's numbers: per super-block the exact integer
// Σ_j sc_j·Σ q·a over the 16 sub-blocks, then (d·d_a)·(float)sumi added to the running sum super-block after
// super-block (k_superblock_term) — here in eight lanes, one row each, so the bits are those of the stored-row path.
// The values are taken as stored, u = q + 32 in 0..63, so that maddubs can use them as its unsigned operand; the
// offset comes back out exactly as 32·Σ_j sc_j·(Σ of sub-block j's activations), which Q8_K keeps as bsums[j].

// Activation row b's bsums in pairs, as madd factors against the repacked scale pairs: bsp[(b·ns + s)·8 + p] holds
// bsums[2p] in its low 16 bits and bsums[2p + 1] in its high 16 bits.
static ATTR void KFN(q6kx8_bsum_pairs)(const uint8_t *act, size_t ab, int batch, int ns, int32_t *bsp) {
    for (int b = 0; b < batch; b++)
        for (int s = 0; s < ns; s++) {
            uint16_t bs[16]; memcpy(bs, act + (size_t)b * ab + 292 * (size_t)s + 260, 32);
            for (int p = 0; p < 8; p++) bsp[((size_t)b * ns + s) * 8 + p] = (int32_t)((uint32_t)bs[2 * p] | ((uint32_t)bs[2 * p + 1] << 16));
        }
}

// N activation rows (a compile-time constant at each call) × the eight rows of group-super-blocks `g` (ns of them).
static ATTR inline __attribute__((always_inline)) void KFN(q6kx8_tile)(const uint8_t *g, int ns, const uint8_t *act, size_t ab,
                                                                        const int32_t *bsp, int n, float *out, int ldo) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), m30 = _mm256_set1_epi8(0x30);
    // Byte t of each pair twice (row r's scale of sub-block 2p + t into both bytes of 16-bit lane r).
    const __m128i dup[2] = {_mm_setr_epi8(0, 0, 2, 2, 4, 4, 6, 6, 8, 8, 10, 10, 12, 12, 14, 14),
                            _mm_setr_epi8(1, 1, 3, 3, 5, 5, 7, 7, 9, 9, 11, 11, 13, 13, 15, 15)};
    __m256 sum[4];
    for (int k = 0; k < n; k++) sum[k] = _mm256_setzero_ps();
    for (int s = 0; s < ns; s++) {
        const uint8_t *blk = g + CK_Q6_K_X8_BYTES * (size_t)s;
        __m256i acc[4];
        for (int k = 0; k < n; k++) acc[k] = _mm256_setzero_si256();
        for (int j = 0; j < 16; j++) {
            const __m128i scp = _mm_loadu_si128((const __m128i *)(blk + 16 + 16 * (j / 2)));
            const __m256i scv = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(scp, dup[j % 2]));
            const __m256i n0 = _mm256_loadu_si256((const __m256i *)(blk + 144 + 64 * j));
            const __m256i n1 = _mm256_loadu_si256((const __m256i *)(blk + 144 + 64 * j + 32));
            const __m256i h = _mm256_loadu_si256((const __m256i *)(blk + 1168 + 32 * j));
            const __m256i u0 = _mm256_or_si256(_mm256_and_si256(n0, m4), _mm256_and_si256(_mm256_slli_epi16(h, 4), m30));
            const __m256i u1 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(n0, 4), m4), _mm256_and_si256(_mm256_slli_epi16(h, 2), m30));
            const __m256i u2 = _mm256_or_si256(_mm256_and_si256(n1, m4), _mm256_and_si256(h, m30));
            const __m256i u3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(n1, 4), m4), _mm256_and_si256(_mm256_srli_epi16(h, 2), m30));
            for (int k = 0; k < n; k++) {
                // Two products of at most 63·128 per 16-bit lane, two lanes added: below 2^15.
                const uint8_t *a = act + (size_t)k * ab + 292 * (size_t)s + 4 + 16 * j;
                int32_t a0, a1, a2, a3;
                memcpy(&a0, a, 4); memcpy(&a1, a + 4, 4); memcpy(&a2, a + 8, 4); memcpy(&a3, a + 12, 4);
                const __m256i sa = _mm256_add_epi16(_mm256_maddubs_epi16(u0, _mm256_set1_epi32(a0)), _mm256_maddubs_epi16(u1, _mm256_set1_epi32(a1)));
                const __m256i sb = _mm256_add_epi16(_mm256_maddubs_epi16(u2, _mm256_set1_epi32(a2)), _mm256_maddubs_epi16(u3, _mm256_set1_epi32(a3)));
                acc[k] = _mm256_add_epi32(acc[k], _mm256_add_epi32(_mm256_madd_epi16(sa, scv), _mm256_madd_epi16(sb, scv)));
            }
        }
        const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)blk));
        for (int k = 0; k < n; k++) {
            const int32_t *bp = bsp + ((size_t)k * ns + s) * 8;
            __m256i corr = _mm256_setzero_si256();
            for (int p = 0; p < 8; p++)
                corr = _mm256_add_epi32(corr, _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(blk + 16 + 16 * p))),
                                                                _mm256_set1_epi32(bp[p])));
            const __m256i sumi = _mm256_sub_epi32(acc[k], _mm256_slli_epi32(corr, 5));
            float ad; memcpy(&ad, act + (size_t)k * ab + 292 * (size_t)s, 4);
            sum[k] = _mm256_add_ps(sum[k], _mm256_mul_ps(_mm256_mul_ps(dw, _mm256_set1_ps(ad)), _mm256_cvtepi32_ps(sumi)));
        }
    }
    for (int k = 0; k < n; k++) _mm256_storeu_ps(out + (size_t)k * ldo, sum[k]);
}
