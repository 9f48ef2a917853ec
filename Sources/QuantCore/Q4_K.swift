/// Q4_K: 256 weights per 144-byte super-block, `half d; half dmin; u8 scales[12]; u8 qs[128]`
/// (8 sub-blocks of 32 with 6-bit scale and min; ggml `quantize_row_q4_K_ref`).
enum Q4_K {
    static let blockBytes = 144

    /// The plain transcription of `quantize_row_q4_K_ref` (one sub-block at a time).
    static func quantizeReference(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, blocks: Int) {
        KQuant.quantizeQ4Q5Reference(x, y, blocks: blocks, nmax: 15, rmin: -1, nstep: 20, blockBytes: blockBytes)
    }

    static func dequantize(_ y: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>, blocks: Int) {
        for i in 0 ..< blocks {
            let yb = y + i * blockBytes
            let d = F16.load(yb, 0)
            let dmin = F16.load(yb, 2)
            let scales = (yb + 4).assumingMemoryBound(to: UInt8.self)
            var q = (yb + 16).assumingMemoryBound(to: UInt8.self)
            var o = out + i * 256
            for c in 0 ..< 4 {
                let (s1, m1) = KQuant.scaleMinK4(2 * c, scales)
                let (s2, m2) = KQuant.scaleMinK4(2 * c + 1, scales)
                let d1 = d * Float(s1), mm1 = dmin * Float(m1)
                let d2 = d * Float(s2), mm2 = dmin * Float(m2)
                for l in 0 ..< 32 { o[l] = d1 * Float(q[l] & 0xF) - mm1 }
                for l in 0 ..< 32 { o[32 + l] = d2 * Float(q[l] >> 4) - mm2 }
                q += 32
                o += 64
            }
        }
    }
}

extension KQuant {
    /// Shared body of `quantize_row_q4_K_ref` (nmax 15) and `quantize_row_q5_K_ref` (nmax 31).
    static func quantizeQ4Q5Reference(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, blocks: Int,
                                      nmax: Int32, rmin: Float, nstep: Int, blockBytes: Int) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 256 + 32 + 16) { u8 in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 32 + 8 + 8) { f in
                let L = u8.baseAddress!, Laux = L + 256, lsm = Laux + 32
                let weights = f.baseAddress!, mins = weights + 32, scales = mins + 8
                for i in 0 ..< blocks {
                    let xb = x + i * 256
                    var maxScale: Float = 0
                    var maxMin: Float = 0
                    for j in 0 ..< 8 {
                        let xs = xb + 32 * j
                        var sumX2: Float = 0
                        for l in 0 ..< 32 { sumX2 += xs[l] * xs[l] }
                        let avX = (sumX2 / 32).squareRoot()
                        for l in 0 ..< 32 { weights[l] = avX + abs(xs[l]) }
                        var m: Float = 0
                        scales[j] = makeQkx2Quants(32, nmax, xs, weights, L + 32 * j, &m, Laux,
                                                   rmin: rmin, rdelta: 0.1, nstep: nstep, useMad: false)
                        mins[j] = m
                        if scales[j] > maxScale { maxScale = scales[j] }
                        if m > maxMin { maxMin = m }
                    }
                    finishQ4Q5Block(xb, y + i * blockBytes, L, lsm, scales, mins, maxScale, maxMin, nmax: nmax)
                }
            }
        }
    }

    /// Scale packing, requantization with the rounded scales and bit packing, common to the reference and fast paths.
    @inline(__always)
    static func finishQ4Q5Block(_ xb: UnsafePointer<Float>, _ yb: UnsafeMutableRawPointer, _ L: UnsafeMutablePointer<UInt8>,
                                _ lsm: UnsafeMutablePointer<UInt8>, _ scales: UnsafePointer<Float>, _ mins: UnsafePointer<Float>,
                                _ maxScale: Float, _ maxMin: Float, nmax: Int32) {
        let invScale: Float = maxScale > 0 ? 63 / maxScale : 0
        let invMin: Float = maxMin > 0 ? 63 / maxMin : 0
        for j in 0 ..< 8 {
            lsm[j] = min(63, UInt8(truncatingIfNeeded: nearestInt(invScale * scales[j])))
            lsm[8 + j] = min(63, UInt8(truncatingIfNeeded: nearestInt(invMin * mins[j])))
        }
        let ysc = (yb + 4).assumingMemoryBound(to: UInt8.self)
        packScaleMinK4(lsm, lsm + 8, ysc)
        F16.store(maxScale / 63, yb, 0)
        F16.store(maxMin / 63, yb, 2)
        let dAll = F16.load(yb, 0)
        let mAll = F16.load(yb, 2)
        for j in 0 ..< 8 {
            let (sc, m) = scaleMinK4(j, ysc)
            let d = dAll * Float(sc)
            if d == 0 { continue }
            let dm = mAll * Float(m)
            for ii in 0 ..< 32 {
                let l = nearestInt((xb[32 * j + ii] + dm) / d)
                L[32 * j + ii] = UInt8(truncatingIfNeeded: max(0, min(nmax, l)))
            }
        }
        if nmax == 15 {
            var q = (yb + 16).assumingMemoryBound(to: UInt8.self)
            for j in stride(from: 0, to: 256, by: 64) {
                for l in 0 ..< 32 { q[l] = L[j + l] | (L[j + l + 32] << 4) }
                q += 32
            }
        } else {
            let qh = (yb + 16).assumingMemoryBound(to: UInt8.self)
            var ql = (yb + 48).assumingMemoryBound(to: UInt8.self)
            for j in 0 ..< 32 { qh[j] = 0 }
            var m1: UInt8 = 1, m2: UInt8 = 2
            for n in stride(from: 0, to: 256, by: 64) {
                for j in 0 ..< 32 {
                    var l1 = L[n + j]
                    if l1 > 15 { l1 -= 16; qh[j] |= m1 }
                    var l2 = L[n + j + 32]
                    if l2 > 15 { l2 -= 16; qh[j] |= m2 }
                    ql[j] = l1 | (l2 << 4)
                }
                m1 <<= 2; m2 <<= 2
                ql += 32
            }
        }
    }
}
