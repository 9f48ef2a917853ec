// The one driver of the interleaved layouts (CK_Q4_0_X8, CK_Q4_K_X8, CK_Q6_K_X8; ck_repack_* in repack_*.c). Whole
// eight-row groups inside the range go to the layout's tile (q4_0x8_impl.h, q4_kx8_impl.h, q6_kx8_impl.h), four
// activation rows at a time; rows of a group the range cuts are unpacked back to stored blocks and take the stored
// type's own product (x8_row), which the tiles equal bit for bit. The AVX2 variant only; the portable one runs
// every row through x8_row.

// The ggml type an interleaved layout holds, and its blocks per row and bytes per eight-row group.
static ATTR inline int KFN(x8_stored)(int xt) { return xt == CK_Q4_0_X8 ? 2 : xt == CK_Q4_K_X8 ? 12 : 14; }
static ATTR inline int KFN(x8_blocks)(int xt, int ncols) { return xt == CK_Q4_0_X8 ? ncols / 32 : ncols / 256; }
static ATTR inline size_t KFN(x8_stored_row_bytes)(int xt, int ncols) {
    return (size_t)KFN(x8_blocks)(xt, ncols) * (xt == CK_Q4_0_X8 ? 18 : xt == CK_Q4_K_X8 ? 144 : 210);
}

static ATTR void KFN(matmul)(int wtype, const void *w, size_t rb, int nrows, int r0, int r1, int ncols, const void *act,
                              size_t ab, int batch, float *out, int ldo);

// Row r of an interleaved tensor on its own: unpacked back to stored blocks, then the stored type's product on that
// row (for Q4_0 with nrows 8, so that it takes the repacked path's order as the tensor does).
static ATTR void KFN(x8_row)(int xt, const uint8_t *w, int r, int ncols, const uint8_t *act, size_t ab, int batch,
                              float *out, int ldo) {
    const size_t rb = KFN(x8_stored_row_bytes)(xt, ncols);
    uint8_t *row = malloc(rb);
    if (xt == CK_Q4_0_X8) ck_unrepack_q4_0x8_row(w, ncols, r, row);
    else if (xt == CK_Q4_K_X8) ck_unrepack_q4_Kx8_row(w, ncols, r, row);
    else ck_unrepack_q6_Kx8_row(w, ncols, r, row);
    KFN(matmul)(KFN(x8_stored)(xt), row, rb, 8, 0, 1, ncols, act, ab, batch, out + r, ldo);
    free(row);
}

#if CK_AVX2_VARIANT
// One group × n activation rows (n constant at each call, so every instance keeps its accumulators in registers).
static ATTR inline __attribute__((always_inline)) void KFN(x8_tile_n)(int xt, const uint8_t *g, const uint8_t *qi, const float *dw8,
                                                                       int nb, const uint8_t *act, size_t ab, const float *da,
                                                                       const int32_t *ai, int n, float *out, int ldo) {
    if (xt == CK_Q4_0_X8) KFN(x8_tile)(g, qi, dw8, nb, act, ab, ai, da, n, out, ldo);
    else if (xt == CK_Q4_K_X8) KFN(q4kx8_tile)(g, nb, act, ab, ai, n, out, ldo);
    else KFN(q6kx8_tile)(g, nb, act, ab, ai, n, out, ldo);
}

static ATTR void KFN(x8_group)(int xt, const uint8_t *g, const uint8_t *qi, const float *dw8, int nb, const uint8_t *act,
                                size_t ab, const float *da, const int32_t *ai, int astride, int batch, float *out, int ldo) {
    for (int b = 0; b < batch; b += 4) {
        const uint8_t *a = act + (size_t)b * ab;
        const float *dab = da ? da + (size_t)b * nb : NULL;
        const int32_t *aib = ai + (size_t)b * astride;
        float *ob = out + (size_t)b * ldo;
        switch (batch - b) {
        case 3: KFN(x8_tile_n)(xt, g, qi, dw8, nb, a, ab, dab, aib, 3, ob, ldo); break;
        case 2: KFN(x8_tile_n)(xt, g, qi, dw8, nb, a, ab, dab, aib, 2, ob, ldo); break;
        case 1: KFN(x8_tile_n)(xt, g, qi, dw8, nb, a, ab, dab, aib, 1, ob, ldo); break;
        default: KFN(x8_tile_n)(xt, g, qi, dw8, nb, a, ab, dab, aib, 4, ob, ldo); break;
        }
    }
}

static ATTR void KFN(mm_x8)(int xt, const uint8_t *w, int r0, int r1, int ncols, const uint8_t *act, size_t ab, int batch,
                             float *out, int ldo) {
    const int nb = KFN(x8_blocks)(xt, ncols);
    // Per activation row: Q4_0 its blocks' sums (and scales in da), Q4_K/Q6_K their bsums in madd pairs.
    const int astride = xt == CK_Q4_0_X8 ? nb : xt == CK_Q4_K_X8 ? 4 * nb : 8 * nb;
    const size_t group = (size_t)nb * (xt == CK_Q4_0_X8 ? CK_Q4_0_X8_BYTES : xt == CK_Q4_K_X8 ? CK_Q4_K_X8_BYTES : CK_Q6_K_X8_BYTES);
    int32_t *ai = malloc(sizeof(int32_t) * (size_t)batch * astride);
    float *da = NULL;
    if (xt == CK_Q4_0_X8) {
        da = malloc(sizeof(float) * (size_t)batch * nb);
        KFN(activation_scales)(act, ab, batch, nb, da);
        KFN(activation_sums)(act, ab, batch, nb, ai);
    } else if (xt == CK_Q4_K_X8) {
        KFN(q4kx8_bsum_pairs)(act, ab, batch, nb, ai);
    } else {
        KFN(q6kx8_bsum_pairs)(act, ab, batch, nb, ai);
    }
    int r = r0;
    for (; r < r1 && (r % 8 != 0 || r + 8 > r1); r++) KFN(x8_row)(xt, w, r, ncols, act, ab, batch, out, ldo);
    for (; r + 8 <= r1; r += 8)
        KFN(x8_group)(xt, w + (size_t)(r / 8) * group, NULL, NULL, nb, act, ab, da, ai, astride, batch, out + r, ldo);
    for (; r < r1; r++) KFN(x8_row)(xt, w, r, ncols, act, ab, batch, out, ldo);
    free(ai); free(da);
}
#else
static ATTR void KFN(mm_x8)(int xt, const uint8_t *w, int r0, int r1, int ncols, const uint8_t *act, size_t ab, int batch,
                             float *out, int ldo) {
    for (int r = r0; r < r1; r++) KFN(x8_row)(xt, w, r, ncols, act, ab, batch, out, ldo);
}
#endif
