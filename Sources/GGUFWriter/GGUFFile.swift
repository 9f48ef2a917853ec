import KilnCore

/// A GGUF v2/v3 file, memory-mapped: metadata and tensor infos are parsed up front, tensor data is never copied.
///
/// Parsing is defensive: every count and size is checked against the bytes that remain before anything is
/// allocated, so a corrupt or hostile file gives a `KilnError` naming the byte offset instead of a crash.
public final class GGUFFile: TensorSource, @unchecked Sendable {
    public static let magic: [UInt8] = Array("GGUF".utf8)
    public static let defaultAlignment = 32

    public let path: String
    public var formatName: String { "gguf" }
    public let mapped: MappedFile
    public let version: UInt32
    /// Metadata in file order.
    public let metadata: [GGUFMetadataEntry]
    /// Tensor infos in file order.
    public let tensorInfos: [GGUFTensorInfo]
    public let alignment: Int
    /// Absolute offset of the data section.
    public let dataOffset: Int
    public let tensors: [TensorInfo]
    private let indexByName: [String: Int]

    public convenience init(path: String) throws(KilnError) {
        try self.init(mapped: try MappedFile(path: path))
    }

    public init(mapped: MappedFile) throws(KilnError) {
        self.mapped = mapped
        self.path = mapped.path
        var c = mapped.cursor()
        let magicBytes = try c.readBytes(4, "the GGUF magic")
        guard Array(magicBytes) == GGUFFile.magic else {
            throw KilnError(.badMagic, "not a GGUF file (magic \(Array(magicBytes).map { String(format2: $0) }.joined(separator: " ")))",
                            file: path, offset: 0)
        }
        let versionOffset = c.offset
        version = try c.read(UInt32.self, "the version")
        guard version == 2 || version == 3 else {
            let hint = (version & 0xFFFF) == 0 ? " (big-endian files are not supported)" : ""
            throw KilnError(.unsupported, "GGUF version \(version) is not supported (2 and 3 are)\(hint)", file: path, offset: versionOffset)
        }
        let countOffset = c.offset
        let nTensors = try c.read(Int64.self, "the tensor count")
        let nKV = try c.read(Int64.self, "the metadata count")
        // Each KV needs at least 8 (key length) + 4 (type) + 1 bytes; each tensor info at least 8 + 4 + 8 + 4 + 8.
        try GGUFFile.checkCount(nTensors, "tensor infos", minimumSize: 32, cursor: c, at: countOffset)
        try GGUFFile.checkCount(nKV, "metadata entries", minimumSize: 13, cursor: c, at: countOffset + 8)

        var metadata: [GGUFMetadataEntry] = []
        metadata.reserveCapacity(Int(nKV))
        var seenKeys = Set<String>()
        for i in 0 ..< Int(nKV) {
            let keyOffset = c.offset
            let key = try GGUFDecoding.readString(&c, "metadata key #\(i)")
            guard !key.isEmpty else { throw KilnError(.invalid, "metadata key #\(i) is empty", file: path, offset: keyOffset) }
            guard seenKeys.insert(key).inserted else {
                throw KilnError(.invalid, "duplicate metadata key '\(key)'", file: path, offset: keyOffset)
            }
            let value = try GGUFDecoding.readValue(&c, key: key)
            metadata.append(GGUFMetadataEntry(key, value))
        }
        self.metadata = metadata

        var alignment = GGUFFile.defaultAlignment
        if let a = metadata[key: GGUFKey.alignment] {
            guard case .uint32(let v) = a, v > 0, v & (v - 1) == 0 else {
                throw KilnError(.invalid, "general.alignment must be a UINT32 power of two, found \(a)", file: path)
            }
            alignment = Int(v)
        }
        self.alignment = alignment

        var infos: [GGUFTensorInfo] = []
        infos.reserveCapacity(Int(nTensors))
        var index: [String: Int] = [:]
        for i in 0 ..< Int(nTensors) {
            let infoOffset = c.offset
            let name = try GGUFDecoding.readString(&c, "the name of tensor #\(i)")
            let nDims = try c.read(UInt32.self, "n_dims of '\(name)'")
            guard nDims >= 1, nDims <= 4 else {
                throw KilnError(.invalid, "tensor has \(nDims) dimensions (1...4 allowed)", file: path, offset: infoOffset, tensor: name)
            }
            var ne: [Int] = []
            var elements = 1
            for d in 0 ..< Int(nDims) {
                let v = try c.read(Int64.self, "ne[\(d)] of '\(name)'")
                guard v >= 0 else { throw KilnError(.invalid, "ne[\(d)] = \(v) is negative", file: path, offset: c.offset - 8, tensor: name) }
                let (m, overflow) = elements.multipliedReportingOverflow(by: Int(v))
                guard !overflow, m <= Int(Int64.max / 8) else {
                    throw KilnError(.invalid, "element count overflows", file: path, offset: c.offset - 8, tensor: name)
                }
                elements = m
                ne.append(Int(v))
            }
            let typeOffset = c.offset
            let typeID = try c.read(Int32.self, "the type of '\(name)'")
            guard let type = GGMLType.fromID(typeID) else {
                throw KilnError(.unsupported, "unknown ggml type id \(typeID)", file: path, offset: typeOffset, tensor: name)
            }
            guard ne[0] % type.blockSize == 0 else {
                throw KilnError(.invalid, "row length \(ne[0]) is not a multiple of \(type.name)'s block size \(type.blockSize)",
                                file: path, offset: typeOffset, tensor: name)
            }
            let offsetPos = c.offset
            let rel = try c.read(UInt64.self, "the data offset of '\(name)'")
            guard rel <= UInt64(Int.max / 2), Int(rel) % alignment == 0 else {
                throw KilnError(.invalid, "data offset \(rel) is not a multiple of the alignment \(alignment)", file: path, offset: offsetPos, tensor: name)
            }
            guard index[name] == nil else {
                throw KilnError(.invalid, "duplicate tensor name", file: path, offset: infoOffset, tensor: name)
            }
            index[name] = i
            infos.append(GGUFTensorInfo(name: name, ne: ne, type: type, offset: Int(rel)))
        }
        let headerEnd = c.offset
        dataOffset = (headerEnd + alignment - 1) / alignment * alignment

        // Every tensor must lie inside the file, and no two may overlap.
        var extents: [(start: Int, end: Int, name: String)] = []
        for info in infos {
            guard let size = info.type.byteCount(elements: info.elementCount) else {
                throw KilnError(.invalid, "size overflows", file: path, tensor: info.name)
            }
            let start = dataOffset + info.offset
            let (end, overflow) = start.addingReportingOverflow(size)
            guard !overflow, end <= mapped.count else {
                throw KilnError(.truncated, "tensor data \(start)..<\(overflow ? Int.max : end) lies past the end of the file (\(mapped.count) bytes)",
                                file: path, offset: start, tensor: info.name)
            }
            extents.append((start, end, info.name))
        }
        let sorted = extents.sorted { $0.start < $1.start }
        for (a, b) in zip(sorted, sorted.dropFirst()) where b.start < a.end && b.end > b.start && a.end > a.start {
            throw KilnError(.invalid, "tensor data overlaps tensor '\(a.name)'", file: path, offset: b.start, tensor: b.name)
        }

        tensorInfos = infos
        indexByName = index
        let base = dataOffset
        tensors = infos.map { info in
            TensorInfo(name: info.name, shape: info.ne.reversed(), type: ElementType(ggml: info.type),
                       byteCount: info.byteCount, fileOffset: base + info.offset)
        }
    }

    /// A header count must be non-negative and fit in the bytes that remain; a count that could not fit even in a
    /// file of 2^40 bytes is reported as invalid, a smaller one as a truncated file.
    private static func checkCount(_ n: Int64, _ what: String, minimumSize: Int, cursor c: ByteCursor, at offset: Int) throws(KilnError) {
        guard n >= 0, n <= Int64(1) << 40 / Int64(minimumSize) else {
            throw KilnError(.invalid, "\(what) count \(n) is impossible", file: c.file, offset: offset)
        }
        guard n <= Int64(c.remaining / minimumSize) else {
            throw KilnError(.truncated, "file too short (\(c.bytes.count) bytes) for \(n) \(what)", file: c.file, offset: offset)
        }
    }

    /// The GGUF tensor info named `name`.
    public func tensorInfo(named name: String) throws(KilnError) -> GGUFTensorInfo {
        guard let i = indexByName[name] else {
            throw KilnError(.notFound, "no tensor named '\(name)' (\(tensorInfos.count) tensors)", file: path)
        }
        return tensorInfos[i]
    }

    /// The stored bytes of a tensor, as a view into the mapping.
    public func data(of info: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        let start = dataOffset + info.offset
        return UnsafeRawBufferPointer(rebasing: mapped.bytes[start ..< start + info.byteCount])
    }

    public func withBytes<R>(of tensor: TensorInfo, rows: Range<Int>, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try checkRows(rows, of: tensor)
        let info = try tensorInfo(named: tensor.name)
        let all = data(of: info)
        let rowBytes = tensor.bytesPerRow
        return try body(UnsafeRawBufferPointer(rebasing: all[rows.lowerBound * rowBytes ..< rows.upperBound * rowBytes]))
    }
}

extension String {
    init(format2 byte: UInt8) {
        let hex = String(byte, radix: 16)
        self = hex.count == 1 ? "0" + hex : hex
    }
}
