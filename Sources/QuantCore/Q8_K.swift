/// Q8_K: 256 weights per 292-byte block, `float d; i8 qs[256]; i16 bsums[16]` (ggml's activation format;
/// `quantize_row_q8_K_ref`). Not a file type llama-quantize writes, but readable and producible.
enum Q8_K {
    static let blockBytes = 292

    static func quantize(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, blocks: Int) {
        for i in 0 ..< blocks {
            let xb = x + i * 256
            let yb = y + i * blockBytes
            let qs = (yb + 4).assumingMemoryBound(to: Int8.self)
            var mx: Float = 0
            var amax: Float = 0
            for j in 0 ..< 256 {
                let ax = abs(xb[j])
                if ax > amax { amax = ax; mx = xb[j] }
            }
            if amax == 0 {
                yb.storeBytes(of: Float(0).bitPattern.littleEndian, toByteOffset: 0, as: UInt32.self)
                for j in 0 ..< 256 { qs[j] = 0 }
                // bsums are left untouched by ggml here; we zero them for determinism.
                for j in 0 ..< 16 { yb.storeBytes(of: Int16(0), toByteOffset: 260 + 2 * j, as: Int16.self) }
                continue
            }
            let iscale = -127 / mx
            for j in 0 ..< 256 {
                qs[j] = Int8(truncatingIfNeeded: min(127, nearestInt(iscale * xb[j])))
            }
            for j in 0 ..< 16 {
                var sum: Int32 = 0
                for ii in 0 ..< 16 { sum += Int32(qs[16 * j + ii]) }
                yb.storeBytes(of: Int16(truncatingIfNeeded: sum).littleEndian, toByteOffset: 260 + 2 * j, as: Int16.self)
            }
            yb.storeBytes(of: (1 / iscale).bitPattern.littleEndian, toByteOffset: 0, as: UInt32.self)
        }
    }

    static func dequantize(_ y: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>, blocks: Int) {
        for i in 0 ..< blocks {
            let yb = y + i * blockBytes
            let d = Float(bitPattern: UInt32(littleEndian: yb.loadUnaligned(as: UInt32.self)))
            let qs = (yb + 4).assumingMemoryBound(to: Int8.self)
            let o = out + i * 256
            for j in 0 ..< 256 { o[j] = d * Float(qs[j]) }
        }
    }
}
