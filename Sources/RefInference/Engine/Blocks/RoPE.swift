#if canImport(Glibc)
import Glibc
#endif

/// Rotary position embedding in NEOX order, as llama.cpp's `rope_type` NEOX for every Gemma.
extension GemmaNumerics {
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
}
