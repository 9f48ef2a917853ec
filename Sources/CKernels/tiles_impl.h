// AVX2 building blocks for prompt-sized batches of the legacy 32-element block types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0),
// included by kernels_impl.h in its AVX2 variant only. Everything here computes each output with exactly the
// operations, in exactly the order, of the one-output kernels it stands in for (dot_blocks, dot_blocks_seq): only the
// loops around them change (rows and activation rows in register tiles, block unpacking in vector registers), so
// results keep their bits — and with them the bit-exact agreement with ggml that scripts/check-kernels-vs-ggml.sh and
// the engine's llama.cpp goldens check. The one-output kernels stay beside these as their reference.

// The 32 four-bit values of a block's 16 bytes `qs` as bytes: low nibbles are elements 0..15, high nibbles 16..31.
static ATTR inline __m256i KFN(nibbles32)(const uint8_t *qs) {
    const __m128i t = _mm_loadu_si128((const __m128i *)qs);
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(t, 4), t), _mm256_set1_epi8(0x0F));
}

// 0x10 in byte e where bit e of `qh` is set (Q5_0/Q5_1's fifth bit of element e), else 0.
static ATTR inline __m256i KFN(fifth_bits32)(uint32_t qh) {
    const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32((int)qh),
                                               _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202,
                                                                 0x0101010101010101, 0x0000000000000000));
    const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit), _mm256_set1_epi8(0x10));
}

// The 32 values of a stored Q4_0, Q5_0 or Q8_0 block as int8, built in vector registers (unpack_legacy_row's values);
// `q4_offset` is what Q4_0 subtracts (8).
static ATTR inline __m256i KFN(block_values)(int type, const uint8_t *blk, int q4_offset) {
    if (type == 8) return _mm256_loadu_si256((const __m256i *)(blk + 2));
    if (type == 6) {
        uint32_t qh; memcpy(&qh, blk + 2, 4);
        return _mm256_sub_epi8(_mm256_or_si256(KFN(nibbles32)(blk + 6), KFN(fifth_bits32)(qh)), _mm256_set1_epi8(16));
    }
    return _mm256_sub_epi8(KFN(nibbles32)(blk + 2), _mm256_set1_epi8((char)q4_offset));
}

// Bytes per stored block of the three types above.
static ATTR inline size_t KFN(block_bytes)(int type) { return type == 2 ? 18 : type == 6 ? 22 : 34; }

// A Q4_0 or Q5_0 row unpacked to int8 values `q` and float scales `dw` with block_values (Q4_0 offset `q4_offset`).
static ATTR void KFN(unpack_row_v)(int type, const uint8_t *wr, int nb, int8_t *q, float *dw, int q4_offset) {
    const size_t bb = KFN(block_bytes)(type);
    for (int i = 0; i < nb; i++) {
        dw[i] = KFN(h2f)(wr + bb * (size_t)i);
        _mm256_storeu_si256((__m256i *)(q + 32 * i), KFN(block_values)(type, wr + bb * (size_t)i, q4_offset));
    }
}

// The float scale of every Q8_0 activation block: da[b·nb + i] = d of block i of activation row b.
static ATTR void KFN(activation_scales)(const uint8_t *act, size_t ab, int batch, int nb, float *da) {
    for (int b = 0; b < batch; b++)
        for (int i = 0; i < nb; i++) da[(size_t)b * nb + i] = KFN(h2f)(act + (size_t)b * ab + 34 * (size_t)i);
}

// Q4_0 as llama.cpp computes it after repacking the tensor to block_q4_0x8 (AVX2, rows a multiple of 8:
// ggml_repack_get_optimal_repack_type): its ggml_gemm_q4_0_8x8_q8_0 and ggml_gemv_q4_0_8x8_q8_0 both keep one float
// accumulator per output, acc = fma((float)Σq·q, d_w·d_a, acc), block after block — whatever the batch size.
static ATTR float KFN(dot_blocks_seq)(const int8_t *wq, const float *dw, const uint8_t *a, int nb) {
    float acc = 0;
    for (int i = 0; i < nb; i++) {
        const uint8_t *ab = a + 34 * i;
        acc = fmaf((float)KFN(idot32)(wq + 32 * i, (const int8_t *)(ab + 2)), dw[i] * KFN(h2f)(ab), acc);
    }
    return acc;
}

// TILE_M weight rows × TILE_N activation rows of dot_blocks (no mins): TILE_M·TILE_N 8-lane accumulators, each updated
// exactly as dot_blocks updates its one — acc = fma(set1(d_w·d_a), (float)lanes(Σq·q), acc) block after block — then
// reduced by hsum_f8. Each weight block is loaded and its |q| formed once per TILE_N activation rows, each activation
// block loaded once per TILE_M rows. `wq[m]` points at row m's int8 values (block i at wq[m] + wstride·i), `dw[m]` at
// its scales; `da` holds the activation rows' block scales (activation_scales).
// 2 × 3: llvm-mca (znver3) gives 2.17 cycles per output block, within 2% of the best of 1×4 … 4×3 (1×4 and 2×4:
// 2.13), with no register spills (2×4 spills) and half the weight loads per output of 1×4.
#ifndef TILE_M
#define TILE_M 2
#define TILE_N 3
#endif
static ATTR void KFN(tile_mn)(const int8_t *const *wq, size_t wstride, const float *const *dw, const uint8_t *act,
                               size_t ab, const float *da, int nb, float *out, int ldo) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc[TILE_M][TILE_N];
    for (int m = 0; m < TILE_M; m++) for (int n = 0; n < TILE_N; n++) acc[m][n] = _mm256_setzero_ps();
    for (int i = 0; i < nb; i++) {
        __m256i x[TILE_M], ax[TILE_M];
        for (int m = 0; m < TILE_M; m++) {
            x[m] = _mm256_loadu_si256((const __m256i *)(wq[m] + wstride * i));
            ax[m] = _mm256_sign_epi8(x[m], x[m]);
        }
        for (int n = 0; n < TILE_N; n++) {
            const __m256i y = _mm256_loadu_si256((const __m256i *)(act + (size_t)n * ab + 34 * i + 2));
            const float dan = da[(size_t)n * nb + i];
            for (int m = 0; m < TILE_M; m++) {
                const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(ax[m], _mm256_sign_epi8(y, x[m])), ones);
                acc[m][n] = _mm256_fmadd_ps(_mm256_set1_ps(dw[m][i] * dan), _mm256_cvtepi32_ps(p), acc[m][n]);
            }
        }
    }
    for (int m = 0; m < TILE_M; m++) for (int n = 0; n < TILE_N; n++) out[(size_t)n * ldo + m] = KFN(hsum_f8)(acc[m][n]);
}

// Four stored rows × `n` (1 or 2) activation rows for token-by-token decoding: tile_mn's per-output operations on
// blocks unpacked in registers as they are read (a decode step reads each weight once, so unpacking whole rows first
// would only add a store and a load per block); the four rows are read side by side. `wr` must be four consecutive
// rows (wr[m] = wr[0] + m·row bytes).
static ATTR inline __attribute__((always_inline)) void KFN(tile_4xn_packed)(int type, const uint8_t *const *wr, const uint8_t *act,
                                                                             size_t ab, const float *da, int nb, int n,
                                                                             float *out, int ldo) {
    const __m256i ones = _mm256_set1_epi16(1);
    const size_t bb = KFN(block_bytes)(type);
    __m256 acc[4][2];
    for (int m = 0; m < 4; m++) for (int k = 0; k < n; k++) acc[m][k] = _mm256_setzero_ps();
    // The next four rows (they follow these in memory), fetched while these compute: four parallel streams defeat
    // the hardware prefetcher, as in gemv_half.
    const char *next = (const char *)(wr[0] + 4 * bb * (size_t)nb);
    for (int i = 0; i < nb; i++) {
        for (size_t o = 0; o < 4 * bb; o += 64) _mm_prefetch(next + 4 * bb * (size_t)i + o, _MM_HINT_T0);
        __m256i y[2];
        __m256 dav[2];
        for (int k = 0; k < n; k++) {
            y[k] = _mm256_loadu_si256((const __m256i *)(act + (size_t)k * ab + 34 * i + 2));
            dav[k] = _mm256_set1_ps(da[(size_t)k * nb + i]);
        }
        for (int m = 0; m < 4; m++) {
            const uint8_t *blk = wr[m] + bb * (size_t)i;
            const __m256i x = KFN(block_values)(type, blk, 8);
            const __m256i ax = _mm256_sign_epi8(x, x);
            const __m256 dwv = _mm256_set1_ps(KFN(h2f)(blk));
            for (int k = 0; k < n; k++) {
                const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(ax, _mm256_sign_epi8(y[k], x)), ones);
                acc[m][k] = _mm256_fmadd_ps(_mm256_mul_ps(dwv, dav[k]), _mm256_cvtepi32_ps(p), acc[m][k]);
            }
        }
    }
    for (int m = 0; m < 4; m++) for (int k = 0; k < n; k++) out[(size_t)k * ldo + m] = KFN(hsum_f8)(acc[m][k]);
}

// Σ of each activation block's 32 int8 values (for x8_tile's Σq·a − 8·Σa): asum[b·nb + i].
static ATTR void KFN(activation_sums)(const uint8_t *act, size_t ab, int batch, int nb, int *asum) {
    const __m256i ones8 = _mm256_set1_epi8(1), ones = _mm256_set1_epi16(1);
    for (int b = 0; b < batch; b++)
        for (int i = 0; i < nb; i++) {
            const __m256i y = _mm256_loadu_si256((const __m256i *)(act + (size_t)b * ab + 34 * i + 2));
            asum[(size_t)b * nb + i] = KFN(hsum8)(_mm256_madd_epi16(_mm256_maddubs_epi16(ones8, y), ones));
        }
}

// Eight rows of dot_blocks at once, for prompt batches of Q5_0 and Q8_0 (ggml's vec_dot path). dot_blocks keeps eight
// float lanes per output, lane k accumulating fma(d_w·d_a, (float)Σ of elements 4k..4k+3, lane) block after block, and
// ends with hsum_f8. Here vector k holds lane k of eight outputs (one row each): the rows' values are laid out
// (lanes8_unpack) so that one vector holds elements 4k..4k+3 of all eight rows, a multiply-add against those four
// activation bytes broadcast gives every row's lane-k integer in its own lane, and hsum_f8's adds (lanes k and k+4,
// then pairs) become adds of whole vectors. Same integers, same float operations in the same order: the same bits.
//
// Unpacked group-block i (lanes8_bytes per block): for each k < 8, the eight rows' elements 4k..4k+3 side by side
// (row r at byte 4r). Q5_0 stores q + 16 (0..31, so maddubs can take it as unsigned; the offset comes back out as
// 16·Σ of the four activation bytes); Q8_0 stores |q| and then q itself (maddubs(|q|, sign(a, q)), as dot_blocks).
// Q4_0 stores its 0..15 values for x8_tile (q4_0x8_impl.h), which computes llama.cpp's repacked-Q4_0 order instead.
static ATTR inline int KFN(lanes8_bytes)(int type) { return type == 8 ? 512 : 256; }

static ATTR void KFN(lanes8_unpack)(int type, const uint8_t *w, size_t rb, int nb, uint8_t *qi, float *dw8) {
    const size_t bb = KFN(block_bytes)(type), ub = (size_t)KFN(lanes8_bytes)(type);
    for (int r = 0; r < 8; r++) {
        const uint8_t *wr = w + (size_t)r * rb;
        for (int i = 0; i < nb; i++) {
            const uint8_t *blk = wr + bb * (size_t)i;
            dw8[8 * i + r] = KFN(h2f)(blk);
            const __m256i v = KFN(block_values)(type, blk, 8);
            uint32_t t[8], u[8];
            if (type == 8) {
                _mm256_storeu_si256((__m256i *)t, _mm256_sign_epi8(v, v));
                _mm256_storeu_si256((__m256i *)u, v);
                for (int k = 0; k < 8; k++) {
                    memcpy(qi + ub * i + 64 * k + 4 * r, &t[k], 4);
                    memcpy(qi + ub * i + 64 * k + 32 + 4 * r, &u[k], 4);
                }
            } else {
                _mm256_storeu_si256((__m256i *)t, _mm256_add_epi8(v, _mm256_set1_epi8(type == 2 ? 8 : 16)));
                for (int k = 0; k < 8; k++) memcpy(qi + ub * i + 32 * k + 4 * r, &t[k], 4);
            }
        }
    }
}

// 16·Σ of each 4-byte group of each activation block (Q5_0's offset in lanes8_row): cs16[(b·nb + i)·8 + k].
static ATTR void KFN(lanes8_offsets)(const uint8_t *act, size_t ab, int batch, int nb, int32_t *cs16) {
    const __m256i ones8 = _mm256_set1_epi8(1), ones = _mm256_set1_epi16(1);
    for (int b = 0; b < batch; b++)
        for (int i = 0; i < nb; i++) {
            const __m256i y = _mm256_loadu_si256((const __m256i *)(act + (size_t)b * ab + 34 * (size_t)i + 2));
            const __m256i s = _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, y), ones);
            _mm256_storeu_si256((__m256i *)(cs16 + ((size_t)b * nb + i) * 8), _mm256_slli_epi32(s, 4));
        }
}

// One activation row `a` (Q8_0 blocks, scales `da`) against an unpacked group: out[0..8) = the eight rows' dot_blocks.
static ATTR inline __attribute__((always_inline)) void KFN(lanes8_row)(int type, const uint8_t *qi, const float *dw8,
                                                                        const uint8_t *a, const int32_t *cs16, const float *da,
                                                                        int nb, float *out) {
    const __m256i ones = _mm256_set1_epi16(1);
    const size_t ub = (size_t)KFN(lanes8_bytes)(type);
    __m256 acc[8];
    for (int k = 0; k < 8; k++) acc[k] = _mm256_setzero_ps();
    for (int i = 0; i < nb; i++) {
        const __m256 d = _mm256_mul_ps(_mm256_loadu_ps(dw8 + 8 * i), _mm256_set1_ps(da[i]));
        const uint8_t *ay = a + 34 * (size_t)i + 2, *q = qi + ub * i;
        for (int k = 0; k < 8; k++) {
            int32_t a4; memcpy(&a4, ay + 4 * k, 4);
            __m256i p;
            if (type == 8) {
                const __m256i aq = _mm256_loadu_si256((const __m256i *)(q + 64 * k));
                const __m256i sq = _mm256_loadu_si256((const __m256i *)(q + 64 * k + 32));
                p = _mm256_madd_epi16(_mm256_maddubs_epi16(aq, _mm256_sign_epi8(_mm256_set1_epi32(a4), sq)), ones);
            } else {
                const __m256i uq = _mm256_loadu_si256((const __m256i *)(q + 32 * k));
                p = _mm256_sub_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(uq, _mm256_set1_epi32(a4)), ones),
                                     _mm256_set1_epi32(cs16[8 * i + k]));
            }
            acc[k] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(p), acc[k]);
        }
    }
    const __m256 t0 = _mm256_add_ps(acc[0], acc[4]), t1 = _mm256_add_ps(acc[1], acc[5]);
    const __m256 t2 = _mm256_add_ps(acc[2], acc[6]), t3 = _mm256_add_ps(acc[3], acc[7]);
    _mm256_storeu_ps(out, _mm256_add_ps(_mm256_add_ps(t0, t2), _mm256_add_ps(t1, t3)));
}

// Rows [r, r + 8·groups) of a Q5_0 or Q8_0 tensor for every activation row, eight at a time (lanes8_row).
static ATTR void KFN(mm_lanes8)(int type, const uint8_t *w, size_t rb, int r, int groups, int ncols, const uint8_t *act,
                                 size_t ab, int batch, const float *da, float *out, int ldo) {
    const int nb = ncols / 32;
    uint8_t *qi = malloc((size_t)KFN(lanes8_bytes)(type) * nb);
    float *dw8 = malloc(sizeof(float) * 8 * (size_t)nb);
    int32_t *cs16 = type == 6 ? malloc(sizeof(int32_t) * 8 * (size_t)batch * nb) : NULL;
    if (cs16) KFN(lanes8_offsets)(act, ab, batch, nb, cs16);
    for (int g = 0; g < groups; g++, r += 8) {
        KFN(lanes8_unpack)(type, w + (size_t)r * rb, rb, nb, qi, dw8);
        for (int b = 0; b < batch; b++) {
            const uint8_t *a = act + (size_t)b * ab;
            const float *dab = da + (size_t)b * nb;
            float res[8];
            if (type == 8) KFN(lanes8_row)(8, qi, dw8, a, NULL, dab, nb, res);
            else KFN(lanes8_row)(6, qi, dw8, a, cs16 + (size_t)b * nb * 8, dab, nb, res);
            memcpy(out + (size_t)b * ldo + r, res, sizeof res);
        }
    }
    free(qi); free(dw8); free(cs16);
}

// One eight-row group of an interleaved tensor (or, for Q4_0, of stored rows unpacked by lanes8_unpack) for every
// activation row, four at a time (interleaved_impl.h).
static ATTR void KFN(x8_group)(int xt, const uint8_t *g, const uint8_t *qi, const float *dw8, int nb, const uint8_t *act,
                                size_t ab, const float *da, const int32_t *ai, int astride, int batch, float *out, int ldo);

// Q4_0 and Q5_0 (unpacked to int8) and Q8_0 (read in place) against Q8_0 activations, the AVX2 product for any batch.
// Q4_0 tensors of a multiple of eight rows take llama.cpp's repacked path (eight-row groups through x8_group,
// dot_blocks_seq for rows left over at the end of a range); the rest its vec_dot path, in TILE_M × TILE_N tiles
// (tile_mn) or eight rows at once (mm_lanes8), with dot_blocks at the edges.
static ATTR void KFN(mm_q8_family)(int type, const uint8_t *w, size_t rb, int nrows, int r0, int r1, int ncols,
                                    const uint8_t *act, size_t ab, int batch, float *out, int ldo) {
    const int nb = ncols / 32;
    float *da = malloc(sizeof(float) * (size_t)batch * nb);
    int8_t *q = malloc((size_t)8 * ncols);
    float *dw = malloc(sizeof(float) * 16 * (size_t)nb);  // 8 rows' scales, and 8 more for the repacked path
    KFN(activation_scales)(act, ab, batch, nb, da);
    int r = r0;
    if (type == 2 && nrows % 8 == 0) {
        int *asum = malloc(sizeof(int) * (size_t)batch * nb);
        uint8_t *qi = malloc((size_t)KFN(lanes8_bytes)(2) * nb);
        float *dw8 = dw + 8 * nb;
        KFN(activation_sums)(act, ab, batch, nb, asum);
        for (; r + 8 <= r1; r += 8) {
            KFN(lanes8_unpack)(2, w + (size_t)r * rb, rb, nb, qi, dw8);
            KFN(x8_group)(CK_Q4_0_X8, NULL, qi, dw8, nb, act, ab, da, asum, nb, batch, out + r, ldo);
        }
        free(qi);
        for (; r < r1; r++) {
            KFN(unpack_row_v)(type, w + (size_t)r * rb, nb, q, dw, 8);
            for (int b = 0; b < batch; b++) out[(size_t)b * ldo + r] = KFN(dot_blocks_seq)(q, dw, act + (size_t)b * ab, nb);
        }
        free(asum);
    } else {
        if (batch < 3 && type == 8) {
            // Q8_0 needs no unpacking: dot_blocks on the stored blocks, rows prefetched ahead (the vocabulary-sized
            // output product of a decode step streams far more than the caches hold).
            for (; r < r1; r++) {
                const uint8_t *wr = w + (size_t)r * rb;
                for (size_t o = 0; o < rb; o += 64) _mm_prefetch((const char *)(wr + 8 * rb + o), _MM_HINT_T0);
                for (int b = 0; b < batch; b++)
                    out[(size_t)b * ldo + r] = KFN(dot_blocks)((const int8_t *)(wr + 2), 34, wr, NULL, NULL, act + (size_t)b * ab, 34, nb);
            }
        } else if (batch < 3) {
            for (; r + 4 <= r1; r += 4) {
                const uint8_t *wr[4] = {w + (size_t)r * rb, w + (size_t)(r + 1) * rb, w + (size_t)(r + 2) * rb, w + (size_t)(r + 3) * rb};
                // Constant type and width, so each call is compiled with its accumulators in registers.
                if (type == 6) {
                    if (batch == 1) KFN(tile_4xn_packed)(6, wr, act, ab, da, nb, 1, out + r, ldo);
                    else KFN(tile_4xn_packed)(6, wr, act, ab, da, nb, 2, out + r, ldo);
                } else {
                    if (batch == 1) KFN(tile_4xn_packed)(2, wr, act, ab, da, nb, 1, out + r, ldo);
                    else KFN(tile_4xn_packed)(2, wr, act, ab, da, nb, 2, out + r, ldo);
                }
            }
        }
        if (batch >= 3 && type != 2 && r1 - r >= 8) {
            const int groups = (r1 - r) / 8;
            KFN(mm_lanes8)(type, w, rb, r, groups, ncols, act, ab, batch, da, out, ldo);
            r += 8 * groups;
        }
        while (r < r1) {
            const int rows = r1 - r >= TILE_M ? TILE_M : 1;
            const int8_t *wq[TILE_M];
            const float *dws[TILE_M];
            const size_t ws = type == 8 ? 34 : 32;
            for (int m = 0; m < rows; m++) {
                const uint8_t *wr = w + (size_t)(r + m) * rb;
                float *dm = dw + (size_t)m * nb;
                dws[m] = dm;
                if (type == 8) {
                    wq[m] = (const int8_t *)(wr + 2);
                    for (int i = 0; i < nb; i++) dm[i] = KFN(h2f)(wr + 34 * i);
                } else {
                    KFN(unpack_row_v)(type, wr, nb, q + (size_t)m * ncols, dm, 8);
                    wq[m] = q + (size_t)m * ncols;
                }
            }
            int b = 0;
            if (rows == TILE_M)
                for (; b + TILE_N <= batch; b += TILE_N)
                    KFN(tile_mn)(wq, ws, dws, act + (size_t)b * ab, ab, da + (size_t)b * nb, nb, out + (size_t)b * ldo + r, ldo);
            for (; b < batch; b++)
                for (int m = 0; m < rows; m++)
                    out[(size_t)b * ldo + r + m] = KFN(dot_blocks)(wq[m], ws, NULL, dws[m], NULL, act + (size_t)b * ab, 34, nb);
            r += rows;
        }
    }
    free(da); free(q); free(dw);
}
