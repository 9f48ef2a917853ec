/// Conversions between float32 and the 16/8-bit float formats found in checkpoints, bit-exact with ggml/numpy.
public enum HalfFloat {
    /// IEEE binary16 bits → float32 (exact).
    @inline(__always)
    public static func f16ToFloat(_ bits: UInt16) -> Float { Float(Float16(bitPattern: bits)) }

    /// float32 → IEEE binary16 bits, round to nearest even; NaN → quiet NaN with the sign kept (ggml's behaviour).
    @inline(__always)
    public static func floatToF16(_ x: Float) -> UInt16 {
        if x.isNaN { return (x.sign == .minus ? 0x8000 : 0) | 0x7E00 }
        return Float16(x).bitPattern
    }

    /// bfloat16 bits → float32 (exact).
    @inline(__always)
    public static func bf16ToFloat(_ bits: UInt16) -> Float { Float(bitPattern: UInt32(bits) << 16) }

    /// float32 → bfloat16 bits exactly as ggml's `GGML_FP32_TO_BF16`: NaN quieted, otherwise round to nearest even.
    @inline(__always)
    public static func floatToBF16(_ x: Float) -> UInt16 {
        let u = x.bitPattern
        if (u & 0x7fff_ffff) > 0x7f80_0000 { return UInt16(truncatingIfNeeded: (u >> 16) | 64) }
        return UInt16(truncatingIfNeeded: (u &+ (0x7fff &+ ((u >> 16) & 1))) >> 16)
    }

    /// float8 e4m3fn (no infinities, 0x7F/0xFF are NaN) → float32.
    public static func f8E4M3ToFloat(_ b: UInt8) -> Float {
        let sign: Float = (b & 0x80) != 0 ? -1 : 1
        let exp = Int((b >> 3) & 0x0F)
        let man = Float(b & 0x07)
        if exp == 0x0F && (b & 0x07) == 0x07 { return .nan }
        if exp == 0 { return sign * man / 8 * Float(sign: .plus, exponent: -6, significand: 1) }
        return sign * (1 + man / 8) * Float(sign: .plus, exponent: exp - 7, significand: 1)
    }

    /// float8 e5m2 (IEEE-like, with infinities) → float32.
    public static func f8E5M2ToFloat(_ b: UInt8) -> Float {
        // e5m2 is the top byte of a binary16.
        f16ToFloat(UInt16(b) << 8)
    }
}
