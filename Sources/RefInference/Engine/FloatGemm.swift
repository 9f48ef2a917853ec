import CKernels
import Dispatch

/// Batched float32 matrix products `y = x · wᵀ` for the float path, parallel over fixed blocks of weight rows.
///
/// Determinism: the weight rows are cut into blocks whose size depends only on the shape, never on the thread count,
/// and each block is one single-threaded kernel call; threads only decide who computes which block. So the output
/// bits do not depend on `threads`.
enum FloatGemm {
    /// Weight rows per block (a multiple of every kernel's row tile).
    static let blockRows = 64

    /// `y[i * ldy + j] = Σ_c x[i * k + c] · w[j * k + c]` for `i < m`, `j < n` (both operands row-major, `k` contiguous).
    static func multiply(x: UnsafePointer<Float>, m: Int, w: UnsafePointer<Float>, n: Int, k: Int,
                         y: UnsafeMutablePointer<Float>, ldy: Int, threads: Int) {
        guard m > 0, n > 0 else { return }
        let blocks = (n + blockRows - 1) / blockRows
        let xs = SendablePointer(UnsafeMutablePointer(mutating: x)), ws = SendablePointer(UnsafeMutablePointer(mutating: w))
        let ys = SendablePointer(y)
        let workers = max(1, min(threads, blocks))
        let run: @Sendable (Int) -> Void = { worker in
            var b = worker
            while b < blocks {
                let r0 = b * blockRows, r1 = min(n, r0 + blockRows)
                kernel(x: xs.p, m: m, w: ws.p + r0 * k, n: r1 - r0, k: k, y: ys.p + r0, ldy: ldy)
                b += workers
            }
        }
        if workers == 1 { run(0) } else { DispatchQueue.concurrentPerform(iterations: workers, execute: run) }
    }

    /// One block, single-threaded.
    static func kernel(x: UnsafePointer<Float>, m: Int, w: UnsafePointer<Float>, n: Int, k: Int,
                       y: UnsafeMutablePointer<Float>, ldy: Int) {
        ck_matmul(0, w, k * 4, 0, Int32(n), Int32(k), x, k * 4, Int32(m), y, Int32(ldy))
    }
}
