import CKernels
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// The element-wise operations of llama.cpp's CPU backend, reproduced in float semantics and operation order. The
/// decoder's shared building blocks (RMSNorm, RoPE, attention, GEGLU, soft-capping) are in `Blocks/`, one file each,
/// used by every model family (`Families/`) and by both the engine and the streamed float path.
public enum GemmaNumerics {
    /// ggml `norm` followed by `mul` with `weight` and `add` of `bias` (LayerNorm): the mean as a double sum of the
    /// row, the variance as the mean of squared deviations, `scale = 1/sqrtf(variance + eps)`,
    /// `y = ((x − mean) · scale) · w + b`. Works on `rows` consecutive rows of `dim`.
    public static func layerNorm(_ x: UnsafePointer<Float>, rows: Int, dim: Int, weight: UnsafePointer<Float>,
                                 bias: UnsafePointer<Float>, eps: Float, into y: UnsafeMutablePointer<Float>) {
        for r in 0 ..< rows {
            let xr = x + r * dim, yr = y + r * dim
            var sum: Double = 0
            for i in 0 ..< dim { sum += Double(xr[i]) }
            let mean = Float(sum / Double(dim))
            var sum2: Double = 0
            for i in 0 ..< dim {
                let v = xr[i] - mean
                yr[i] = v
                sum2 += Double(v * v)
            }
            let scale = 1 / (Float(sum2 / Double(dim)) + eps).squareRoot()
            for i in 0 ..< dim { yr[i] = (yr[i] * scale) * weight[i] + bias[i] }
        }
    }

    /// Rounds `count` floats to f16 and back, in place.
    public static func roundToHalf(_ x: UnsafeMutablePointer<Float>, count: Int) { ck_round_f16(x, Int64(count)) }
}

/// A pointer that may cross into `concurrentPerform` closures (each task writes a disjoint part).
struct SendablePointer<T>: @unchecked Sendable {
    let p: UnsafeMutablePointer<T>
    init(_ p: UnsafeMutablePointer<T>) { self.p = p }
}

/// A raw pointer that may cross into parallel closures (each task writes a disjoint part).
struct SendableRawPointer: @unchecked Sendable {
    let p: UnsafeMutableRawPointer
    init(_ p: UnsafeMutableRawPointer) { self.p = p }
}

/// Pointers to the query, key, value and output rows of one attention call, for its parallel jobs (each job writes
/// a disjoint part of `out`).
struct AttentionRows: @unchecked Sendable {
    let q: UnsafePointer<Float>
    let k: UnsafePointer<Float>
    let v: UnsafePointer<Float>
    let out: UnsafeMutablePointer<Float>
}

/// Runs attention jobs `0..<jobs` over `threads`, each with the rows of `q`, `k`, `v`, `out` and a scratch buffer of
/// `scores` floats owned by its thread.
func parallelAttention(q: [Float], k: [Float], v: [Float], into out: inout [Float], jobs: Int, threads: Int, scores: Int,
                       _ job: @Sendable (Int, AttentionRows, UnsafeMutablePointer<Float>) -> Void) {
    q.withUnsafeBufferPointer { qb in k.withUnsafeBufferPointer { kb in v.withUnsafeBufferPointer { vb in
        out.withUnsafeMutableBufferPointer { ob in
            let rows = AttentionRows(q: qb.baseAddress!, k: kb.baseAddress!, v: vb.baseAddress!, out: ob.baseAddress!)
            parallelRanges(jobs, threads: threads) { range in
                let scratch = UnsafeMutablePointer<Float>.allocate(capacity: max(scores, 1))
                defer { scratch.deallocate() }
                for j in range { job(j, rows, scratch) }
            }
        }
    } } }
}

/// Splits `0..<n` into `threads` contiguous ranges and runs them concurrently (inline when one thread): on the
/// engine's persistent workers (`ck_pool_run`), or through `concurrentPerform` when those are busy with another
/// caller. The ranges are the same either way.
func parallelRanges(_ n: Int, threads: Int, align: Int = 1, _ body: @Sendable (Range<Int>) -> Void) {
    let t = max(1, min(threads, n / max(align, 1)))
    if t <= 1 { body(0 ..< n); return }
    let units = (n + align - 1) / align
    let part = { @Sendable (i: Int) in
        let lo = min(n, units * i / t * align), hi = min(n, units * (i + 1) / t * align)
        if lo < hi { body(lo ..< hi) }
    }
    if !WorkerPool.run(t, part) { DispatchQueue.concurrentPerform(iterations: t, execute: part) }
}

/// Swift's side of `ck_pool_run`: passes a closure through the C job's context pointer.
enum WorkerPool {
    /// `body(i)` for every i < n on the pool's threads; false (nothing run) when the pool is busy.
    static func run(_ n: Int, _ body: (Int) -> Void) -> Bool {
        withoutActuallyEscaping(body) { body in
            var job = body
            return withUnsafeMutablePointer(to: &job) { p in
                ck_pool_run(Int32(n), { ctx, i in ctx!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(Int(i)) }, p) != 0
            }
        }
    }
}
