/// A ggml tensor type as stored in GGUF tensor infos: its id, name and block geometry.
///
/// Sizes are those of gguf-py's `GGML_QUANT_SIZES` (gguf 0.19), which mirror ggml's `type_traits` — except Q8_1, where
/// gguf 0.19 still lists the old float layout (40 bytes) and ggml's `block_q8_1` (two halves and 32 int8, static_assert
/// in ggml-common.h) is 36 bytes, as the gguf-py vendored with llama.cpp has it.
public struct GGMLType: Hashable, Sendable, CustomStringConvertible {
    public let id: Int32
    public let name: String
    /// Elements per block (1 for plain scalar types).
    public let blockSize: Int
    /// Bytes per block.
    public let typeSize: Int

    private init(_ id: Int32, _ name: String, _ blockSize: Int, _ typeSize: Int) {
        self.id = id
        self.name = name
        self.blockSize = blockSize
        self.typeSize = typeSize
    }

    public var description: String { name }
    public var isQuantized: Bool { blockSize > 1 }

    /// Bytes needed for `elements` values; nil when `elements` is not a whole number of blocks or overflows.
    public func byteCount(elements: Int) -> Int? {
        guard elements >= 0, elements % blockSize == 0 else { return nil }
        let (bytes, overflow) = (elements / blockSize).multipliedReportingOverflow(by: typeSize)
        return overflow ? nil : bytes
    }

    public static let f32 = GGMLType(0, "F32", 1, 4)
    public static let f16 = GGMLType(1, "F16", 1, 2)
    public static let q4_0 = GGMLType(2, "Q4_0", 32, 18)
    public static let q4_1 = GGMLType(3, "Q4_1", 32, 20)
    public static let q5_0 = GGMLType(6, "Q5_0", 32, 22)
    public static let q5_1 = GGMLType(7, "Q5_1", 32, 24)
    public static let q8_0 = GGMLType(8, "Q8_0", 32, 34)
    public static let q8_1 = GGMLType(9, "Q8_1", 32, 36)
    public static let q2_K = GGMLType(10, "Q2_K", 256, 84)
    public static let q3_K = GGMLType(11, "Q3_K", 256, 110)
    public static let q4_K = GGMLType(12, "Q4_K", 256, 144)
    public static let q5_K = GGMLType(13, "Q5_K", 256, 176)
    public static let q6_K = GGMLType(14, "Q6_K", 256, 210)
    public static let q8_K = GGMLType(15, "Q8_K", 256, 292)
    public static let iq2_xxs = GGMLType(16, "IQ2_XXS", 256, 66)
    public static let iq2_xs = GGMLType(17, "IQ2_XS", 256, 74)
    public static let iq3_xxs = GGMLType(18, "IQ3_XXS", 256, 98)
    public static let iq1_s = GGMLType(19, "IQ1_S", 256, 50)
    public static let iq4_nl = GGMLType(20, "IQ4_NL", 32, 18)
    public static let iq3_s = GGMLType(21, "IQ3_S", 256, 110)
    public static let iq2_s = GGMLType(22, "IQ2_S", 256, 82)
    public static let iq4_xs = GGMLType(23, "IQ4_XS", 256, 136)
    public static let i8 = GGMLType(24, "I8", 1, 1)
    public static let i16 = GGMLType(25, "I16", 1, 2)
    public static let i32 = GGMLType(26, "I32", 1, 4)
    public static let i64 = GGMLType(27, "I64", 1, 8)
    public static let f64 = GGMLType(28, "F64", 1, 8)
    public static let iq1_m = GGMLType(29, "IQ1_M", 256, 56)
    public static let bf16 = GGMLType(30, "BF16", 1, 2)
    public static let tq1_0 = GGMLType(34, "TQ1_0", 256, 54)
    public static let tq2_0 = GGMLType(35, "TQ2_0", 256, 66)
    public static let mxfp4 = GGMLType(39, "MXFP4", 32, 17)
    public static let nvfp4 = GGMLType(40, "NVFP4", 64, 36)
    public static let q1_0 = GGMLType(41, "Q1_0", 128, 18)

    /// Every type id a current GGUF may carry.
    public static let all: [GGMLType] = [
        .f32, .f16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q8_1, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .q8_K,
        .iq2_xxs, .iq2_xs, .iq3_xxs, .iq1_s, .iq4_nl, .iq3_s, .iq2_s, .iq4_xs, .i8, .i16, .i32, .i64, .f64,
        .iq1_m, .bf16, .tq1_0, .tq2_0, .mxfp4, .nvfp4, .q1_0,
    ]

    private static let byID: [Int32: GGMLType] = Dictionary(uniqueKeysWithValues: all.map { ($0.id, $0) })
    private static let byName: [String: GGMLType] = Dictionary(uniqueKeysWithValues: all.map { ($0.name.lowercased(), $0) })

    /// The type with GGUF id `id`, or nil for removed/unknown ids.
    public static func fromID(_ id: Int32) -> GGMLType? { byID[id] }
    /// Case-insensitive lookup by ggml name ("q4_k", "F16").
    public static func named(_ name: String) -> GGMLType? { byName[name.lowercased()] }
}
