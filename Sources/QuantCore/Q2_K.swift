/// Q2_K: 256 weights per 84-byte super-block, `u8 scales[16]; u8 qs[64]; half d; half dmin`
/// (16 sub-blocks of 16, 4-bit scale and min each; ggml `quantize_row_q2_K_ref`).
enum Q2_K {
    static let blockBytes = 84

    static func quantize(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, blocks: Int) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 256 + 16) { u8 in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 16 + 16 + 16) { f in
                let L = u8.baseAddress!, Laux = L + 256
                let weights = f.baseAddress!, mins = weights + 16, scales = mins + 16
                for i in 0 ..< blocks {
                    quantizeBlock(x + i * 256, y + i * blockBytes, L, Laux, weights, mins, scales)
                }
            }
        }
    }

    @inline(__always)
    private static func quantizeBlock(_ x: UnsafePointer<Float>, _ yb: UnsafeMutableRawPointer, _ L: UnsafeMutablePointer<UInt8>,
                                      _ Laux: UnsafeMutablePointer<UInt8>, _ weights: UnsafeMutablePointer<Float>,
                                      _ mins: UnsafeMutablePointer<Float>, _ scales: UnsafeMutablePointer<Float>) {
        for j in 0 ..< 16 {
            for l in 0 ..< 16 { weights[l] = abs(x[16 * j + l]) }
            var m: Float = 0
            scales[j] = KQuant.makeQkx2Quants(16, 3, x + 16 * j, weights, L + 16 * j, &m, Laux,
                                              rmin: -0.5, rdelta: 0.1, nstep: 15, useMad: true)
            mins[j] = m
        }
        finishBlock(x, yb, L, scales, mins)
    }

    /// Everything after the per-sub-block searches: 4-bit scale/min rounding, requantization, packing.
    @inline(__always)
    static func finishBlock(_ x: UnsafePointer<Float>, _ yb: UnsafeMutableRawPointer, _ L: UnsafeMutablePointer<UInt8>,
                            _ scales: UnsafePointer<Float>, _ mins: UnsafePointer<Float>) {
        let sc = yb.assumingMemoryBound(to: UInt8.self)
        let qs = sc + 16
        let q4scale: Float = 15
        var maxScale: Float = 0
        var maxMin: Float = 0
        for j in 0 ..< 16 {
            if scales[j] > maxScale { maxScale = scales[j] }
            if mins[j] > maxMin { maxMin = mins[j] }
        }
        if maxScale > 0 {
            let iscale = q4scale / maxScale
            for j in 0 ..< 16 { sc[j] = UInt8(truncatingIfNeeded: nearestInt(iscale * scales[j])) }
            F16.store(maxScale / q4scale, yb, 80)
        } else {
            for j in 0 ..< 16 { sc[j] = 0 }
            F16.store(0, yb, 80)
        }
        if maxMin > 0 {
            let iscale = q4scale / maxMin
            for j in 0 ..< 16 { sc[j] |= UInt8(truncatingIfNeeded: nearestInt(iscale * mins[j]) << 4) }
            F16.store(maxMin / q4scale, yb, 82)
        } else {
            F16.store(0, yb, 82)
        }
        let dAll = F16.load(yb, 80)
        let mAll = F16.load(yb, 82)
        for j in 0 ..< 16 {
            let d = dAll * Float(sc[j] & 0xF)
            if d == 0 { continue }
            let dm = mAll * Float(sc[j] >> 4)
            for ii in 0 ..< 16 {
                let l = nearestInt((x[16 * j + ii] + dm) / d)
                L[16 * j + ii] = UInt8(truncatingIfNeeded: max(0, min(3, l)))
            }
        }
        KQuant.pack2Bit(L, qs)
    }

    static func dequantize(_ y: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>, blocks: Int) {
        for i in 0 ..< blocks {
            let yb = y + i * blockBytes
            let d = F16.load(yb, 80)
            let dmin = F16.load(yb, 82)
            let sc = yb.assumingMemoryBound(to: UInt8.self)
            var q = sc + 16
            var o = out + i * 256
            var isc = 0
            for _ in 0 ..< 2 {
                var shift: UInt8 = 0
                for _ in 0 ..< 4 {
                    for half in 0 ..< 2 {
                        let s = sc[isc]; isc += 1
                        let dl = d * Float(s & 0xF)
                        let ml = dmin * Float(s >> 4)
                        for l in 0 ..< 16 { o[l] = dl * Float((q[l + 16 * half] >> shift) & 3) - ml }
                        o += 16
                    }
                    shift += 2
                }
                q += 32
            }
        }
    }
}
