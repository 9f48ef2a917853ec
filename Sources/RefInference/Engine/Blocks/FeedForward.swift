import CKernels
#if canImport(Glibc)
import Glibc
#endif

/// The gated tanh-GELU (GEGLU) feed-forward activation of every Gemma.
extension GemmaNumerics {
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
}
