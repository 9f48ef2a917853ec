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
        var codes = [Int8](repeating: 0, count: 32)
        for b in 0 ..< src.count / 32 {
            let block = UnsafeBufferPointer(rebasing: src[b * 32 ..< b * 32 + 32])
            let out = dst.baseAddress! + b * 18
            stats.blocks += 1
            switch recover(block, codes: &codes) {
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
                    let lo = UInt8(Int(codes[j]) + 8), hi = UInt8(Int(codes[j + 16]) + 8)
                    out.storeBytes(of: lo | hi << 4, toByteOffset: 2 + j, as: UInt8.self)
                }
            }
        }
        return .success(stats)
    }

    enum Recovery {
        case zero
        case found(d16: UInt16, exact: Bool, maxError: Float, scaleRelError: Float)
        case miss(Float)
    }

    /// Recovers one block's codes (into `codes`) and fp16 scale.
    static func recover(_ x: UnsafeBufferPointer<Float>, codes: inout [Int8]) -> Recovery {
        var amax: Float = 0
        var maxElement: Float = 0
        for v in x {
            guard v.isFinite else { return .miss(.infinity) }
            if abs(v) > amax { amax = abs(v); maxElement = v }
        }
        if amax == 0 { return .zero }
        var best: (d16: UInt16, exact: Bool, err: Float, scaleErr: Float, codes: [Int8])?
        var closestMiss = Float.infinity
        var trial = [Int8](repeating: 0, count: 32)
        for k in candidateCodes {
            if k == 8 && maxElement > 0 { continue }  // only a negative extreme can sit on code -8
            let s0 = amax / Float(k)
            guard s0.isNormal else { continue }
            // The fp32 scale that reproduces every element exactly, if one of s0's neighbours does.
            var exactScale: Float?
            var candidate = s0.nextDown.nextDown
            for _ in 0 ..< 5 {
                if reproduces(x, candidate, exactly: true, codes: &trial).ok { exactScale = candidate; break }
                candidate = candidate.nextUp
            }
            let s: Float
            let exact: Bool
            if let e = exactScale {
                s = e
                exact = true
            } else {
                let r = reproduces(x, s0, exactly: false, codes: &trial)
                guard r.ok else { closestMiss = min(closestMiss, r.deviation); continue }
                s = s0
                exact = false
            }
            // Cost of storing the scale in fp16.
            let d16 = HalfFloat.floatToF16(s)
            let d = HalfFloat.f16ToFloat(d16)
            guard d.isFinite, d > 0 else { continue }
            var err: Float = 0
            for j in 0 ..< 32 { err = max(err, abs(Float(trial[j]) * d - x[j])) }
            let scaleErr = abs(d - s) / s
            if best == nil || err < best!.err {
                best = (d16, exact, err, scaleErr, trial)
            }
        }
        guard let best else { return .miss(closestMiss) }
        codes = best.codes
        return .found(d16: best.d16, exact: best.exact, maxError: best.err, scaleRelError: best.scaleErr)
    }

    /// Whether every element equals code × s (bit-exactly in fp32, or within 2^-20 of the block scale × 8) with
    /// codes in [-8, 7]; fills `codes`.
    @inline(__always)
    static func reproduces(_ x: UnsafeBufferPointer<Float>, _ s: Float, exactly: Bool, codes: inout [Int8]) -> (ok: Bool, deviation: Float) {
        let tolerance = exactly ? 0 : s * 8 * 0x1p-20
        var worst: Float = 0
        for j in 0 ..< 32 {
            let q = (x[j] / s).rounded(.toNearestOrEven)
            guard q >= -8, q <= 7 else { return (false, .infinity) }
            let dev = abs(q * s - x[j])
            worst = max(worst, dev)
            if dev > tolerance { return (false, worst / s) }
            codes[j] = Int8(q)
        }
        return (true, worst)
    }
}
