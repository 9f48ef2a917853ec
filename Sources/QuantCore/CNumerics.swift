/// Float semantics of the C code in ggml-quants.c (x86-64, SSE, no FMA), reproduced bit-exactly.
///
/// ggml-base is compiled without `-march=native`, so there is no FMA contraction; every helper here is plain
/// IEEE binary32 arithmetic in the same operation order as the C source.

/// ggml's `nearest_int`: round to nearest (ties to even) through the 1.5·2²³ magic number.
/// Outside ±4194303 it returns the same wrapped garbage as the C code (NaN → 0, ±inf → −4194304).
@inline(__always)
func nearestInt(_ f: Float) -> Int32 {
    let v = f + 12_582_912.0
    return Int32(bitPattern: v.bitPattern & 0x007F_FFFF) &- 0x0040_0000
}

/// C's float → int conversion on x86 (`cvttss2si`): truncation toward zero; NaN and out-of-range give INT32_MIN.
@inline(__always)
func cTruncToInt32(_ f: Float) -> Int32 {
    if f >= -2_147_483_648.0 && f < 2_147_483_648.0 { return Int32(f) }
    return Int32.min
}

/// C's `(int8_t)(float)` (and `(uint8_t)(float)`): `cvttss2si` then keep the low byte.
@inline(__always)
func cTruncToInt8(_ f: Float) -> Int8 { Int8(truncatingIfNeeded: cTruncToInt32(f)) }

/// Round-half-away-from-zero like C's `roundf`, exact for every float.
@inline(__always)
func cRoundf(_ f: Float) -> Float { f.rounded(.toNearestOrAwayFromZero) }

/// Float16 conversions without the compiler-rt libcall the default x86-64 target uses for `Float16`.
enum F16 {
    /// float32 → IEEE binary16 bits, round to nearest even, NaN → 0x7E00 with the sign kept (as ggml).
    @inline(__always)
    static func fromFloat(_ f: Float) -> UInt16 {
        let u = f.bitPattern
        let sign = UInt16(truncatingIfNeeded: (u >> 16) & 0x8000)
        let a = u & 0x7FFF_FFFF
        if a >= 0x4780_0000 {                    // |f| >= 65536, inf or NaN
            return sign | (a > 0x7F80_0000 ? 0x7E00 : 0x7C00)
        }
        if a < 0x3880_0000 {                     // below the smallest normal half: let the FPU round at 2^-24
            let r = Float(bitPattern: a) + 0.5
            return sign | UInt16(truncatingIfNeeded: r.bitPattern &- 0x3F00_0000)
        }
        let odd = (a >> 13) & 1
        let r = (a &+ 0xC800_0FFF &+ odd) >> 13  // rebias 127→15, round to nearest even; carries into inf
        return sign | UInt16(truncatingIfNeeded: r)
    }

    /// IEEE binary16 bits → float32 (exact).
    @inline(__always)
    static func toFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let e = UInt32(h >> 10) & 0x1F
        let m = UInt32(h & 0x3FF)
        if e == 0 {
            // zero or subnormal: m · 2^-24 is exact
            let v = Float(m) * Float(bitPattern: 0x3380_0000)
            return Float(bitPattern: v.bitPattern | sign)
        }
        if e == 0x1F {
            return Float(bitPattern: sign | 0x7F80_0000 | (m << 13) | (m != 0 ? 0x0040_0000 : 0))
        }
        return Float(bitPattern: sign | ((e &+ 112) << 23) | (m << 13))
    }

    @inline(__always)
    static func load(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
        toFloat(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    }

    @inline(__always)
    static func store(_ f: Float, _ p: UnsafeMutableRawPointer, _ offset: Int) {
        p.storeBytes(of: fromFloat(f).littleEndian, toByteOffset: offset, as: UInt16.self)
    }
}

/// Round-trip through half precision, as `GGML_FP16_TO_FP32(GGML_FP32_TO_FP16(x))`.
@inline(__always)
func roundTripF16(_ f: Float) -> Float { F16.toFloat(F16.fromFloat(f)) }
