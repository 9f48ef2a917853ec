/// The element type of a stored tensor, across all source formats.
///
/// Plain scalar types have one value per element; `.ggml` covers ggml's block-quantized types. GGUF's F32/F16/BF16/
/// I8…F64 map onto the scalar cases so that every consumer treats "float32" the same whatever the file format.
public enum ElementType: Hashable, Sendable, CustomStringConvertible {
    case float64, float32, float16, bfloat16
    case float8E4M3, float8E5M2
    case int64, int32, int16, int8
    case uint64, uint32, uint16, uint8
    case bool
    /// Signed 4-bit integers stored one per byte in the low nibble (zarr/Orbax `int4`).
    case int4
    /// A ggml block-quantized type (Q4_0, Q4_K, ...).
    case ggml(GGMLType)

    /// The canonical spelling used by `inspect` (numpy-like for scalars, ggml names for blocks).
    public var description: String {
        switch self {
        case .float64: "F64"
        case .float32: "F32"
        case .float16: "F16"
        case .bfloat16: "BF16"
        case .float8E4M3: "F8_E4M3"
        case .float8E5M2: "F8_E5M2"
        case .int64: "I64"
        case .int32: "I32"
        case .int16: "I16"
        case .int8: "I8"
        case .uint64: "U64"
        case .uint32: "U32"
        case .uint16: "U16"
        case .uint8: "U8"
        case .bool: "BOOL"
        case .int4: "INT4"
        case .ggml(let t): t.name
        }
    }

    /// Elements per storage block (1 for scalars).
    public var blockSize: Int {
        if case .ggml(let t) = self { return t.blockSize }
        return 1
    }

    /// Bytes per storage block.
    public var blockBytes: Int {
        switch self {
        case .float64, .int64, .uint64: 8
        case .float32, .int32, .uint32: 4
        case .float16, .bfloat16, .int16, .uint16: 2
        case .float8E4M3, .float8E5M2, .int8, .uint8, .bool, .int4: 1
        case .ggml(let t): t.typeSize
        }
    }

    /// Bytes needed for `elements` values; nil if not a whole number of blocks or on overflow.
    public func byteCount(elements: Int) -> Int? {
        guard elements >= 0, elements % blockSize == 0 else { return nil }
        let (bytes, overflow) = (elements / blockSize).multipliedReportingOverflow(by: blockBytes)
        return overflow ? nil : bytes
    }

    /// The GGUF tensor type for this element type, when GGUF can store it.
    public var ggmlType: GGMLType? {
        switch self {
        case .float64: .f64
        case .float32: .f32
        case .float16: .f16
        case .bfloat16: .bf16
        case .int64: .i64
        case .int32: .i32
        case .int16: .i16
        case .int8: .i8
        case .ggml(let t): t
        default: nil
        }
    }

    /// Maps a GGUF tensor type onto the shared vocabulary (scalars become scalar cases).
    public init(ggml t: GGMLType) {
        switch t {
        case .f32: self = .float32
        case .f16: self = .float16
        case .bf16: self = .bfloat16
        case .f64: self = .float64
        case .i8: self = .int8
        case .i16: self = .int16
        case .i32: self = .int32
        case .i64: self = .int64
        default: self = .ggml(t)
        }
    }

    public var isFloatingPoint: Bool {
        switch self {
        case .float64, .float32, .float16, .bfloat16, .float8E4M3, .float8E5M2: true
        default: false
        }
    }
}
