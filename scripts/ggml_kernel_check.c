// Dev check (not part of `make test`): Kiln's CKernels against libggml-cpu itself, on random rows.
// Built and run by scripts/check-kernels-vs-ggml.sh, which links the libggml-cpu/libggml-base of llama-cpp-python
// 0.3.36 (the library the engine goldens ran). For every quantized weight type the engine has a kernel for: the
// weights are quantized by ggml's own quantize_row_<type>_ref, the activations by ggml-cpu's quantize_row_q8_0 /
// q8_1 / q8_K (compared byte for byte with ck_quantize_*), then ggml's ggml_vec_dot_<type>_<dot type> and one-row
// ck_matmul must give the same float, bit for bit. Prints the number of differing dots per type. One activation
// row each, so Q2_K/Q3_K take their vec_dot path; their batch >= 8 path (ggml-cpu's tiled matmul, which has no
// exported entry point) is checked against llama.cpp's own products by EngineVariantStageTests.
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ckernels.h"

void ggml_cpu_init(void);
typedef void (*quant_fn)(const float *x, void *y, int64_t k);
typedef void (*dot_fn)(int n, float *s, size_t bs, const void *vx, size_t bx, const void *vy, size_t by, int nrc);
void quantize_row_q8_0(const float *, void *, int64_t);
void quantize_row_q8_1(const float *, void *, int64_t);
void quantize_row_q8_K(const float *, void *, int64_t);
void quantize_row_q4_0_ref(const float *, void *, int64_t);
void quantize_row_q4_1_ref(const float *, void *, int64_t);
void quantize_row_q5_0_ref(const float *, void *, int64_t);
void quantize_row_q5_1_ref(const float *, void *, int64_t);
void quantize_row_q8_0_ref(const float *, void *, int64_t);
void quantize_row_q2_K_ref(const float *, void *, int64_t);
void quantize_row_q3_K_ref(const float *, void *, int64_t);
void quantize_row_q4_K_ref(const float *, void *, int64_t);
void quantize_row_q5_K_ref(const float *, void *, int64_t);
void quantize_row_q6_K_ref(const float *, void *, int64_t);
void ggml_vec_dot_q4_0_q8_0(int, float *, size_t, const void *, size_t, const void *, size_t, int);
void ggml_vec_dot_q4_1_q8_1(int, float *, size_t, const void *, size_t, const void *, size_t, int);
void ggml_vec_dot_q5_0_q8_0(int, float *, size_t, const void *, size_t, const void *, size_t, int);
void ggml_vec_dot_q5_1_q8_1(int, float *, size_t, const void *, size_t, const void *, size_t, int);
void ggml_vec_dot_q8_0_q8_0(int, float *, size_t, const void *, size_t, const void *, size_t, int);
void ggml_vec_dot_q2_K_q8_K(int, float *, size_t, const void *, size_t, const void *, size_t, int);
void ggml_vec_dot_q3_K_q8_K(int, float *, size_t, const void *, size_t, const void *, size_t, int);
void ggml_vec_dot_q4_K_q8_K(int, float *, size_t, const void *, size_t, const void *, size_t, int);
void ggml_vec_dot_q5_K_q8_K(int, float *, size_t, const void *, size_t, const void *, size_t, int);
void ggml_vec_dot_q6_K_q8_K(int, float *, size_t, const void *, size_t, const void *, size_t, int);
void ggml_gemv_q4_0_8x8_q8_0(int n, float *s, size_t bs, const void *vx, const void *vy, int nr, int nc);

static uint64_t state = 88172645463325252ull;
static double uniform(void) {  // xorshift64, [0, 1)
    state ^= state << 13; state ^= state >> 7; state ^= state << 17;
    return (double)(state >> 11) * (1.0 / 9007199254740992.0);
}

enum { N = 2048, TRIALS = 2000 };

int main(void) {
    ggml_cpu_init();
    printf("Kiln kernels: %s\n", ck_uses_avx2() ? "AVX2/FMA/F16C" : "portable");
    float *x = malloc(N * sizeof(float)), *w = malloc(N * sizeof(float));
    uint8_t *ggml_act = malloc(2 * N), *kiln_act = malloc(2 * N), *wq = malloc(2 * N);
    int failed = 0;

    struct { const char *name; quant_fn ggml; void (*kiln)(const float *, void *, int64_t); int block, bytes; } acts[] = {
        {"Q8_0", quantize_row_q8_0, ck_quantize_q8_0, 32, 34},
        {"Q8_1", quantize_row_q8_1, ck_quantize_q8_1, 32, 36},
        {"Q8_K", quantize_row_q8_K, ck_quantize_q8_K, 256, 292},
    };
    for (int a = 0; a < 3; a++) {
        int diff = 0;
        for (int t = 0; t < 300; t++) {
            const double scale = pow(10, uniform() * 6 - 3);
            for (int i = 0; i < N; i++) x[i] = (float)((uniform() * 2 - 1) * scale * (uniform() < 0.05 ? 10 : 1));
            if (t % 7 == 0) memset(x, 0, 256 * sizeof(float));  // all-zero blocks
            // ggml's quantize_row_q8_K_ref leaves the bsums of an all-zero block unwritten (its d = 0 makes them
            // irrelevant); Kiln writes zeros, so both buffers start zeroed.
            memset(ggml_act, 0, 2 * N); memset(kiln_act, 0, 2 * N);
            acts[a].ggml(x, ggml_act, N);
            acts[a].kiln(x, kiln_act, N);
            diff += memcmp(ggml_act, kiln_act, (size_t)(N / acts[a].block) * acts[a].bytes) != 0;
        }
        printf("activations %s: %d of 300 rows differ from ggml-cpu's quantize_row\n", acts[a].name, diff);
        failed += diff;
    }

    // exact: the kernel follows ggml's AVX2 vec_dot operation for operation, so a differing bit is a failure. The
    // Q4_K/Q5_K/Q6_K kernels sum the super-blocks in another order (printed for information only).
    struct { const char *name; int type, block, bytes, act, exact; quant_fn quant; dot_fn dot; } types[] = {
        {"Q4_0", 2, 32, 18, 0, 1, quantize_row_q4_0_ref, ggml_vec_dot_q4_0_q8_0},
        {"Q4_1", 3, 32, 20, 1, 1, quantize_row_q4_1_ref, ggml_vec_dot_q4_1_q8_1},
        {"Q5_0", 6, 32, 22, 0, 1, quantize_row_q5_0_ref, ggml_vec_dot_q5_0_q8_0},
        {"Q5_1", 7, 32, 24, 1, 1, quantize_row_q5_1_ref, ggml_vec_dot_q5_1_q8_1},
        {"Q8_0", 8, 32, 34, 0, 1, quantize_row_q8_0_ref, ggml_vec_dot_q8_0_q8_0},
        {"Q2_K", 10, 256, 84, 2, 1, quantize_row_q2_K_ref, ggml_vec_dot_q2_K_q8_K},
        {"Q3_K", 11, 256, 110, 2, 1, quantize_row_q3_K_ref, ggml_vec_dot_q3_K_q8_K},
        {"Q4_K", 12, 256, 144, 2, 0, quantize_row_q4_K_ref, ggml_vec_dot_q4_K_q8_K},
        {"Q5_K", 13, 256, 176, 2, 0, quantize_row_q5_K_ref, ggml_vec_dot_q5_K_q8_K},
        {"Q6_K", 14, 256, 210, 2, 0, quantize_row_q6_K_ref, ggml_vec_dot_q6_K_q8_K},
    };
    for (size_t c = 0; c < sizeof types / sizeof types[0]; c++) {
        int diff = 0;
        double worst = 0;
        for (int t = 0; t < TRIALS; t++) {
            const int blocks = 1 + (int)(uniform() * (N / types[c].block)), n = blocks * types[c].block;
            for (int i = 0; i < n; i++) w[i] = (float)((uniform() * 2 - 1) * 0.05 + (uniform() < 0.5 ? 0.01 : -0.01));
            for (int i = 0; i < n; i++) x[i] = (float)((uniform() * 2 - 1) * (uniform() < 0.1 ? 20 : 1));
            types[c].quant(w, wq, n);
            acts[types[c].act].ggml(x, ggml_act, n);
            float theirs, ours;
            types[c].dot(n, &theirs, 0, wq, 0, ggml_act, 0, 1);
            ck_matmul(types[c].type, wq, (size_t)blocks * types[c].bytes, 1, 0, 1, n, ggml_act,
                      (size_t)(n / acts[types[c].act].block) * acts[types[c].act].bytes, 1, &ours, 1);
            if (memcmp(&theirs, &ours, sizeof(float)) != 0) {
                diff++;
                const double rel = fabs((double)theirs - ours) / fmax(fabs(theirs), 1e-30);
                worst = rel > worst ? rel : worst;
            }
        }
        printf("%s: %d of %d dot products differ from ggml_vec_dot (max relative difference %.2g)%s\n", types[c].name, diff,
               TRIALS, worst, types[c].exact ? "" : " [summation order not ggml's: not checked]");
        if (types[c].exact) failed += diff;
    }

    // Batched products: R weight rows × B activation rows in one ck_matmul call, its rows split unevenly as threads
    // split them, so the AVX2 register tiles (2 rows × 3 activation rows, Q5_0/Q8_0 eight rows at once (mm_lanes8) in
    // the range of 15 rows; K-quants 1 row × 4) and their edges are all exercised. Every output must equal ggml_vec_dot of its row and activation row; for Q4_K/Q5_K/Q6_K, whose
    // summation order is not vec_dot's, Kiln's own one-row product instead (a self-agreement check: the one-row path
    // is checked against llama.cpp by the engine's golden tests). R is not a multiple of 8, so Q4_0 takes its vec_dot
    // path as llama.cpp does for such a tensor (the repacked path of tensors with a multiple of 8 rows is checked
    // against ggml's own repacked gemv below, and by EngineTinyModelTests' bit-exact logits). B < 8 keeps Q2_K/Q3_K on their vec_dot path.
    enum { R = 21, B = 7, BN = 1024 };
    float *bw = malloc(sizeof(float) * R * BN), *bx = malloc(sizeof(float) * B * BN), *bout = malloc(sizeof(float) * R * B);
    uint8_t *bwq = malloc((size_t)R * BN * 2), *bact = malloc((size_t)B * BN * 2);  // 2 bytes per value covers every type
    for (size_t c = 0; c < sizeof types / sizeof types[0]; c++) {
        const int nb = BN / types[c].block, wrow = nb * types[c].bytes, arow = nb * acts[types[c].act].bytes;
        int diff = 0, total = 0;
        for (int t = 0; t < 40; t++) {
            for (int i = 0; i < R * BN; i++) bw[i] = (float)((uniform() * 2 - 1) * 0.05);
            for (int i = 0; i < B * BN; i++) bx[i] = (float)((uniform() * 2 - 1) * (uniform() < 0.1 ? 20 : 1));
            for (int r = 0; r < R; r++) types[c].quant(bw + r * BN, bwq + (size_t)r * wrow, BN);
            for (int b = 0; b < B; b++) acts[types[c].act].ggml(bx + b * BN, bact + (size_t)b * arow, BN);
            const int cuts[] = {0, 5, 6, 21};
            for (int k = 0; k < 3; k++)
                ck_matmul(types[c].type, bwq, (size_t)wrow, R, cuts[k], cuts[k + 1], BN, bact, (size_t)arow, B, bout, R);
            for (int r = 0; r < R; r++)
                for (int b = 0; b < B; b++) {
                    float theirs;
                    if (types[c].exact) types[c].dot(BN, &theirs, 0, bwq + (size_t)r * wrow, 0, bact + (size_t)b * arow, 0, 1);
                    else ck_matmul(types[c].type, bwq + (size_t)r * wrow, (size_t)wrow, 1, 0, 1, BN, bact + (size_t)b * arow,
                                   (size_t)arow, 1, &theirs, 1);
                    diff += memcmp(&theirs, &bout[b * R + r], sizeof(float)) != 0;
                    total++;
                }
        }
        printf("%s batched (%d rows x %d activation rows): %d of %d outputs differ from %s\n", types[c].name, R, B,
               diff, total, types[c].exact ? "ggml_vec_dot" : "Kiln's one-row product");
        failed += diff;
    }
    // Q4_0 tensors of a multiple of 8 rows, which llama.cpp repacks to block_q4_0x8 and multiplies with
    // ggml_gemv_q4_0_8x8_q8_0 / ggml_gemm_q4_0_8x8_q8_0, and Kiln repacks to its own layout (ck_repack_q4_0x8) for
    // ck_matmul(CK_Q4_0_X8) — and the stored rows too, whose eight-row groups take the same tile: 16 rows × 7
    // activation rows, split unevenly (cuts inside an 8-row group take the
    // row-by-row edge path), every output against ggml's gemv of that activation row on ggml's own layout (built here
    // as repack.cpp's make_block_q4_0x8 lays it out: the eight rows' d, then 8-byte pieces of their qs taken row after
    // row, each byte xor 0x88). The unpacked-back rows must equal the stored ones byte for byte.
    {
        enum { R8 = 16 };
        const int nb = BN / 32, wrow = nb * 18, arow = nb * 34;
        uint8_t *ours8 = malloc((size_t)R8 * wrow), *theirs8 = malloc((size_t)R8 * wrow), *back = malloc((size_t)wrow);
        int diff = 0, stored_diff = 0, total = 0, unpack_diff = 0;
        for (int t = 0; t < 40; t++) {
            for (int i = 0; i < R8 * BN; i++) bw[i] = (float)((uniform() * 2 - 1) * 0.05);
            for (int i = 0; i < B * BN; i++) bx[i] = (float)((uniform() * 2 - 1) * (uniform() < 0.1 ? 20 : 1));
            uint8_t *q = malloc((size_t)R8 * wrow);
            for (int r = 0; r < R8; r++) quantize_row_q4_0_ref(bw + r * BN, q + (size_t)r * wrow, BN);
            for (int b = 0; b < B; b++) quantize_row_q8_0(bx + b * BN, bact + (size_t)b * arow, BN);
            ck_repack_q4_0x8(q, (size_t)wrow, R8, BN, ours8);
            for (int r = 0; r < R8; r++) {
                ck_unrepack_q4_0x8_row(ours8, BN, r, back);
                unpack_diff += memcmp(back, q + (size_t)r * wrow, (size_t)wrow) != 0;
            }
            for (int g = 0; g < R8 / 8; g++)
                for (int i = 0; i < nb; i++) {
                    uint8_t *out = theirs8 + ((size_t)g * nb + i) * 144;
                    for (int k = 0; k < 8; k++) memcpy(out + 2 * k, q + (size_t)(8 * g + k) * wrow + 18 * i, 2);
                    for (int j = 0; j < 16; j++)
                        for (int e = 0; e < 8; e++)
                            out[16 + 8 * j + e] = q[(size_t)(8 * g + j % 8) * wrow + 18 * i + 2 + (j / 8) * 8 + e] ^ 0x88;
                }
            const int cuts[] = {0, 5, 8, 16};
            float *stored = malloc(sizeof(float) * R8 * B);
            for (int k = 0; k < 3; k++) {
                ck_matmul(CK_Q4_0_X8, ours8, (size_t)wrow, R8, cuts[k], cuts[k + 1], BN, bact, (size_t)arow, B, bout, R8);
                ck_matmul(2, q, (size_t)wrow, R8, cuts[k], cuts[k + 1], BN, bact, (size_t)arow, B, stored, R8);
            }
            for (int b = 0; b < B; b++) {
                float theirs[R8];
                ggml_gemv_q4_0_8x8_q8_0(BN, theirs, R8, theirs8, bact + (size_t)b * arow, 1, R8);
                for (int r = 0; r < R8; r++) {
                    diff += memcmp(&theirs[r], &bout[b * R8 + r], sizeof(float)) != 0;
                    stored_diff += memcmp(&theirs[r], &stored[b * R8 + r], sizeof(float)) != 0;
                    total++;
                }
            }
            free(stored);
            free(q);
        }
        printf("Q4_0, %d rows x %d activation rows, against ggml_gemv_q4_0_8x8_q8_0: interleaved %d of %d outputs differ, "
               "stored rows %d; %d rows differ after unpacking\n", R8, B, diff, total, stored_diff, unpack_diff);
        failed += diff + stored_diff + unpack_diff;
        free(ours8); free(theirs8); free(back);
    }
    // Q4_K and Q6_K repacked to Kiln's interleaved layouts (ck_repack_q4_Kx8, ck_repack_q6_Kx8) against Kiln's one-row
    // product on the stored rows (a self-agreement check: Kiln's K-quant summation order is its own, and the one-row
    // path is checked against llama.cpp by the engine's golden tests), 16 rows × 7 activation rows split unevenly;
    // rows must unpack back byte for byte.
    for (int kt = 0; kt < 2; kt++) {
        enum { R8 = 16 };
        const int type = kt == 0 ? 12 : 14, bb = kt == 0 ? 144 : 210, gb = kt == 0 ? CK_Q4_K_X8_BYTES : CK_Q6_K_X8_BYTES;
        const int wrow = BN / 256 * bb, arow = BN / 256 * 292;
        uint8_t *q = malloc((size_t)R8 * wrow), *packed = malloc((size_t)R8 / 8 * (BN / 256) * gb), *back = malloc((size_t)wrow);
        int diff = 0, total = 0, unpack_diff = 0;
        for (int t = 0; t < 40; t++) {
            for (int i = 0; i < R8 * BN; i++) bw[i] = (float)((uniform() * 2 - 1) * 0.05);
            for (int i = 0; i < B * BN; i++) bx[i] = (float)((uniform() * 2 - 1) * (uniform() < 0.1 ? 20 : 1));
            for (int r = 0; r < R8; r++) (kt == 0 ? quantize_row_q4_K_ref : quantize_row_q6_K_ref)(bw + r * BN, q + (size_t)r * wrow, BN);
            for (int b = 0; b < B; b++) quantize_row_q8_K(bx + b * BN, bact + (size_t)b * arow, BN);
            (kt == 0 ? ck_repack_q4_Kx8 : ck_repack_q6_Kx8)(q, (size_t)wrow, R8, BN, packed);
            for (int r = 0; r < R8; r++) {
                (kt == 0 ? ck_unrepack_q4_Kx8_row : ck_unrepack_q6_Kx8_row)(packed, BN, r, back);
                unpack_diff += memcmp(back, q + (size_t)r * wrow, (size_t)wrow) != 0;
            }
            const int cuts[] = {0, 5, 8, 16};
            for (int k = 0; k < 3; k++)
                ck_matmul(kt == 0 ? CK_Q4_K_X8 : CK_Q6_K_X8, packed, (size_t)wrow, R8, cuts[k], cuts[k + 1], BN, bact, (size_t)arow, B, bout, R8);
            for (int r = 0; r < R8; r++)
                for (int b = 0; b < B; b++) {
                    float one;
                    ck_matmul(type, q + (size_t)r * wrow, (size_t)wrow, 1, 0, 1, BN, bact + (size_t)b * arow, (size_t)arow, 1, &one, 1);
                    diff += memcmp(&one, &bout[b * R8 + r], sizeof(float)) != 0;
                    total++;
                }
        }
        printf("%s repacked (%d rows x %d activation rows): %d of %d outputs differ from Kiln's one-row product; "
               "%d rows differ after unpacking\n", kt == 0 ? "Q4_K" : "Q6_K", R8, B, diff, total, unpack_diff);
        failed += diff + unpack_diff;
        free(q); free(packed); free(back);
    }
    // F32 / F16 / BF16 weights in register tiles (sgemm_nt) and, for 1 or 2 activation rows, F16/BF16 in gemv_half:
    // every output against the one-row product (whose dot_f32 order the engine's F16 goldens check against
    // llama.cpp; a self-agreement check of the tiling).
    {
        const int ftypes[] = {0, 1, 30};
        const char *fnames[] = {"F32", "F16", "BF16"};
        float *fw = malloc(sizeof(float) * R * BN), *fx = malloc(sizeof(float) * B * BN);
        uint16_t *hw = malloc(2 * (size_t)R * BN), *hx = malloc(2 * (size_t)B * BN);
        for (int c = 0; c < 3; c++) {
            int diff = 0;
            for (int i = 0; i < R * BN; i++) fw[i] = (float)((uniform() * 2 - 1) * 0.05);
            for (int i = 0; i < B * BN; i++) fx[i] = (float)((uniform() * 2 - 1) * 3);
            const void *wp = fw, *xp = fx;
            size_t es = 4;
            if (ftypes[c] == 1) { ck_f32_to_f16(fw, hw, R * BN); ck_f32_to_f16(fx, hx, B * BN); wp = hw; xp = hx; es = 2; }
            if (ftypes[c] == 30) { ck_f32_to_bf16(fw, hw, R * BN); ck_f32_to_bf16(fx, hx, B * BN); wp = hw; xp = hx; es = 2; }
            // B activation rows (register tiles), then 1 and 2 (decode's gemv, weights widened in registers).
            const int batches[] = {B, 1, 2};
            int total = 0;
            for (int bi = 0; bi < 3; bi++) {
                const int nb = batches[bi], cuts[] = {0, 5, 6, 21};
                for (int k = 0; k < 3; k++)
                    ck_matmul(ftypes[c], wp, BN * es, R, cuts[k], cuts[k + 1], BN, xp, BN * es, nb, bout, R);
                for (int r = 0; r < R; r++)
                    for (int b = 0; b < nb; b++) {
                        float one;
                        ck_matmul(ftypes[c], (const uint8_t *)wp + (size_t)r * BN * es, BN * es, 1, 0, 1, BN,
                                  (const uint8_t *)xp + (size_t)b * BN * es, BN * es, 1, &one, 1);
                        diff += memcmp(&one, &bout[b * R + r], sizeof(float)) != 0;
                        total++;
                    }
            }
            printf("%s batched (%d rows x %d, 1 and 2 activation rows): %d of %d outputs differ from Kiln's one-row product\n",
                   fnames[c], R, B, diff, total);
            failed += diff;
        }
    }
    return failed ? 1 : 0;
}
