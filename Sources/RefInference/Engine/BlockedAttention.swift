import CKernels

/// Unmasked multi-head attention of every row over every row, as batched matrix products — the fast path of the
/// vision encoders (`Gemma3SigLIP` on `.fast`), where `GemmaNumerics.attend` one query at a time (the reference)
/// spends its time in scalar dot products and `expf`.
///
/// For each head and block of `queryBlock` queries: the scores `S = scale · Q Kᵀ` by one OpenBLAS sgemm, each row's
/// softmax numerators `exp(s − max)` and their sum by Kiln's vectorized exp (`ck_exp_sub_f32`), `O = P V` by a second
/// sgemm, then each output row divided by its sum. llama.cpp's clip graph computes the same products with ggml
/// `mul_mat` and `soft_max_ext` (or flash attention), also with a vectorized exp; only summation orders differ.
///
/// Determinism: a job is one (head, query block) pair with a fixed shape and single-threaded kernels, writing its own
/// rows of the head's output columns; threads only decide who runs which job, so the bits do not depend on `threads`.
enum BlockedAttention {
    /// Queries per job: enough that OpenBLAS's packing of K and V (once per job) is amortized over many queries
    /// (measured on SigLIP So400m, 2 threads: 512 a little faster than 256, both well ahead of 64); the block of scores is
    /// `queryBlock × tokens` floats per thread (8 MiB for 4,096 patches).
    static let queryBlock = 512

    /// `[tokens][heads × headDim]` q, k, v (head `h` at columns `h·headDim ..<`) → the same layout of outputs.
    static func run(q: [Float], k: [Float], v: [Float], tokens T: Int, heads H: Int, headDim hd: Int, scale: Float,
                    threads: Int) -> [Float] {
        let D = H * hd, B = queryBlock, blocks = (T + B - 1) / B
        var out = [Float](repeating: 0, count: T * D)
        guard T > 0 else { return out }
        parallelAttention(q: q, k: k, v: v, into: &out, jobs: H * blocks, threads: threads, scores: B * T + B) { job, a, s in
            let h = job / blocks, t0 = (job % blocks) * B, n = min(B, T - t0)
            let sums = s + B * T
            FloatGemm.strided(a: a.q + t0 * D + h * hd, lda: D, b: a.k + h * hd, ldb: D, transposeB: true,
                              m: n, n: T, k: hd, alpha: scale, c: s, ldc: T)
            for i in 0 ..< n {
                let row = s + i * T
                sums[i] = 1 / ck_exp_sub_f32(row, Int64(T), ck_max_f32(row, Int64(T)))
            }
            let o = a.out + t0 * D + h * hd
            FloatGemm.strided(a: s, lda: T, b: a.v + h * hd, ldb: D, transposeB: false, m: n, n: hd, k: T, alpha: 1, c: o, ldc: D)
            for i in 0 ..< n {
                let inv = sums[i], r = o + i * D
                for j in 0 ..< hd { r[j] *= inv }
            }
        }
        return out
    }
}
