/// Q8_0: 32 weights per 34-byte block, `half d; i8 qs[32]`, value = q·d (ggml `quantize_row_q8_0_ref`).
enum Q8_0 {
    static let blockBytes = 34

    static func quantize(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, blocks: Int) {
        for i in 0 ..< blocks {
            let xb = x + i * 32
            let yb = y + i * blockBytes
            var amax: Float = 0
            for j in 0 ..< 32 {
                let a = abs(xb[j])
                amax = amax > a ? amax : a
            }
            let d = amax / 127
            let id: Float = d != 0 ? 1 / d : 0
            F16.store(d, yb, 0)
            let qs = (yb + 2).assumingMemoryBound(to: Int8.self)
            for j in 0 ..< 32 {
                qs[j] = cTruncToInt8(cRoundf(xb[j] * id))
            }
        }
    }

    static func dequantize(_ y: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>, blocks: Int) {
        for i in 0 ..< blocks {
            let yb = y + i * blockBytes
            let d = F16.load(yb, 0)
            let qs = (yb + 2).assumingMemoryBound(to: Int8.self)
            let o = out + i * 32
            for j in 0 ..< 32 { o[j] = Float(qs[j]) * d }
        }
    }
}
