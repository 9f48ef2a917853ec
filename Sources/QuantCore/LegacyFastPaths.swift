/// Branch-free, auto-vectorizable versions of the 32-element quantizers.
///
/// They rely on two exact identities, valid whenever the block's inverse scale is finite (then every scaled value
/// lies well inside ±2²²): for 0 ≤ v < 2²², `(v + 1.5·2²³) − 1.5·2²³` is v rounded to nearest-even and the low
/// mantissa bits of `v + 1.5·2²³` hold that integer. Truncation and round-half-away-from-zero are derived from it
/// with one exact comparison. Blocks with a non-finite inverse scale (subnormal-only blocks) use the reference code.
enum LegacyFast {
    static let magic: Float = 12_582_912

    /// Largest |x| over 32 values, via an integer max over the sign-cleared bit patterns (order-preserving for finite floats).
    @inline(__always)
    static func absMaxBits(_ x: UnsafePointer<Float>) -> UInt32 {
        let bits = UnsafeRawPointer(x).assumingMemoryBound(to: UInt32.self)
        var m: UInt32 = 0
        for j in 0 ..< 32 {
            let b = bits[j] & 0x7FFF_FFFF
            m = b > m ? b : m
        }
        return m
    }

    /// The first value whose |x| equals the block maximum (ggml's strict `amax < fabsf(v)` scan keeps the first),
    /// or +0 when the block is all (signed) zeros.
    @inline(__always)
    static func signedAbsMax(_ x: UnsafePointer<Float>) -> Float {
        let m = absMaxBits(x)
        let bits = UnsafeRawPointer(x).assumingMemoryBound(to: UInt32.self)
        // walk down so the lowest index wins; selects instead of an early exit (its mispredictions dominated)
        var result: UInt32 = 0
        var j = 31
        while j >= 0 {
            result = bits[j] & 0x7FFF_FFFF == m ? bits[j] : result
            j -= 1
        }
        return m == 0 ? 0 : Float(bitPattern: result)   // all zeros: ggml keeps its initial +0 (never a -0 element)
    }

    /// C's `(int)v` for 0 ≤ v < 2²² (floor), without a conversion instruction.
    @inline(__always)
    static func truncNonNegative(_ v: Float) -> Int32 {
        let s = v + magic
        let r = s - magic
        let q = Int32(bitPattern: s.bitPattern & 0x007F_FFFF) &- 0x0040_0000
        return q &- (r > v ? 1 : 0)
    }

    /// C's `(int)roundf(v)` for |v| < 2²².
    @inline(__always)
    static func roundAway(_ v: Float) -> Int32 {
        let a = abs(v)
        let s = a + magic
        let r = s - magic
        let q = (Int32(bitPattern: s.bitPattern & 0x007F_FFFF) &- 0x0040_0000) &+ (r - a == -0.5 ? 1 : 0)
        return v < 0 ? 0 &- q : q
    }
}

extension Q8_0 {
    static func quantizeFast(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, blocks: Int) {
        for i in 0 ..< blocks {
            let xb = x + i * 32
            let yb = y + i * blockBytes
            let amax = Float(bitPattern: LegacyFast.absMaxBits(xb))
            let d = amax / 127
            let id: Float = d != 0 ? 1 / d : 0
            guard id.isFinite else { quantize(xb, yb, blocks: 1); continue }
            F16.store(d, yb, 0)
            let qs = (yb + 2).assumingMemoryBound(to: Int8.self)
            for j in 0 ..< 32 {
                qs[j] = Int8(truncatingIfNeeded: LegacyFast.roundAway(xb[j] * id))
            }
        }
    }
}

extension Q4_0 {
    static func quantizeFast(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, blocks: Int) {
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: 32) { tmp in
            let q = tmp.baseAddress!
            for i in 0 ..< blocks {
                let xb = x + i * 32
                let yb = y + i * blockBytes
                let d = LegacyFast.signedAbsMax(xb) / -8
                let id: Float = d != 0 ? 1 / d : 0
                guard id.isFinite else { quantize(xb, yb, blocks: 1); continue }
                F16.store(d, yb, 0)
                // two simple passes (levels, then nibble packing) vectorize; one interleaved pass does not
                for j in 0 ..< 32 { q[j] = min(15, LegacyFast.truncNonNegative(xb[j] * id + 8.5)) }
                let qs = (yb + 2).assumingMemoryBound(to: UInt8.self)
                for j in 0 ..< 16 { qs[j] = UInt8(truncatingIfNeeded: q[j] | (q[j + 16] << 4)) }
            }
        }
    }
}

extension Q5_0 {
    static func quantizeFast(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, blocks: Int) {
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 32) { tmp in
            let q = tmp.baseAddress!
            for i in 0 ..< blocks {
                let xb = x + i * 32
                let yb = y + i * blockBytes
                let d = LegacyFast.signedAbsMax(xb) / -16
                let id: Float = d != 0 ? 1 / d : 0
                guard id.isFinite else { quantize(xb, yb, blocks: 1); continue }
                F16.store(d, yb, 0)
                for j in 0 ..< 32 { q[j] = UInt32(bitPattern: min(31, LegacyFast.truncNonNegative(xb[j] * id + 16.5))) }
                let qs = (yb + 6).assumingMemoryBound(to: UInt8.self)
                for j in 0 ..< 16 { qs[j] = UInt8(truncatingIfNeeded: (q[j] & 0x0F) | ((q[j + 16] & 0x0F) << 4)) }
                var qh: UInt32 = 0
                for j in 0 ..< 32 { qh |= ((q[j] >> 4) & 1) << UInt32(j) }
                yb.storeBytes(of: qh.littleEndian, toByteOffset: 2, as: UInt32.self)
            }
        }
    }
}

extension Q4_1 {
    static func quantizeFast(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, blocks: Int) {
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: 32) { tmp in
            let q = tmp.baseAddress!
            for i in 0 ..< blocks {
                let xb = x + i * 32
                let yb = y + i * blockBytes
                var lo = xb[0], hi = xb[0]
                for j in 1 ..< 32 { lo = xb[j] < lo ? xb[j] : lo; hi = xb[j] > hi ? xb[j] : hi }
                let d = (hi - lo) / 15
                let id: Float = d != 0 ? 1 / d : 0
                guard d.isFinite, id.isFinite else { quantize(xb, yb, blocks: 1); continue }
                F16.store(d, yb, 0)
                F16.store(lo, yb, 2)
                for j in 0 ..< 32 { q[j] = min(15, LegacyFast.truncNonNegative((xb[j] - lo) * id + 0.5)) }
                let qs = (yb + 4).assumingMemoryBound(to: UInt8.self)
                for j in 0 ..< 16 { qs[j] = UInt8(truncatingIfNeeded: q[j] | (q[j + 16] << 4)) }
            }
        }
    }
}

extension Q5_1 {
    static func quantizeFast(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, blocks: Int) {
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 32) { tmp in
            let q = tmp.baseAddress!
            for i in 0 ..< blocks {
                let xb = x + i * 32
                let yb = y + i * blockBytes
                var lo = xb[0], hi = xb[0]
                for j in 1 ..< 32 { lo = xb[j] < lo ? xb[j] : lo; hi = xb[j] > hi ? xb[j] : hi }
                let d = (hi - lo) / 31
                let id: Float = d != 0 ? 1 / d : 0
                guard d.isFinite, id.isFinite else { quantize(xb, yb, blocks: 1); continue }
                F16.store(d, yb, 0)
                F16.store(lo, yb, 2)
                for j in 0 ..< 32 { q[j] = UInt32(bitPattern: LegacyFast.truncNonNegative((xb[j] - lo) * id + 0.5)) }
                let qs = (yb + 8).assumingMemoryBound(to: UInt8.self)
                for j in 0 ..< 16 { qs[j] = UInt8(truncatingIfNeeded: (q[j] & 0x0F) | ((q[j + 16] & 0x0F) << 4)) }
                var qh: UInt32 = 0
                for j in 0 ..< 32 { qh |= ((q[j] >> 4) & 1) << UInt32(j) }
                yb.storeBytes(of: qh.littleEndian, toByteOffset: 4, as: UInt32.self)
            }
        }
    }
}
