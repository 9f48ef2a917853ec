import KilnCore

/// Lossless packing of QAT fake-quantized float32 weights (values = code × scale, one scale per 32 inputs,
/// codes in [-8, 7]) into ggml Q4_0 blocks, by recovering each block's exact scale instead of re-quantizing.
///
/// Re-quantizing with `quantize_row_q4_0_ref` is not lossless for a [-7, 7] grid (it uses d = max/-8), so for each
/// block we try the scales the grid can have (|x_max| / k for the code k of the largest element), keep those that
/// reproduce every element, and store the one whose fp16 rounding reproduces the values best.
public enum QATGrid {
    /// What packing a tensor found: how exact it was and how much fp16 scale rounding costs.
    public struct Stats: Sendable, Equatable {
        public var blocks = 0
        public var zeroBlocks = 0
        /// Blocks whose fp32 values were reproduced only within tolerance (not bit-exactly) by the recovered scale.
        public var inexactBlocks = 0
        /// Largest |dequantized − source| after storing the scale as fp16.
        public var maxAbsError: Float = 0
        /// Largest |fp16(s) − s| / s over blocks.
        public var maxScaleRelError: Float = 0

        public init() {}

        public mutating func merge(_ o: Stats) {
            blocks += o.blocks
            zeroBlocks += o.zeroBlocks
            inexactBlocks += o.inexactBlocks
            maxAbsError = max(maxAbsError, o.maxAbsError)
            maxScaleRelError = max(maxScaleRelError, o.maxScaleRelError)
        }
    }

    /// A block that is not on any int4 grid: its index and how far the best candidate scale missed.
    public struct Miss: Error, Sendable, Equatable {
        public var block: Int
        public var worstDeviation: Float
    }

    /// Candidate codes for the block's largest-magnitude element, in order of preference (AQT grids use ±7).
    static let candidateCodes: [Int] = [7, 8, 6, 5, 4, 3, 2, 1]

    /// Packs `src` (a multiple of 32 values; rows are contiguous runs of whole blocks) into `dst` as Q4_0.
    /// Returns the stats, or the first block that is not on a grid.
    public static func packQ4_0(_ src: UnsafeBufferPointer<Float>, into dst: UnsafeMutableRawBufferPointer) -> Result<Stats, Miss> {
        precondition(src.count % 32 == 0 && dst.count >= src.count / 32 * 18)
        var stats = Stats()
        guard let base = src.baseAddress, let out0 = dst.baseAddress else { return .success(stats) }
        return withUnsafeTemporaryAllocation(of: Float.self, capacity: 64) { scratch in
            let best = scratch.baseAddress!, trial = best + 32
            for b in 0 ..< src.count / 32 {
                let out = out0 + b * 18
                stats.blocks += 1
                switch recover(base + b * 32, best: best, trial: trial) {
                case .zero:
                    stats.zeroBlocks += 1
                    out.storeBytes(of: UInt16(0), as: UInt16.self)
                    for j in 0 ..< 16 { out.storeBytes(of: UInt8(0x88), toByteOffset: 2 + j, as: UInt8.self) }
                case .miss(let deviation):
                    return .failure(Miss(block: b, worstDeviation: deviation))
                case .found(let d16, let exact, let err, let scaleErr):
                    if !exact { stats.inexactBlocks += 1 }
                    stats.maxAbsError = max(stats.maxAbsError, err)
                    stats.maxScaleRelError = max(stats.maxScaleRelError, scaleErr)
                    out.storeBytes(of: d16.littleEndian, as: UInt16.self)
                    for j in 0 ..< 16 {
                        // code + 8 is an integer in [0, 15]: adding 1.5·2^23 puts it in the low mantissa bits.
                        let lo = UInt8(truncatingIfNeeded: (best[j] + 12_582_920).bitPattern) & 0x0F
                        let hi = UInt8(truncatingIfNeeded: (best[j + 16] + 12_582_920).bitPattern) & 0x0F
                        out.storeBytes(of: lo | hi << 4, toByteOffset: 2 + j, as: UInt8.self)
                    }
                }
            }
            return .success(stats)
        }
    }

    enum Recovery {
        case zero
        case found(d16: UInt16, exact: Bool, maxError: Float, scaleRelError: Float)
        case miss(Float)
    }

    /// Whether every element equals code × s bit-exactly with codes in [-8, 7]; writes the codes (as floats) to `q`.
    /// Branch-free so that it vectorizes; this is the hot loop of a lossless conversion.
    @inline(__always)
    static func exactlyOnGrid(_ x: UnsafePointer<Float>, _ s: Float, _ q: UnsafeMutablePointer<Float>) -> Bool {
        let inv = 1 / s
        var bad = false
        for j in 0 ..< 32 {
            // Round to nearest even without a libcall (ggml's nearest_int trick; |x/s| ≤ 8 here).
            let c = (x[j] * inv + 12_582_912) - 12_582_912
            bad = bad || c < -8 || c > 7 || c * s != x[j]
            q[j] = c
        }
        return !bad
    }

    /// The tolerant check (for grids written with other rounding): every |code × s − x| ≤ tolerance. Returns nil
    /// when on the grid, else the worst deviation relative to `s`.
    static func nearlyOnGrid(_ x: UnsafePointer<Float>, _ s: Float, tolerance: Float, _ q: UnsafeMutablePointer<Float>) -> Float? {
        var worst: Float = 0
        for j in 0 ..< 32 {
            let c = (x[j] / s + 12_582_912) - 12_582_912
            guard c >= -8, c <= 7 else { return .infinity }
            worst = max(worst, abs(c * s - x[j]))
            q[j] = c
        }
        return worst <= tolerance ? nil : worst / s
    }

    /// Largest |values| of 32 non-negative floats, compared as bit patterns (same order, and it vectorizes).
    @inline(__always)
    static func maxMagnitude(_ v: (Int) -> Float) -> Float {
        var m: UInt32 = 0
        for j in 0 ..< 32 { m = max(m, v(j).bitPattern & 0x7fff_ffff) }
        return Float(bitPattern: m)
    }

    /// Recovers one block's codes (into `best`) and fp16 scale; `trial` is scratch for 32 codes.
    static func recover(_ x: UnsafePointer<Float>, best: UnsafeMutablePointer<Float>, trial: UnsafeMutablePointer<Float>) -> Recovery {
        let amax = maxMagnitude { x[$0] }
        guard amax.isFinite else { return .miss(.infinity) }  // NaN's bit pattern is above +Inf's
        if amax == 0 { return .zero }
        var negativeExtreme = false
        for j in 0 ..< 32 { negativeExtreme = negativeExtreme || x[j] == -amax }
        var bestErr = Float.infinity
        var result: Recovery = .miss(.infinity)
        var closestMiss = Float.infinity
        for k in candidateCodes {
            if k == 8 && !negativeExtreme { continue }  // only a negative extreme can sit on code -8
            let s0 = amax / Float(k)
            guard s0.isNormal else { continue }
            // The fp32 scale that reproduces every element exactly: s0 or one of its neighbours.
            var s = s0
            var exact = false
            for step in 0 ..< 5 {
                let candidate = step == 0 ? s0 : step == 1 ? s0.nextUp : step == 2 ? s0.nextDown
                    : step == 3 ? s0.nextUp.nextUp : s0.nextDown.nextDown
                if exactlyOnGrid(x, candidate, trial) {
                    s = candidate
                    exact = true
                    break
                }
            }
            if !exact, let miss = nearlyOnGrid(x, s0, tolerance: s0 * 8 * 0x1p-20, trial) {
                closestMiss = min(closestMiss, miss)
                continue
            }
            // Cost of storing the scale in fp16.
            let d16 = HalfFloat.floatToF16(s)
            let d = HalfFloat.f16ToFloat(d16)
            guard d.isFinite, d > 0 else { continue }
            let err = maxMagnitude { trial[$0] * d - x[$0] }
            if err < bestErr {
                bestErr = err
                best.update(from: trial, count: 32)
                result = .found(d16: d16, exact: exact, maxError: err, scaleRelError: abs(d - s) / s)
            }
            // Codes with no common factor admit no other scale with the same extreme code: done.
            if k == 7 && gcd(trial) == 1 { break }
        }
        if case .miss = result { return .miss(closestMiss) }
        return result
    }

    /// Greatest common divisor of 32 integer-valued codes' magnitudes (stops as soon as it is 1).
    static func gcd(_ q: UnsafePointer<Float>) -> Int {
        var g = 0
        for j in 0 ..< 32 {
            var a = g, b = Int(abs(q[j]))
            while b != 0 { (a, b) = (b, a % b) }
            g = a
            if g == 1 { return 1 }
        }
        return g
    }
}

