/// Q5_K: 256 weights per 176-byte super-block, `half d; half dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]`
/// (ggml `quantize_row_q5_K_ref`).
enum Q5_K {
    static let blockBytes = 176

    /// The plain transcription of `quantize_row_q5_K_ref`.
    static func quantizeReference(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, blocks: Int) {
        KQuant.quantizeQ4Q5Reference(x, y, blocks: blocks, nmax: 31, rmin: -0.5, nstep: 15, blockBytes: blockBytes)
    }

    static func dequantize(_ y: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>, blocks: Int) {
        for i in 0 ..< blocks {
            let yb = y + i * blockBytes
            let d = F16.load(yb, 0)
            let dmin = F16.load(yb, 2)
            let scales = (yb + 4).assumingMemoryBound(to: UInt8.self)
            let qh = (yb + 16).assumingMemoryBound(to: UInt8.self)
            var ql = (yb + 48).assumingMemoryBound(to: UInt8.self)
            var o = out + i * 256
            var u1: UInt8 = 1, u2: UInt8 = 2
            for c in 0 ..< 4 {
                let (s1, m1) = KQuant.scaleMinK4(2 * c, scales)
                let (s2, m2) = KQuant.scaleMinK4(2 * c + 1, scales)
                let d1 = d * Float(s1), mm1 = dmin * Float(m1)
                let d2 = d * Float(s2), mm2 = dmin * Float(m2)
                for l in 0 ..< 32 { o[l] = d1 * Float(Int32(ql[l] & 0xF) + ((qh[l] & u1) != 0 ? 16 : 0)) - mm1 }
                for l in 0 ..< 32 { o[32 + l] = d2 * Float(Int32(ql[l] >> 4) + ((qh[l] & u2) != 0 ? 16 : 0)) - mm2 }
                ql += 32
                o += 64
                u1 <<= 2; u2 <<= 2
            }
        }
    }
}
