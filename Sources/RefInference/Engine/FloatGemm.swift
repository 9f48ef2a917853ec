import CKernels
import COpenBLAS
import Dispatch

/// Batched float32 matrix products `y = x · wᵀ` for the float path, parallel over fixed blocks of weight rows.
///
/// Determinism: the weight rows are cut into blocks whose size depends only on the shape and the kernel, never on the
/// thread count, and each block is one single-threaded kernel call (OpenBLAS's own threading is switched off);
/// threads only decide who computes which block. So the output bits do not depend on `threads`.
public enum FloatGemm {
    /// Which single-threaded kernel computes a block.
    public enum Kernel: String, Sendable, CaseIterable {
        /// Kiln's AVX2/FMA register-tiled kernel (`ck_sgemm_nt`; portable C elsewhere).
        case simd
        /// OpenBLAS `cblas_sgemm` (row-major, `w` transposed), one thread per call.
        case openBLAS
    }

    /// The kernel the float path uses: OpenBLAS measured faster than `simd` on 10 of 12 Gemma 3 270M/1B shapes
    /// (up to 2× on 1B ffn_down; the two exceptions, logits blocks at 1 thread, within 5%; scripts/bench-float-path.sh).
    public static let preferred: Kernel = .openBLAS

    /// OpenBLAS runs single-threaded inside each block; set once before its first use.
    static let openBLASSingleThreaded: Bool = {
        openblas_set_num_threads(1)
        return true
    }()

    /// Weight rows per block for `k` input features: for `simd` about 256 KiB of weights (they stay in L2 while every
    /// activation tile passes over them), for OpenBLAS 128 rows (it packs and blocks internally). Even, at least 2.
    static func blockRows(k: Int, kernel: Kernel) -> Int {
        switch kernel {
        case .simd: max(2, ((256 << 10) / max(1, 4 * k)) & ~1)
        case .openBLAS: 128
        }
    }

    /// `y[i * ldy + j] = Σ_c x[i * k + c] · w[j * k + c]` for `i < m`, `j < n` (both operands row-major, `k` contiguous).
    /// `rowsPerBlock` overrides the block size (`blockRows`) for callers with many activation rows (the vision
    /// encoder's 4,096 patches), where OpenBLAS packing all of `x` once per block costs more than the load balance of
    /// small blocks gains; like the default it must depend on the shape only, never on `threads`.
    public static func multiply(x: UnsafePointer<Float>, m: Int, w: UnsafePointer<Float>, n: Int, k: Int,
                                y: UnsafeMutablePointer<Float>, ldy: Int, threads: Int, kernel: Kernel = preferred,
                                rowsPerBlock: Int? = nil) {
        guard m > 0, n > 0 else { return }
        if kernel == .openBLAS { _ = openBLASSingleThreaded }
        let rowsPerBlock = max(1, rowsPerBlock ?? blockRows(k: k, kernel: kernel))
        let blocks = (n + rowsPerBlock - 1) / rowsPerBlock
        let xs = SendablePointer(UnsafeMutablePointer(mutating: x)), ws = SendablePointer(UnsafeMutablePointer(mutating: w))
        let ys = SendablePointer(y)
        let workers = max(1, min(threads, blocks))
        let run: @Sendable (Int) -> Void = { worker in
            var b = worker
            while b < blocks {
                let r0 = b * rowsPerBlock, r1 = min(n, r0 + rowsPerBlock)
                block(x: xs.p, m: m, w: ws.p + r0 * k, n: r1 - r0, k: k, y: ys.p + r0, ldy: ldy, kernel: kernel)
                b += workers
            }
        }
        if workers == 1 { run(0) } else { DispatchQueue.concurrentPerform(iterations: workers, execute: run) }
    }

    /// `c[i·ldc + j] = alpha · Σ_l a[i·lda + l] · B(l, j)` for `i < m`, `j < n`, where `B(l, j)` is `b[j·ldb + l]` when
    /// `transposeB` (`b` holds `n` rows of `k`) and `b[l·ldb + j]` otherwise (`k` rows of `n`): one single-threaded
    /// OpenBLAS call on row-major operands that may sit inside wider rows (one head of `[tokens][heads × headDim]`).
    static func strided(a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int, transposeB: Bool,
                        m: Int, n: Int, k: Int, alpha: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        _ = openBLASSingleThreaded
        cblas_sgemm(CblasRowMajor, CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans, blasint(m), blasint(n), blasint(k),
                    alpha, a, blasint(lda), b, blasint(ldb), 0, c, blasint(ldc))
    }

    /// One block, single-threaded.
    static func block(x: UnsafePointer<Float>, m: Int, w: UnsafePointer<Float>, n: Int, k: Int,
                      y: UnsafeMutablePointer<Float>, ldy: Int, kernel: Kernel) {
        switch kernel {
        case .simd:
            ck_sgemm_nt(x, Int64(m), w, Int64(n), Int64(k), y, Int64(ldy))
        case .openBLAS:
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, blasint(m), blasint(n), blasint(k), 1, x, blasint(k),
                        w, blasint(k), 0, y, blasint(ldy))
        }
    }
}
