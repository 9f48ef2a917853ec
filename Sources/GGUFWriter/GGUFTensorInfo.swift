import KilnCore

/// A tensor as GGUF describes it: name, `ne` (innermost dimension first), ggml type, offset in the data section.
public struct GGUFTensorInfo: Sendable, Equatable {
    public var name: String
    /// Dimensions in ggml order: `ne[0]` is the contiguous row length.
    public var ne: [Int]
    public var type: GGMLType
    /// Offset relative to the start of the data section (a multiple of the alignment).
    public var offset: Int

    public init(name: String, ne: [Int], type: GGMLType, offset: Int = 0) {
        self.name = name
        self.ne = ne
        self.type = type
        self.offset = offset
    }

    public var elementCount: Int { ne.reduce(1, *) }
    /// Stored bytes (`ne[0]/blck * type_size * ne[1] * ...`).
    public var byteCount: Int { type.byteCount(elements: elementCount) ?? 0 }
}
