import CKernels
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// The element-wise operations of llama.cpp's CPU backend, reproduced in float semantics and operation order.
public enum GemmaNumerics {
    /// ggml `rms_norm` followed by `mul` with `weight`: sum of `x*x` (float products) in double, `mean` as float,
    /// `scale = 1/sqrtf(mean + eps)`, `y = (x * scale) * w`. Works on `rows` consecutive rows of `dim`.
    public static func rmsNorm(_ x: UnsafePointer<Float>, rows: Int, dim: Int, weight: UnsafePointer<Float>, eps: Float,
                               into y: UnsafeMutablePointer<Float>) {
        for r in 0 ..< rows {
            let xr = x + r * dim, yr = y + r * dim
            var sum: Double = 0
            for i in 0 ..< dim { sum += Double(xr[i] * xr[i]) }
            let mean = Float(sum / Double(dim))
            let scale = 1 / (mean + eps).squareRoot()
            for i in 0 ..< dim { yr[i] = (xr[i] * scale) * weight[i] }
        }
    }

    /// NEOX RoPE of `heads` heads of `dim` at `position`, in place: `theta_scale = powf(base, -2/dim)`,
    /// theta accumulated in float (`theta *= theta_scale`), angle `theta * freqScale`, pairs `(i, i + dim/2)`.
    public static func ropeNeox(_ x: UnsafeMutablePointer<Float>, heads: Int, dim: Int, position: Int, base: Float, freqScale: Float) {
        let half = dim / 2
        withUnsafeTemporaryAllocation(of: Float.self, capacity: dim) { cache in
            let thetaScale = powf(base, -2.0 / Float(dim))
            var theta = Float(position)
            for i in 0 ..< half {
                let t = freqScale * theta
                cache[2 * i] = cosf(t)
                cache[2 * i + 1] = sinf(t)
                theta *= thetaScale
            }
            for h in 0 ..< heads {
                let v = x + h * dim
                for i in 0 ..< half {
                    let c = cache[2 * i], s = cache[2 * i + 1]
                    let x0 = v[i], x1 = v[i + half]
                    v[i] = x0 * c - x1 * s
                    v[i + half] = x0 * s + x1 * c
                }
            }
        }
    }

    /// tanh-GELU in float: `0.5x(1 + tanh(√(2/π)·x·(1 + 0.044715x²)))` (ggml `ggml_gelu_f32`).
    @inline(__always)
    public static func gelu(_ x: Float) -> Float {
        0.5 * x * (1 + tanhf(0.79788456080286535587989211986876 * x * (1 + 0.044715 * x * x)))
    }

    /// ggml's `ggml_table_gelu_f16`: gelu of every f16 value, stored rounded to f16 (here already widened to float).
    static let geluTable: [Float] = {
        var h = [UInt16](0 ... 0xFFFF)
        var f = [Float](repeating: 0, count: 65536)
        ck_f16_to_f32(&h, &f, 65536)
        for i in 0 ..< 65536 { f[i] = gelu(f[i]) }
        ck_round_f16(&f, 65536)
        return f
    }()

    /// `out = gelu(gate) * up` as ggml's `geglu` (table form when `table`, exact tanh otherwise).
    public static func geglu(_ gate: UnsafePointer<Float>, _ up: UnsafePointer<Float>, count: Int, table: Bool,
                             into out: UnsafeMutablePointer<Float>) {
        gelu(gate, count: count, table: table, into: out)
        for i in 0 ..< count { out[i] *= up[i] }
    }

    /// `out = gelu(x)` as ggml-cpu's `ggml_vec_gelu_f32` (with `table`, its `GGML_GELU_FP16` form: 0 at or below −10,
    /// x at or above 10, else the f16 table at f16(x); exact tanh otherwise). `out` may be `x`.
    public static func gelu(_ x: UnsafePointer<Float>, count: Int, table: Bool, into out: UnsafeMutablePointer<Float>) {
        if !table {
            for i in 0 ..< count { out[i] = gelu(x[i]) }
            return
        }
        geluTable.withUnsafeBufferPointer { t in
            withUnsafeTemporaryAllocation(of: UInt16.self, capacity: count) { h in
                ck_f32_to_f16(x, h.baseAddress!, Int64(count))
                for i in 0 ..< count {
                    let v = x[i]
                    out[i] = v <= -10 ? 0 : (v >= 10 ? v : t[Int(h[i])])
                }
            }
        }
    }

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

    /// One query head attending to key/value rows `span` (causal and window masks already applied by the range):
    /// scores `q·k` (q carries the attention scale), softmax with the max subtracted and the sum in double, then
    /// `Σ p·v` accumulated into `out` (zeroed by the caller). Row `j`'s key is `keys + j·stride·headDim`, its value
    /// `values + j·stride·valueDim`. `simd` uses the vector dot/axpy kernels; `roundProbabilities` rounds the
    /// probabilities to f16 as llama.cpp's F16 KV path does; `scale` multiplies each score (for a q that does not
    /// carry it). `scores` has room for `span.upperBound + 1` floats.
    public static func attend(query q: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
                              stride: Int, rows span: ClosedRange<Int>, headDim hd: Int, valueDim vd: Int,
                              scores: UnsafeMutablePointer<Float>, simd: Bool, roundProbabilities: Bool, scale: Float = 1,
                              into o: UnsafeMutablePointer<Float>) {
        var mx = -Float.infinity
        for j in span {
            let kv = keys + j * stride * hd
            var s: Float = 0
            if simd { s = ck_dot_f32(q, kv, Int64(hd)) } else { for i in 0 ..< hd { s += q[i] * kv[i] } }
            if scale != 1 { s *= scale }
            scores[j] = s
            mx = max(mx, s)
        }
        var sum: Double = 0
        for j in span {
            let e = expf(scores[j] - mx)
            scores[j] = e
            sum += Double(e)
        }
        let inv = Float(1 / sum)
        for j in span { scores[j] *= inv }
        if roundProbabilities { ck_round_f16(scores + span.lowerBound, Int64(span.count)) }
        for j in span {
            let vv = values + j * stride * vd
            if simd { ck_axpy_f32(o, vv, scores[j], Int64(vd)) } else { for i in 0 ..< vd { o[i] += scores[j] * vv[i] } }
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

/// Splits `0..<n` into `threads` contiguous ranges and runs them concurrently (inline when one thread).
func parallelRanges(_ n: Int, threads: Int, align: Int = 1, _ body: @Sendable (Range<Int>) -> Void) {
    let t = max(1, min(threads, n / max(align, 1)))
    if t <= 1 { body(0 ..< n); return }
    let units = (n + align - 1) / align
    DispatchQueue.concurrentPerform(iterations: t) { i in
        let lo = min(n, units * i / t * align), hi = min(n, units * (i + 1) / t * align)
        if lo < hi { body(lo ..< hi) }
    }
}
