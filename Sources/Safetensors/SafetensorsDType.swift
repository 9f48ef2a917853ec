import KilnCore

/// safetensors dtype strings ↔ Kiln element types.
enum SafetensorsDType {
    static func elementType(_ s: String) -> ElementType? {
        switch s {
        case "F64": .float64
        case "F32": .float32
        case "F16": .float16
        case "BF16": .bfloat16
        case "I64": .int64
        case "I32": .int32
        case "I16": .int16
        case "I8": .int8
        case "U64": .uint64
        case "U32": .uint32
        case "U16": .uint16
        case "U8": .uint8
        case "BOOL": .bool
        case "F8_E4M3": .float8E4M3
        case "F8_E5M2": .float8E5M2
        default: nil
        }
    }
}
