/// One stored tensor as every reader describes it: name, row-major shape, element type, size and location.
public struct TensorInfo: Sendable, Hashable {
    /// The name as stored in the source (GGUF name, safetensors key, or Orbax parameter path joined with ".").
    public var name: String
    /// Row-major shape, outermost axis first (numpy order). GGUF's `ne` is this reversed.
    public var shape: [Int]
    public var type: ElementType
    /// Stored bytes of the whole tensor (decompressed size for compressed sources).
    public var byteCount: Int
    /// Absolute byte offset in its file, for sources that store tensors contiguously (GGUF, safetensors).
    public var fileOffset: Int?

    public init(name: String, shape: [Int], type: ElementType, byteCount: Int, fileOffset: Int? = nil) {
        self.name = name
        self.shape = shape
        self.type = type
        self.byteCount = byteCount
        self.fileOffset = fileOffset
    }

    /// Number of elements (1 for a scalar).
    public var elementCount: Int { shape.reduce(1, *) }
    /// Length of the leading axis; reads stream over it.
    public var rowCount: Int { shape.first ?? 1 }
    /// Elements in one leading-axis row.
    public var elementsPerRow: Int { shape.dropFirst().reduce(1, *) }
    /// Bytes in one leading-axis row (rows of block-quantized tensors hold whole blocks).
    public var bytesPerRow: Int { rowCount == 0 ? 0 : byteCount / rowCount }
}

/// Anything Kiln can read tensors from: GGUF, safetensors, Orbax. Every consumer is written once against it.
public protocol TensorSource: AnyObject, Sendable {
    /// The file or directory the source was opened from.
    var path: String { get }
    /// "gguf", "safetensors" or "orbax".
    var formatName: String { get }
    /// All tensors, in the source's own order.
    var tensors: [TensorInfo] { get }
    /// Every file or directory the source reads from; an output may not overwrite or be placed inside any of them.
    var inputPaths: [String] { get }
    /// Calls `body` with the stored bytes of leading-axis rows `rows` of `tensor`, in the stored element type.
    /// Memory-mapped sources pass a view into the mapping (no copy); compressed sources decode into a scratch buffer.
    func withBytes<R>(of tensor: TensorInfo, rows: Range<Int>, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R
}

extension TensorSource {
    public var inputPaths: [String] { [path] }

    /// The tensor named `name`, or a `.notFound` error naming the source.
    public func tensor(named name: String) throws(KilnError) -> TensorInfo {
        guard let t = tensors.first(where: { $0.name == name }) else {
            throw KilnError(.notFound, "no tensor named '\(name)' (\(tensors.count) tensors in this \(formatName))", file: path, tensor: name)
        }
        return t
    }

    /// The stored bytes of a whole tensor.
    public func withBytes<R>(of tensor: TensorInfo, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try withBytes(of: tensor, rows: 0 ..< tensor.rowCount, body)
    }

    /// Checks `rows` against the tensor's leading axis.
    public func checkRows(_ rows: Range<Int>, of tensor: TensorInfo) throws(KilnError) {
        guard rows.lowerBound >= 0, rows.upperBound <= tensor.rowCount else {
            throw KilnError(.usage, "rows \(rows) outside 0..<\(tensor.rowCount)", file: path, tensor: tensor.name)
        }
    }
}
