import KilnCore

/// Float32 ⇄ ggml storage types, byte-identical with ggml's `ggml_quantize_chunk` (no importance matrix)
/// and bit-identical with its `to_float` dequantizers.
public enum Quantizer {
    /// Which implementation to run: the tuned one, or the plain line-by-line transcription of ggml's `_ref` code.
    public enum Path: Sendable { case fast, reference }

    private static let quantizable: Set<GGMLType> = [
        .f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .q8_K,
    ]

    /// Types `quantize` can produce.
    public static func canQuantize(_ type: GGMLType) -> Bool { quantizable.contains(type) }

    /// Quantizes rows of `rowLength` floats (src.count is a multiple of rowLength; rowLength a multiple of the block size)
    /// into `dst` (exactly type.byteCount(elements: src.count) bytes). Throws `.numeric` at the first NaN/Inf.
    public static func quantize(_ type: GGMLType, _ src: UnsafeBufferPointer<Float>, rowLength: Int,
                                into dst: UnsafeMutableRawBufferPointer) throws(KilnError) {
        try quantize(type, src, rowLength: rowLength, into: dst, path: .fast)
    }

    /// `quantize` with an explicit implementation choice (tests compare both paths).
    public static func quantize(_ type: GGMLType, _ src: UnsafeBufferPointer<Float>, rowLength: Int,
                                into dst: UnsafeMutableRawBufferPointer, path: Path) throws(KilnError) {
        guard canQuantize(type) else {
            throw KilnError(.unsupported, "cannot quantize to \(type.name)")
        }
        guard rowLength > 0, rowLength % type.blockSize == 0 else {
            throw KilnError(.usage, "row length \(rowLength) is not a multiple of the \(type.name) block size \(type.blockSize)")
        }
        guard src.count % rowLength == 0 else {
            throw KilnError(.usage, "\(src.count) values are not a whole number of rows of \(rowLength)")
        }
        guard let need = type.byteCount(elements: src.count), dst.count == need else {
            throw KilnError(.usage, "\(type.name) output for \(src.count) values needs \(type.byteCount(elements: src.count) ?? -1) bytes, got \(dst.count)")
        }
        if let bad = firstNonFinite(src) {
            throw KilnError(.numeric, "value \(src[bad]) at element \(bad) cannot be quantized (NaN/Inf)")
        }
        guard let x = src.baseAddress, let y = dst.baseAddress else { return }
        quantizeBlocks(type, x, y, count: src.count, path: path)
    }

    /// Quantizes `count` finite floats (a multiple of the block size) without any checks.
    static func quantizeBlocks(_ type: GGMLType, _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count: Int, path: Path) {
        let blocks = count / type.blockSize
        switch type {
        case .f32: y.copyMemory(from: x, byteCount: count * 4)
        case .f16:
            let o = y.assumingMemoryBound(to: UInt16.self)
            for i in 0 ..< count { o[i] = F16.fromFloat(x[i]).littleEndian }
        case .bf16:
            let o = y.assumingMemoryBound(to: UInt16.self)
            for i in 0 ..< count { o[i] = HalfFloat.floatToBF16(x[i]).littleEndian }
        case .q4_0:
            if path == .fast { Q4_0.quantizeFast(x, y, blocks: blocks) } else { Q4_0.quantize(x, y, blocks: blocks) }
        case .q4_1:
            if path == .fast { Q4_1.quantizeFast(x, y, blocks: blocks) } else { Q4_1.quantize(x, y, blocks: blocks) }
        case .q5_0:
            if path == .fast { Q5_0.quantizeFast(x, y, blocks: blocks) } else { Q5_0.quantize(x, y, blocks: blocks) }
        case .q5_1:
            if path == .fast { Q5_1.quantizeFast(x, y, blocks: blocks) } else { Q5_1.quantize(x, y, blocks: blocks) }
        case .q8_0:
            if path == .fast { Q8_0.quantizeFast(x, y, blocks: blocks) } else { Q8_0.quantize(x, y, blocks: blocks) }
        case .q2_K:
            if path == .fast { Q2_K.quantizeFast(x, y, blocks: blocks) } else { Q2_K.quantize(x, y, blocks: blocks) }
        case .q3_K: Q3_K.quantize(x, y, blocks: blocks)   // a lane-parallel search measured slower: latency-bound descent
        case .q4_K:
            if path == .fast { Q4_K.quantizeFast(x, y, blocks: blocks) } else { Q4_K.quantizeReference(x, y, blocks: blocks) }
        case .q5_K:
            if path == .fast { Q5_K.quantizeFast(x, y, blocks: blocks) } else { Q5_K.quantizeReference(x, y, blocks: blocks) }
        case .q6_K:
            if path == .fast { Q6_K.quantizeFast(x, y, blocks: blocks) } else { Q6_K.quantizeReference(x, y, blocks: blocks) }
        case .q8_K: Q8_K.quantize(x, y, blocks: blocks)
        default: preconditionFailure("unsupported type \(type.name)")
        }
    }

    /// Index of the first NaN or ±Inf, or nil.
    static func firstNonFinite(_ src: UnsafeBufferPointer<Float>) -> Int? {
        guard let base = src.baseAddress else { return nil }
        let bits = UnsafeRawPointer(base).assumingMemoryBound(to: UInt32.self)
        let chunk = 4096
        var start = 0
        while start < src.count {
            let count = min(chunk, src.count - start)
            let p = bits + start
            var flag: UInt32 = 0
            for i in 0 ..< count {
                // exponent all ones (NaN/Inf) ⇔ adding one exponent step carries into the sign bit
                flag |= ((p[i] & 0x7F80_0000) &+ 0x0080_0000) & 0x8000_0000
            }
            if flag != 0 {
                for i in start ..< start + count where !base[i].isFinite { return i }
            }
            start += count
        }
        return nil
    }

    private static let blockTypes: Set<GGMLType> = [
        .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .q8_K,
    ]

    /// Types `dequantize` can read (all scalar ElementTypes via KilnCore.ScalarDecoding plus the ggml block types above).
    public static func canDequantize(_ type: ElementType) -> Bool {
        if case .ggml(let t) = type {
            if case .ggml = ElementType(ggml: t) { return blockTypes.contains(t) }
        }
        return true   // scalar types (GGUF's F32/F16/BF16/I8.../F64 normalise to scalar cases)
    }

    /// Decodes `count` elements of `type` from `src` into `dst`.
    public static func dequantize(_ type: ElementType, _ src: UnsafeRawBufferPointer, count: Int,
                                  into dst: UnsafeMutableBufferPointer<Float>) throws(KilnError) {
        let type: ElementType = if case .ggml(let t) = type { ElementType(ggml: t) } else { type }
        guard canDequantize(type) else {
            throw KilnError(.unsupported, "cannot decode \(type) to float")
        }
        guard let need = type.byteCount(elements: count) else {
            throw KilnError(.invalid, "\(count) elements are not a whole number of \(type) blocks of \(type.blockSize)")
        }
        guard src.count >= need else {
            throw KilnError(.truncated, "\(type) data for \(count) elements needs \(need) bytes, got \(src.count)")
        }
        guard dst.count >= count else {
            throw KilnError(.usage, "output holds \(dst.count) floats, \(count) needed")
        }
        guard count > 0, let x = src.baseAddress, let out = dst.baseAddress else { return }
        switch type {
        case .float16:
            let h = x
            for i in 0 ..< count {
                out[i] = F16.toFloat(UInt16(littleEndian: h.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
            }
        case .ggml(let t):
            let blocks = count / t.blockSize
            switch t {
            case .q4_0: Q4_0.dequantize(x, out, blocks: blocks)
            case .q4_1: Q4_1.dequantize(x, out, blocks: blocks)
            case .q5_0: Q5_0.dequantize(x, out, blocks: blocks)
            case .q5_1: Q5_1.dequantize(x, out, blocks: blocks)
            case .q8_0: Q8_0.dequantize(x, out, blocks: blocks)
            case .q2_K: Q2_K.dequantize(x, out, blocks: blocks)
            case .q3_K: Q3_K.dequantize(x, out, blocks: blocks)
            case .q4_K: Q4_K.dequantize(x, out, blocks: blocks)
            case .q5_K: Q5_K.dequantize(x, out, blocks: blocks)
            case .q6_K: Q6_K.dequantize(x, out, blocks: blocks)
            case .q8_K: Q8_K.dequantize(x, out, blocks: blocks)
            default: throw KilnError(.unsupported, "cannot decode \(t.name) to float")
            }
        default:
            _ = ScalarDecoding.toFloat(type, src, count: count, into: dst)
        }
    }
}
