#ifndef KILN_CKERNELS_H
#define KILN_CKERNELS_H
#include <stddef.h>
#include <stdint.h>

/// Kernels of Kiln's reference engine. Every function exists twice: an AVX2/FMA/F16C build and a portable one;
/// the first call checks the CPU (__builtin_cpu_supports) and picks one. Results are deterministic and do not depend
/// on how callers split rows between threads.

/// 1 when the AVX2/FMA/F16C variants are in use.
int ck_uses_avx2(void);

/// Whether ck_matmul has a kernel for this ggml type id (F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K,
/// Q4_K, Q5_K, Q6_K).
int ck_supports(int ggml_type);
/// The ggml type activations must be quantized to for this weight type, ggml-cpu's vec_dot_type (8 = Q8_0 for
/// Q4_0/Q5_0/Q8_0, 9 = Q8_1 for Q4_1/Q5_1, 15 = Q8_K for K-quants, 1 = F16, 30 = BF16, 0 = F32).
int ck_activation_type(int ggml_type);

/// Activations → Q8_0 as ggml-cpu's x86 quantize_row_q8_0 (d = f16(amax/127), id = 127/amax, round half even).
void ck_quantize_q8_0(const float *x, void *y, int64_t n);
/// Activations → Q8_1 (36-byte blocks: f16 d, f16 s, int8 qs[32]) as ggml-cpu's x86 quantize_row_q8_1: qs and d as
/// ck_quantize_q8_0, s = f16(d·Σqs) with the float d.
void ck_quantize_q8_1(const float *x, void *y, int64_t n);
/// Activations → Q8_K as quantize_row_q8_K_ref (signed max, iscale = -127/max, nearest_int, d = 1/iscale, bsums).
void ck_quantize_q8_K(const float *x, void *y, int64_t n);
void ck_f32_to_f16(const float *x, uint16_t *y, int64_t n);
void ck_f16_to_f32(const uint16_t *x, float *y, int64_t n);
/// x rounded to f16 and back, in place.
void ck_round_f16(float *x, int64_t n);
/// Activations → bfloat16 as ggml's GGML_FP32_TO_BF16 (NaN quieted, otherwise round to nearest even).
void ck_f32_to_bf16(const float *x, uint16_t *y, int64_t n);
/// x rounded to bfloat16 and back, in place.
void ck_round_bf16(float *x, int64_t n);

/// out[b*ldo + r] = dot(row r of w, activation b) for r in [r0, r1), b in [0, batch).
/// w: `nrows` rows of row_bytes in ggml type `wtype`; act: `batch` rows of act_bytes already in
/// ck_activation_type(wtype). Each type computes as llama.cpp's CPU backend does on an AVX2 machine, including its
/// choice of path: Q4_0 tensors of a multiple of 8 rows as its repacked Q4_0x8 gemm/gemv; Q2_K and Q3_K as its tiled
/// K-quant matmul for batch >= 8 and its vec_dot below, so their results depend on `batch` as llama.cpp's do.
/// Results never depend on r0/r1 (how rows are split between threads).
void ck_matmul(int wtype, const void *w, size_t row_bytes, int nrows, int r0, int r1, int ncols,
               const void *act, size_t act_bytes, int batch, float *out, int ldo);

/// ck_matmul's weight type for Q4_0 tensors repacked by ck_repack_q4_0x8 (not a ggml type id).
#define CK_Q4_0_X8 1002
/// Bytes of one repacked Q4_0 group-block (eight rows' 18-byte blocks).
#define CK_Q4_0_X8_BYTES 144
/// A Q4_0 tensor of `nrows` rows (a multiple of 8) rewritten in place-sized storage (the same byte count) with each
/// group of eight rows interleaved block by block (layout in repack_q4_0x8.c), the role of llama.cpp's block_q4_0x8
/// repacking (ggml-cpu/repack.cpp) with Kiln's own byte order: ck_matmul(CK_Q4_0_X8, ...) reads eight rows' blocks
/// from one 144-byte stretch and computes exactly what ck_matmul(Q4_0, ...) computes on the stored rows.
void ck_repack_q4_0x8(const void *src, size_t row_bytes, int nrows, int ncols, void *dst);
/// Row `r` of a ck_repack_q4_0x8 tensor back as ggml block_q4_0s (ncols / 32 · 18 bytes into `row`).
void ck_unrepack_q4_0x8_row(const void *packed, int ncols, int r, void *row);

/// ck_matmul's weight type for Q4_K tensors repacked by ck_repack_q4_Kx8 (not a ggml type id).
#define CK_Q4_K_X8 1012
/// Bytes of one repacked Q4_K group-super-block (eight rows' 144-byte super-blocks take 1152).
#define CK_Q4_K_X8_BYTES 1184
/// A Q4_K tensor of `nrows` rows (a multiple of 8) with each group of eight rows interleaved super-block by
/// super-block, scales and mins unpacked to bytes (layout in repack_q4_kx8.c; nrows / 8 · ncols / 256 ·
/// CK_Q4_K_X8_BYTES bytes), the role of llama.cpp's block_q4_Kx8 repacking with Kiln's own byte order:
/// ck_matmul(CK_Q4_K_X8, ...) computes exactly what ck_matmul(Q4_K, ...) computes on the stored rows.
void ck_repack_q4_Kx8(const void *src, size_t row_bytes, int nrows, int ncols, void *dst);
/// Row `r` of a ck_repack_q4_Kx8 tensor back as ggml block_q4_Ks (ncols / 256 · 144 bytes into `row`).
void ck_unrepack_q4_Kx8_row(const void *packed, int ncols, int r, void *row);

/// ck_matmul's weight type for Q6_K tensors repacked by ck_repack_q6_Kx8 (not a ggml type id).
#define CK_Q6_K_X8 1014
/// Bytes of one repacked Q6_K group-super-block (eight rows' 210-byte super-blocks).
#define CK_Q6_K_X8_BYTES 1680
/// A Q6_K tensor of `nrows` rows (a multiple of 8) with each group of eight rows interleaved super-block by
/// super-block (layout in repack_q6_kx8.c; the same byte count): ck_matmul(CK_Q6_K_X8, ...) computes exactly what
/// ck_matmul(Q6_K, ...) computes on the stored rows.
void ck_repack_q6_Kx8(const void *src, size_t row_bytes, int nrows, int ncols, void *dst);
/// Row `r` of a ck_repack_q6_Kx8 tensor back as ggml block_q6_Ks (ncols / 256 · 210 bytes into `row`).
void ck_unrepack_q6_Kx8_row(const void *packed, int ncols, int r, void *row);

/// Plain float dot product (8 partial sums).
float ck_dot_f32(const float *a, const float *b, int64_t n);
/// y += a * x.
void ck_axpy_f32(float *y, const float *x, float a, int64_t n);

/// y[i*ldy + j] = dot(x row i, w row j) for i < m, j < n: x is m×k, w is n×k, both row-major. Each element equals
/// ck_dot_f32 of its two rows bit for bit (4×2 register tiles on AVX2/FMA), so any split into blocks gives the same bits.
void ck_sgemm_nt(const float *x, int64_t m, const float *w, int64_t n, int64_t k, float *y, int64_t ldy);

/// Largest of the n values, NaNs skipped (-inf when n is 0 or every value is NaN).
float ck_max_f32(const float *x, int64_t n);
/// x[i] = exp(x[i] − m) in place (a softmax row's numerators), returning their sum (8 partial sums, then pairwise).
/// exp is Kiln's own polynomial (ck_exp_f32), within 2 ulp of a correctly rounded exp.
float ck_exp_sub_f32(float *x, int64_t n, float m);
/// y[i] = exp(x[i]): range reduction by ln 2 and a degree-7 polynomial, vectorized; 0 below −87.33654 (and for −inf and
/// NaN), e^88 above 88. The same bits on the AVX2 and the portable variant.
void ck_exp_f32(const float *x, float *y, int64_t n);
/// Softmax statistics of vocabulary rows for `verify` (rowstats.c). Exponentials in double precision (AVX2: a
/// polynomial within a few ulp of glibc's exp; x < -708 gives 0), sums in double; every row on its own, so results do
/// not depend on threads.
/// The first index of the largest value of l[0..<n] and that value (ck_max_f32's; NaNs skipped; index 0 when none).
void ck_row_argmax(const float *l, int64_t n, int64_t *argmax, float *max);
/// Σ exp(l_i − max) in double; with `exps` non-NULL also stores each term there (n doubles).
double ck_row_sumexp(const float *l, int64_t n, float max, double *exps);
/// For a source row s with terms source_exps = exp(s_i − max_s) and a candidate row c with maximum cmax:
/// *weighted = Σ source_exps_i·(s_i − c_i), *csum = Σ exp(c_i − cmax), *maxabs = max |s_i − c_i| (all double).
void ck_row_kl(const double *source_exps, const float *s, const float *c, int64_t n, float cmax,
               double *weighted, double *csum, double *maxabs);
/// The indices of the (up to) five largest values, largest first, ties to the lower index; returns how many.
int ck_row_top5(const float *x, int64_t n, int64_t *best);

/// Attention over an f16 KV cache (kvcache.c): ck_dot_f32 and ck_axpy_f32 with the key/value row in IEEE halves,
/// widened exactly on load, in the same lanes and order, so on f16-exact values they give ck_dot_f32's and
/// ck_axpy_f32's bits (llama.cpp keeps K and V in an F16 cache; GemmaEngine stores them so).
float ck_dot_f32_f16(const float *q, const uint16_t *k, int64_t n);
/// y += a * x for an f16 row x (see ck_dot_f32_f16).
void ck_axpy_f32_f16(float *y, const uint16_t *x, float a, int64_t n);
/// The portable variants of the two above whatever the CPU, so tests on an AVX2 machine check them too.
float ck_dot_f32_f16_portable(const float *q, const uint16_t *k, int64_t n);
void ck_axpy_f32_f16_portable(float *y, const uint16_t *x, float a, int64_t n);
/// The query heads that share one KV head (rows q + h·qstride, h < g) against f16 key rows k + j·kstride, j in [lo, hi]:
/// scores[h·sstride + j] = ck_dot_f32_f16 of the two rows, bit for bit; each key row is widened once for all g heads.
void ck_scores_group_f16(const float *q, int64_t qstride, int g, const uint16_t *k, int64_t kstride, int64_t lo, int64_t hi,
                         int64_t n, float *scores, int64_t sstride);
/// out[h·ostride + i] += Σ_{j=lo..hi} p[h·pstride + j] · v[j·vstride + i] for h < g, with the bits of calling
/// ck_axpy_f32_f16 for j = lo, lo+1, …, hi; the output columns stay in registers while the value rows stream past.
void ck_pv_group_f16(const float *p, int64_t pstride, int g, const uint16_t *v, int64_t vstride, int64_t lo, int64_t hi,
                     int64_t n, float *out, int64_t ostride);
/// A job of the engine's persistent worker threads (thread_pool.c): fn(ctx, i) for every i < n, i = 0 on the calling
/// thread, the others on workers that spin between jobs and sleep when idle. Returns 1 once every index has run, or 0
/// without running any when the pool is busy with another caller's job (or n exceeds 256 or threads cannot start):
/// the caller then runs the work another way.
typedef void (*ck_pool_task)(void *ctx, int index);
int ck_pool_run(int n, ck_pool_task fn, void *ctx);
/// glibc only (a no-op elsewhere): keep up to `trim_threshold` bytes of freed memory instead of returning it to the
/// kernel, and serve allocations below `mmap_threshold` from the heap instead of fresh mappings (mallopt).
void ck_tune_malloc(size_t trim_threshold, size_t mmap_threshold);
#endif
