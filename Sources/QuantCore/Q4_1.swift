/// Q4_1: 32 weights per 20-byte block, `half d; half m; u8 qs[16]`, value = q·d + m (ggml `quantize_row_q4_1_ref`).
enum Q4_1 {
    static let blockBytes = 20

    static func quantize(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, blocks: Int) {
        for i in 0 ..< blocks {
            let xb = x + i * 32
            let yb = y + i * blockBytes
            var lo = Float.greatestFiniteMagnitude
            var hi = -Float.greatestFiniteMagnitude
            for j in 0 ..< 32 {
                let v = xb[j]
                if v < lo { lo = v }
                if v > hi { hi = v }
            }
            let d = (hi - lo) / 15
            let id: Float = d != 0 ? 1 / d : 0
            F16.store(d, yb, 0)
            F16.store(lo, yb, 2)
            let qs = (yb + 4).assumingMemoryBound(to: UInt8.self)
            for j in 0 ..< 16 {
                let xi0 = min(15, Int32(cTruncToInt8((xb[j] - lo) * id + 0.5)))
                let xi1 = min(15, Int32(cTruncToInt8((xb[j + 16] - lo) * id + 0.5)))
                qs[j] = UInt8(truncatingIfNeeded: xi0) | UInt8(truncatingIfNeeded: xi1 << 4)
            }
        }
    }

    static func dequantize(_ y: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>, blocks: Int) {
        for i in 0 ..< blocks {
            let yb = y + i * blockBytes
            let d = F16.load(yb, 0)
            let m = F16.load(yb, 2)
            let qs = (yb + 4).assumingMemoryBound(to: UInt8.self)
            let o = out + i * 32
            for j in 0 ..< 16 {
                o[j] = Float(qs[j] & 0x0F) * d + m
                o[j + 16] = Float(qs[j] >> 4) * d + m
            }
        }
    }
}
