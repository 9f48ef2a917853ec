import KilnCore

/// Writes a GGUF v3 file as a stream: header and tensor infos first, then each tensor's bytes as they are produced.
///
/// The whole model is never in memory: sizes come from the tensor list given up front, offsets are packed and
/// padded exactly as ggml's `gguf_write_out` does (zero padding after the header and after every tensor), and the
/// file appears at `path` only when `finish()` succeeds (temp file + rename).
public final class GGUFStreamWriter {
    public let path: String
    public let alignment: Int
    /// Tensor infos with their final offsets, in write order.
    public let tensorInfos: [GGUFTensorInfo]
    private let output: AtomicOutputFile
    private var next = 0
    private var written = 0

    /// Writes the header. `metadata` order is kept; `general.alignment` (UINT32) sets the alignment if present.
    /// `inputs` are paths the output must not overwrite.
    public init(path: String, metadata: [GGUFMetadataEntry], tensors: [GGUFTensorInfo], inputs: [String] = []) throws {
        self.path = path
        var alignment = GGUFFile.defaultAlignment
        if let a = metadata[key: GGUFKey.alignment] {
            guard case .uint32(let v) = a, v > 0, v & (v - 1) == 0 else {
                throw KilnError(.usage, "general.alignment must be a UINT32 power of two", file: path)
            }
            alignment = Int(v)
        }
        self.alignment = alignment
        var seen = Set<String>()
        for e in metadata where !seen.insert(e.key).inserted {
            throw KilnError(.usage, "duplicate metadata key '\(e.key)'", file: path)
        }
        seen.removeAll()
        var infos: [GGUFTensorInfo] = []
        var offset = 0
        for t in tensors {
            guard seen.insert(t.name).inserted else { throw KilnError(.usage, "duplicate tensor name", file: path, tensor: t.name) }
            guard (1 ... 4).contains(t.ne.count), t.ne.allSatisfy({ $0 >= 0 }), t.ne[0] % t.type.blockSize == 0,
                  t.type.byteCount(elements: t.elementCount) != nil else {
                throw KilnError(.usage, "invalid shape \(t.ne) for type \(t.type)", file: path, tensor: t.name)
            }
            var info = t
            info.offset = offset
            infos.append(info)
            offset += GGUFStreamWriter.padded(info.byteCount, alignment)
        }
        tensorInfos = infos

        var enc = GGUFEncoder()
        enc.bytes.append(contentsOf: GGUFFile.magic)
        enc.put(UInt32(3))
        enc.put(Int64(infos.count))
        enc.put(Int64(metadata.count))
        for e in metadata { enc.putEntry(e) }
        for t in infos {
            enc.putString(t.name)
            enc.put(UInt32(t.ne.count))
            for d in t.ne { enc.put(Int64(d)) }
            enc.put(t.type.id)
            enc.put(UInt64(t.offset))
        }
        let pad = GGUFStreamWriter.padded(enc.bytes.count, alignment) - enc.bytes.count
        enc.bytes.append(contentsOf: repeatElement(0, count: pad))

        output = try AtomicOutputFile(path: path, inputs: inputs)
        try output.write(enc.bytes)
    }

    static func padded(_ n: Int, _ alignment: Int) -> Int { (n + alignment - 1) / alignment * alignment }

    /// The tensor whose bytes are expected next, or nil when all have been written.
    public var nextTensor: GGUFTensorInfo? { next < tensorInfos.count ? tensorInfos[next] : nil }

    /// Appends a piece of the current tensor's data; the tensor is complete (and padded) once all its bytes arrived.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard let t = nextTensor else { throw KilnError(.usage, "more tensor data than tensors", file: path) }
        guard written + bytes.count <= t.byteCount else {
            throw KilnError(.usage, "tensor data is \(written + bytes.count) bytes, expected \(t.byteCount)", file: path, tensor: t.name)
        }
        try output.write(bytes)
        written += bytes.count
        if written == t.byteCount {
            try output.writeZeros(GGUFStreamWriter.padded(t.byteCount, alignment) - t.byteCount)
            next += 1
            written = 0
        }
    }

    /// Checks that every tensor was written, then moves the file into place.
    public func finish() throws {
        while let t = nextTensor, t.byteCount == 0 {  // empty tensors need no call to write
            _ = t
            next += 1
        }
        guard next == tensorInfos.count else {
            throw KilnError(.usage, "only \(next) of \(tensorInfos.count) tensors were written", file: path)
        }
        try output.commit()
    }
}
