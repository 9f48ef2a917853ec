/// Q3_K: 256 weights per 110-byte super-block, `u8 hmask[32]; u8 qs[64]; u8 scales[12]; half d`
/// (16 sub-blocks of 16, signed 6-bit scales; ggml `quantize_row_q3_K_ref`).
enum Q3_K {
    static let blockBytes = 110

    static func quantize(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, blocks: Int) {
        withUnsafeTemporaryAllocation(of: Int8.self, capacity: 256) { l8 in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 16) { f in
                for i in 0 ..< blocks {
                    quantizeBlock(x + i * 256, y + i * blockBytes, l8.baseAddress!, f.baseAddress!)
                }
            }
        }
    }

    @inline(__always)
    private static func quantizeBlock(_ x: UnsafePointer<Float>, _ yb: UnsafeMutableRawPointer,
                                      _ L: UnsafeMutablePointer<Int8>, _ scales: UnsafeMutablePointer<Float>) {
        for j in 0 ..< 16 { scales[j] = KQuant.makeQ3Quants(16, 4, x + 16 * j, L + 16 * j) }
        finishBlock(x, yb, L, scales)
    }

    /// Everything after the per-sub-block searches: 6-bit scale rounding, requantization, packing.
    @inline(__always)
    static func finishBlock(_ x: UnsafePointer<Float>, _ yb: UnsafeMutableRawPointer,
                            _ L: UnsafeMutablePointer<Int8>, _ scales: UnsafePointer<Float>) {
        let hmask = yb.assumingMemoryBound(to: UInt8.self)
        let qs = hmask + 32
        let ysc = hmask + 96
        var maxScale: Float = 0
        var amax: Float = 0
        for j in 0 ..< 16 {
            let s = abs(scales[j])
            if s > amax { amax = s; maxScale = scales[j] }
        }
        for j in 0 ..< 12 { ysc[j] = 0 }
        if maxScale != 0 {
            let iscale = -32 / maxScale
            for j in 0 ..< 16 {
                var l = Int8(truncatingIfNeeded: nearestInt(iscale * scales[j]))
                l = max(-32, min(31, l)) + 32
                if j < 8 {
                    ysc[j] = UInt8(bitPattern: l) & 0xF
                } else {
                    ysc[j - 8] |= (UInt8(bitPattern: l) & 0xF) << 4
                }
                l >>= 4
                ysc[j % 4 + 8] |= UInt8(truncatingIfNeeded: Int32(l) << Int32(2 * (j / 4)))
            }
            F16.store(1 / iscale, yb, 108)
        } else {
            F16.store(0, yb, 108)
        }
        let dAll = F16.load(yb, 108)
        for j in 0 ..< 16 {
            let low = j < 8 ? ysc[j] & 0xF : ysc[j - 8] >> 4
            let sc = Int32(low | (((ysc[8 + j % 4] >> UInt8(2 * (j / 4))) & 3) << 4)) - 32
            let d = dAll * Float(sc)
            if d == 0 { continue }
            for ii in 0 ..< 16 {
                let l = nearestInt(x[16 * j + ii] / d)
                L[16 * j + ii] = Int8(truncatingIfNeeded: max(-4, min(3, l)) + 4)
            }
        }
        for j in 0 ..< 32 { hmask[j] = 0 }
        var m = 0
        var hm: UInt8 = 1
        for j in 0 ..< 256 {
            if L[j] > 3 {
                hmask[m] |= hm
                L[j] -= 4
            }
            m += 1
            if m == 32 { m = 0; hm <<= 1 }
        }
        L.withMemoryRebound(to: UInt8.self, capacity: 256) { KQuant.pack2Bit($0, qs) }
    }

    static func dequantize(_ y: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>, blocks: Int) {
        var sc = [Int32](repeating: 0, count: 16)
        for i in 0 ..< blocks {
            let yb = y + i * blockBytes
            let dAll = F16.load(yb, 108)
            let hm = yb.assumingMemoryBound(to: UInt8.self)
            var q = hm + 32
            let ysc = hm + 96
            for j in 0 ..< 16 {
                let low = j < 8 ? ysc[j] & 0xF : ysc[j - 8] >> 4
                sc[j] = Int32(low | (((ysc[8 + j % 4] >> UInt8(2 * (j / 4))) & 3) << 4))
            }
            var o = out + i * 256
            var isc = 0
            var m: UInt8 = 1
            for _ in 0 ..< 2 {
                var shift: UInt8 = 0
                for _ in 0 ..< 4 {
                    for half in 0 ..< 2 {
                        let dl = dAll * Float(sc[isc] - 32); isc += 1
                        for l in 0 ..< 16 {
                            let k = l + 16 * half
                            let v = Int32((q[k] >> shift) & 3) - ((hm[k] & m) != 0 ? 0 : 4)
                            o[l] = dl * Float(v)
                        }
                        o += 16
                    }
                    shift += 2
                    m <<= 1
                }
                q += 32
            }
        }
    }
}
