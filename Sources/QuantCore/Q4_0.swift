/// Q4_0: 32 weights per 18-byte block, `half d; u8 qs[16]`, value = (q − 8)·d (ggml `quantize_row_q4_0_ref`).
enum Q4_0 {
    static let blockBytes = 18

    static func quantize(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, blocks: Int) {
        for i in 0 ..< blocks {
            let xb = x + i * 32
            let yb = y + i * blockBytes
            var amax: Float = 0
            var mx: Float = 0
            for j in 0 ..< 32 {
                let v = xb[j]
                if amax < abs(v) { amax = abs(v); mx = v }
            }
            let d = mx / -8
            let id: Float = d != 0 ? 1 / d : 0
            F16.store(d, yb, 0)
            let qs = (yb + 2).assumingMemoryBound(to: UInt8.self)
            for j in 0 ..< 16 {
                let xi0 = min(15, Int32(cTruncToInt8(xb[j] * id + 8.5)))
                let xi1 = min(15, Int32(cTruncToInt8(xb[j + 16] * id + 8.5)))
                qs[j] = UInt8(truncatingIfNeeded: xi0) | UInt8(truncatingIfNeeded: xi1 << 4)
            }
        }
    }

    static func dequantize(_ y: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>, blocks: Int) {
        for i in 0 ..< blocks {
            let yb = y + i * blockBytes
            let d = F16.load(yb, 0)
            let qs = (yb + 2).assumingMemoryBound(to: UInt8.self)
            let o = out + i * 32
            for j in 0 ..< 16 {
                o[j] = Float(Int32(qs[j] & 0x0F) - 8) * d
                o[j + 16] = Float(Int32(qs[j] >> 4) - 8) * d
            }
        }
    }
}
