/// Decoding of plain (non-block) element types to float32, shared by `inspect`, the converter and the engine.
public enum ScalarDecoding {
    /// Converts `count` stored values of scalar type `type` from `src` into `dst`. Returns false for block types.
    public static func toFloat(_ type: ElementType, _ src: UnsafeRawBufferPointer, count: Int,
                               into dst: UnsafeMutableBufferPointer<Float>) -> Bool {
        precondition(dst.count >= count)
        precondition(src.count >= (type.byteCount(elements: count) ?? Int.max))
        func each<T>(_: T.Type, _ f: (T) -> Float) {
            for i in 0 ..< count {
                dst[i] = f(src.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self))
            }
        }
        switch type {
        case .float32:
            for i in 0 ..< count { dst[i] = Float(bitPattern: UInt32(littleEndian: src.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))) }
        case .float64: each(UInt64.self) { Float(Double(bitPattern: UInt64(littleEndian: $0))) }
        case .float16: each(UInt16.self) { HalfFloat.f16ToFloat(UInt16(littleEndian: $0)) }
        case .bfloat16: each(UInt16.self) { HalfFloat.bf16ToFloat(UInt16(littleEndian: $0)) }
        case .float8E4M3: each(UInt8.self) { HalfFloat.f8E4M3ToFloat($0) }
        case .float8E5M2: each(UInt8.self) { HalfFloat.f8E5M2ToFloat($0) }
        case .int64: each(Int64.self) { Float(Int64(littleEndian: $0)) }
        case .int32: each(Int32.self) { Float(Int32(littleEndian: $0)) }
        case .int16: each(Int16.self) { Float(Int16(littleEndian: $0)) }
        case .int8: each(Int8.self) { Float($0) }
        case .uint64: each(UInt64.self) { Float(UInt64(littleEndian: $0)) }
        case .uint32: each(UInt32.self) { Float(UInt32(littleEndian: $0)) }
        case .uint16: each(UInt16.self) { Float(UInt16(littleEndian: $0)) }
        case .uint8: each(UInt8.self) { Float($0) }
        case .bool: each(UInt8.self) { $0 != 0 ? 1 : 0 }
        case .int4: each(UInt8.self) { Float(Int8(bitPattern: $0 << 4) >> 4) }
        case .ggml: return false
        }
        return true
    }
}
