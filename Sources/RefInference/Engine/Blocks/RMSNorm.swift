
/// RMSNorm, the norm every Gemma block uses (pre/post attention and FFN norms, q/k norms, the output norm).
extension GemmaNumerics {
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
}
