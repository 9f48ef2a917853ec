import CKernels
#if canImport(Glibc)
import Glibc
#endif

/// Scaled dot-product attention of one query head over a contiguous span of cached keys.
extension GemmaNumerics {
    /// One query head attending to key/value rows `span` (causal and window masks already applied by the range):
    /// scores `q·k` (q carries the attention scale), softmax with the max subtracted and the sum in double, then
    /// `Σ p·v` accumulated into `out` (zeroed by the caller). Row `j`'s key is `keys + j·stride·headDim`, its value
    /// `values + j·stride·valueDim`. `simd` uses the vector dot/axpy kernels; `roundProbabilities` rounds the
    /// probabilities to f16 as llama.cpp's F16 KV path does; `scale` multiplies each score (for a q that does not
    /// carry it); `softCap` > 0 bends each (scaled) score to `tanh(s / cap) · cap` before the softmax, as Gemma 2's
    /// `attn_logit_softcapping` (llama.cpp `build_attn_mha`: `ggml_scale(kq, 1/cap)`, `ggml_tanh`, `ggml_scale(cap)`
    /// in float32 on the f32 `kq`, before `soft_max_ext`; see `softCap(_:cap:)`). `scores` has room for
    /// `span.upperBound + 1` floats.
    public static func attend(query q: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
                              stride: Int, rows span: ClosedRange<Int>, headDim hd: Int, valueDim vd: Int,
                              scores: UnsafeMutablePointer<Float>, simd: Bool, roundProbabilities: Bool, scale: Float = 1,
                              softCap: Float = 0, into o: UnsafeMutablePointer<Float>) {
        attendRows(query: q, keys: keys, values: values, stride: stride, rows: span, headDim: hd, valueDim: vd, scores: scores,
                   simd: simd, roundProbabilities: roundProbabilities, scale: scale, softCap: softCap, into: o)
    }

    /// `attend` over key/value rows held as IEEE halves (bit patterns; GemmaEngine's F16 KV cache, as llama.cpp's):
    /// each half widens exactly, and the SIMD kernels (`ck_dot_f32_f16`, `ck_axpy_f32_f16`) keep the f32 kernels'
    /// lanes and order, so the result has the bits `attend` gives on the same values held as floats.
    public static func attend(query q: UnsafePointer<Float>, halfKeys keys: UnsafePointer<UInt16>, halfValues values: UnsafePointer<UInt16>,
                              stride: Int, rows span: ClosedRange<Int>, headDim hd: Int, valueDim vd: Int,
                              scores: UnsafeMutablePointer<Float>, simd: Bool, roundProbabilities: Bool, scale: Float = 1,
                              softCap: Float = 0, into o: UnsafeMutablePointer<Float>) {
        attendRows(query: q, keys: keys, values: values, stride: stride, rows: span, headDim: hd, valueDim: vd, scores: scores,
                   simd: simd, roundProbabilities: roundProbabilities, scale: scale, softCap: softCap, into: o)
    }

    /// Raw scores `q·k` at `scores[span]` → probabilities, in place: each score times `scale` (when not 1), bent by
    /// the soft-cap (when > 0), then softmax with the max subtracted, `expf`, the sum in double and one float
    /// reciprocal, and (with `roundProbabilities`) f16 rounding. Shared by `attend` and the engine's grouped path.
    static func softmax(_ scores: UnsafeMutablePointer<Float>, _ span: ClosedRange<Int>, scale: Float, softCap: Float,
                        roundProbabilities: Bool) {
        var mx = -Float.infinity
        let inverseCap = softCap > 0 ? 1 / softCap : 0
        for j in span {
            var s = scores[j]
            if scale != 1 { s *= scale }
            if softCap > 0 { s = tanhf(s * inverseCap) * softCap }
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
    }

    /// The body of both `attend`s, for rows of either element type.
    static func attendRows<E: AttentionRowElement>(query q: UnsafePointer<Float>, keys: UnsafePointer<E>, values: UnsafePointer<E>,
                                                   stride: Int, rows span: ClosedRange<Int>, headDim hd: Int, valueDim vd: Int,
                                                   scores: UnsafeMutablePointer<Float>, simd: Bool, roundProbabilities: Bool,
                                                   scale: Float, softCap: Float, into o: UnsafeMutablePointer<Float>) {
        for j in span {
            let kv = keys + j * stride * hd
            var s: Float = 0
            if simd { s = E.dot(q, kv, Int64(hd)) } else { for i in 0 ..< hd { s += q[i] * kv[i].widened } }
            scores[j] = s
        }
        softmax(scores, span, scale: scale, softCap: softCap, roundProbabilities: roundProbabilities)
        for j in span {
            let vv = values + j * stride * vd
            if simd { E.axpy(o, vv, scores[j], Int64(vd)) } else { for i in 0 ..< vd { o[i] += scores[j] * vv[i].widened } }
        }
    }
}

/// An element type of attention's key/value rows: its exact value as a float and its SIMD dot/axpy kernels.
protocol AttentionRowElement: Sendable {
    var widened: Float { get }
    static func dot(_ q: UnsafePointer<Float>, _ k: UnsafePointer<Self>, _ n: Int64) -> Float
    static func axpy(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Self>, _ a: Float, _ n: Int64)
}

extension Float: AttentionRowElement {
    var widened: Float { self }
    static func dot(_ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>, _ n: Int64) -> Float { ck_dot_f32(q, k, n) }
    static func axpy(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ a: Float, _ n: Int64) { ck_axpy_f32(y, x, a, n) }
}

/// An IEEE half's bit pattern.
extension UInt16: AttentionRowElement {
    var widened: Float { Float(Float16(bitPattern: self)) }
    static func dot(_ q: UnsafePointer<Float>, _ k: UnsafePointer<UInt16>, _ n: Int64) -> Float { ck_dot_f32_f16(q, k, n) }
    static func axpy(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<UInt16>, _ a: Float, _ n: Int64) { ck_axpy_f32_f16(y, x, a, n) }
}
