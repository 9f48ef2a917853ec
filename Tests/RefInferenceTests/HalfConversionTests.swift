import CKernels
import Testing

/// The f32 ↔ f16 conversions the engine rounds activations, q/K/V and the KV cache with (`ck_f32_to_f16`,
/// `ck_round_f16`, `ck_f16_to_f32`; F16C eight at a time on AVX2) against Swift's own IEEE binary16 conversion
/// (round to nearest even, exact widening) — an independent reference — on every 256th float bit pattern and every
/// half; NaNs become the quiet half 0x7E00 with their sign, as ggml stores them.
struct HalfConversionTests {
    @Test func narrowingMatchesIEEERoundToNearestEven() {
        let count = 1 << 16
        var x = [Float](repeating: 0, count: count), h = [UInt16](repeating: 0, count: count), r = x
        var bad = 0
        for chunk in 0 ..< (1 << 8) {   // 2^24 patterns: stride 256 through all 2^32, offset so low mantissa bits vary
            for i in 0 ..< count { x[i] = Float(bitPattern: UInt32(chunk * count + i) &* 256 &+ UInt32(i & 255)) }
            ck_f32_to_f16(x, &h, Int64(count))
            r = x
            ck_round_f16(&r, Int64(count))
            for i in 0 ..< count {
                let want: UInt16 = x[i].isNaN ? (x[i].sign == .minus ? 0xFE00 : 0x7E00) : Float16(x[i]).bitPattern
                if h[i] != want || r[i].bitPattern != Float(Float16(bitPattern: want)).bitPattern { bad += 1 }
            }
        }
        #expect(bad == 0)
    }

    @Test func wideningIsExactForEveryHalf() {
        let halves = (0 ..< 65_536).map { UInt16($0) }
        var f = [Float](repeating: 0, count: halves.count)
        ck_f16_to_f32(halves, &f, Int64(halves.count))
        let bad = halves.indices.filter { i in
            let want = Float(Float16(bitPattern: halves[i]))
            return want.isNaN ? !f[i].isNaN : f[i].bitPattern != want.bitPattern
        }
        #expect(bad.isEmpty)
    }
}
