/// Q6_K: 256 weights per 210-byte super-block, `u8 ql[128]; u8 qh[64]; i8 scales[16]; half d`
/// (16 sub-blocks of 16 with 8-bit scales; ggml `quantize_row_q6_K_ref`).
enum Q6_K {
    static let blockBytes = 210

    /// The plain transcription of `quantize_row_q6_K_ref`.
    static func quantizeReference(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, blocks: Int) {
        withUnsafeTemporaryAllocation(of: Int8.self, capacity: 256) { l8 in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 16) { f in
                let L = l8.baseAddress!, scales = f.baseAddress!
                for i in 0 ..< blocks {
                    let xb = x + i * 256
                    var maxScale: Float = 0
                    var maxAbsScale: Float = 0
                    for ib in 0 ..< 16 {
                        let s = KQuant.makeQxQuants(16, 32, xb + 16 * ib, L + 16 * ib)
                        scales[ib] = s
                        if abs(s) > maxAbsScale { maxAbsScale = abs(s); maxScale = s }
                    }
                    finishBlock(xb, y + i * blockBytes, L, scales, maxScale, maxAbsScale)
                }
            }
        }
    }

    /// Everything after the per-sub-block scale search: scale rounding, requantization and packing.
    @inline(__always)
    static func finishBlock(_ xb: UnsafePointer<Float>, _ yb: UnsafeMutableRawPointer, _ L: UnsafeMutablePointer<Int8>,
                            _ scales: UnsafePointer<Float>, _ maxScale: Float, _ maxAbsScale: Float) {
        let bytes = yb.assumingMemoryBound(to: UInt8.self)
        if maxAbsScale < KQuant.groupMaxEps {
            for k in 0 ..< blockBytes { bytes[k] = 0 }
            return
        }
        let ysc = (yb + 192).assumingMemoryBound(to: Int8.self)
        let iscale = -128 / maxScale
        F16.store(1 / iscale, yb, 208)
        for ib in 0 ..< 16 {
            ysc[ib] = Int8(truncatingIfNeeded: min(127, nearestInt(iscale * scales[ib])))
        }
        let dAll = F16.load(yb, 208)
        for j in 0 ..< 16 {
            let d = dAll * Float(ysc[j])
            if d == 0 { continue }
            for ii in 0 ..< 16 {
                let l = nearestInt(xb[16 * j + ii] / d)
                L[16 * j + ii] = Int8(truncatingIfNeeded: max(-32, min(31, l)) + 32)
            }
        }
        var ql = bytes
        var qh = bytes + 128
        L.withMemoryRebound(to: UInt8.self, capacity: 256) { L in
            for j in stride(from: 0, to: 256, by: 128) {
                for l in 0 ..< 32 {
                    let q1 = L[j + l] & 0xF, q2 = L[j + l + 32] & 0xF
                    let q3 = L[j + l + 64] & 0xF, q4 = L[j + l + 96] & 0xF
                    ql[l] = q1 | (q3 << 4)
                    ql[l + 32] = q2 | (q4 << 4)
                    qh[l] = (L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) | ((L[j + l + 64] >> 4) << 4) | ((L[j + l + 96] >> 4) << 6)
                }
                ql += 64
                qh += 32
            }
        }
    }

    static func dequantize(_ y: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>, blocks: Int) {
        for i in 0 ..< blocks {
            let yb = y + i * blockBytes
            let d = F16.load(yb, 208)
            var ql = yb.assumingMemoryBound(to: UInt8.self)
            var qh = ql + 128
            var sc = (yb + 192).assumingMemoryBound(to: Int8.self)
            var o = out + i * 256
            for _ in 0 ..< 2 {
                for l in 0 ..< 32 {
                    let s = l / 16
                    let q1 = Int32((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32
                    let q2 = Int32((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32
                    let q3 = Int32((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32
                    let q4 = Int32((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32
                    o[l] = d * Float(sc[s]) * Float(q1)
                    o[l + 32] = d * Float(sc[s + 2]) * Float(q2)
                    o[l + 64] = d * Float(sc[s + 4]) * Float(q3)
                    o[l + 96] = d * Float(sc[s + 6]) * Float(q4)
                }
                o += 128
                ql += 64
                qh += 32
                sc += 8
            }
        }
    }
}
