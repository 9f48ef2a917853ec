// Q4_0 against Q8_0 activations in llama.cpp's repacked-Q4_0 order (its ggml_gemv/gemm_q4_0_8x8_q8_0: one float
// accumulator per output, acc = fma((float)Σ(q−8)·a, d_w·d_a, acc), block after block), eight rows at once, AVX2 only
// (included by kernels_impl.h in its AVX2 variant). The eight rows' values for four elements sit side by side in one
// vector, so a multiply-add against those four activation bytes broadcast gives each row's partial sum in its own
// lane; Σ(q−8)·a is formed as Σq·a − 8·Σa, the same exact integer. The one kernel for both layouts: the interleaved
// tensor (ck_repack_q4_0x8, layout in repack_q4_0x8.c) and groups of stored rows unpacked by lanes8_unpack.

// N activation rows (a compile-time constant at each call) × eight rows: the interleaved group-blocks `g` (nb of them),
// or, with `g` NULL, a group unpacked by lanes8_unpack (`qi`, scales `dw8`).
static ATTR inline __attribute__((always_inline)) void KFN(x8_tile)(const uint8_t *g, const uint8_t *qi, const float *dw8, int nb,
                                                                     const uint8_t *act, size_t ab, const int *asum, const float *da,
                                                                     int n, float *out, int ldo) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1);
    __m256 acc[4];
    for (int k = 0; k < n; k++) acc[k] = _mm256_setzero_ps();
    for (int i = 0; i < nb; i++) {
        __m256 dw;
        __m256i w[8];   // w[c]: elements 4c..4c+3 of the eight rows, 0..15
        if (g) {
            const uint8_t *blk = g + CK_Q4_0_X8_BYTES * (size_t)i;
            dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)blk));
            for (int v = 0; v < 4; v++) {
                const __m256i x = _mm256_loadu_si256((const __m256i *)(blk + 16 + 32 * v));
                w[2 * v] = _mm256_and_si256(x, m4);
                w[2 * v + 1] = _mm256_and_si256(_mm256_srli_epi16(x, 4), m4);
            }
        } else {
            dw = _mm256_loadu_ps(dw8 + 8 * (size_t)i);
            for (int c = 0; c < 8; c++) w[c] = _mm256_loadu_si256((const __m256i *)(qi + 256 * (size_t)i + 32 * c));
        }
        for (int k = 0; k < n; k++) {
            // Vector c pairs with activation bytes 4c..4c+3. Each 16-bit lane adds two products of at most
            // 15·128, and eight lanes' sums stay below 2^15, so the 16-bit sums are exact.
            const uint8_t *a = act + (size_t)k * ab + 34 * (size_t)i + 2;
            __m256i s = _mm256_setzero_si256();
            for (int c = 0; c < 8; c++) {
                int32_t a4; memcpy(&a4, a + 4 * c, 4);
                s = _mm256_add_epi16(s, _mm256_maddubs_epi16(w[c], _mm256_set1_epi32(a4)));
            }
            const __m256i sums = _mm256_sub_epi32(_mm256_madd_epi16(s, ones), _mm256_set1_epi32(8 * asum[(size_t)k * nb + i]));
            const __m256 d = _mm256_mul_ps(dw, _mm256_set1_ps(da[(size_t)k * nb + i]));
            acc[k] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums), d, acc[k]);
        }
    }
    for (int k = 0; k < n; k++) _mm256_storeu_ps(out + (size_t)k * ldo, acc[k]);
}
