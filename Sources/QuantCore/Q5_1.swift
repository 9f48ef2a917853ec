/// Q5_1: 32 weights per 24-byte block, `half d; half m; u8 qh[4]; u8 qs[16]`, value = q·d + m (ggml `quantize_row_q5_1_ref`).
enum Q5_1 {
    static let blockBytes = 24

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
            let d = (hi - lo) / 31
            let id: Float = d != 0 ? 1 / d : 0
            F16.store(d, yb, 0)
            F16.store(lo, yb, 2)
            let qs = (yb + 8).assumingMemoryBound(to: UInt8.self)
            var qh: UInt32 = 0
            for j in 0 ..< 16 {
                let xi0 = UInt8(bitPattern: cTruncToInt8((xb[j] - lo) * id + 0.5))
                let xi1 = UInt8(bitPattern: cTruncToInt8((xb[j + 16] - lo) * id + 0.5))
                qs[j] = (xi0 & 0x0F) | ((xi1 & 0x0F) << 4)
                qh |= UInt32((xi0 & 0x10) >> 4) << UInt32(j)
                qh |= UInt32((xi1 & 0x10) >> 4) << UInt32(j + 16)
            }
            yb.storeBytes(of: qh.littleEndian, toByteOffset: 4, as: UInt32.self)
        }
    }

    static func dequantize(_ y: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>, blocks: Int) {
        for i in 0 ..< blocks {
            let yb = y + i * blockBytes
            let d = F16.load(yb, 0)
            let m = F16.load(yb, 2)
            let qh = UInt32(littleEndian: yb.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
            let qs = (yb + 8).assumingMemoryBound(to: UInt8.self)
            let o = out + i * 32
            for j in 0 ..< 16 {
                let h0 = ((qh >> UInt32(j)) << 4) & 0x10
                let h1 = (qh >> UInt32(j + 12)) & 0x10
                o[j] = Float(UInt32(qs[j] & 0x0F) | h0) * d + m
                o[j + 16] = Float(UInt32(qs[j] >> 4) | h1) * d + m
            }
        }
    }
}
