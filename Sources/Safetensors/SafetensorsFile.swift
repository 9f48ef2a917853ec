import Foundation
import KilnCore

/// One `.safetensors` file, memory-mapped: an 8-byte header length, a JSON header, then raw little-endian tensors.
public final class SafetensorsFile: @unchecked Sendable {
    public let path: String
    public let mapped: MappedFile
    /// Tensors in data-offset order; `fileOffset` is absolute.
    public let tensors: [TensorInfo]
    /// The optional `__metadata__` string map.
    public let metadata: [String: String]
    /// Absolute offset of the data section (8 + header length).
    public let dataOffset: Int

    public convenience init(path: String) throws(KilnError) {
        try self.init(mapped: try MappedFile(path: path))
    }

    /// Parses an already mapped (or in-memory) file.
    public init(mapped: MappedFile) throws(KilnError) {
        let path = mapped.path
        self.path = path
        self.mapped = mapped
        var c = mapped.cursor()
        let headerLength = try c.read(UInt64.self, "the header length")
        guard headerLength <= UInt64(c.remaining) else {
            throw KilnError(.truncated, "header length \(headerLength) exceeds the \(c.remaining) bytes after it", file: path, offset: 0)
        }
        let headerBytes = try c.readBytes(Int(headerLength), "the JSON header")
        dataOffset = 8 + Int(headerLength)
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(headerBytes))
        } catch {
            throw KilnError(.invalid, "header is not valid JSON: \(error.localizedDescription)", file: path, offset: 8)
        }
        guard let root = json as? [String: Any] else {
            throw KilnError(.invalid, "header is not a JSON object", file: path, offset: 8)
        }
        var meta: [String: String] = [:]
        var infos: [TensorInfo] = []
        for (name, value) in root {
            if name == "__metadata__" {
                guard let m = value as? [String: Any] else {
                    throw KilnError(.invalid, "__metadata__ is not an object", file: path, offset: 8)
                }
                for (k, v) in m {
                    guard let s = v as? String else { throw KilnError(.invalid, "__metadata__['\(k)'] is not a string", file: path, offset: 8) }
                    meta[k] = s
                }
                continue
            }
            infos.append(try SafetensorsFile.parseEntry(name, value, file: path, dataOffset: dataOffset, fileSize: mapped.count))
        }
        infos.sort { ($0.fileOffset ?? 0, $0.name) < ($1.fileOffset ?? 0, $1.name) }
        for (a, b) in zip(infos, infos.dropFirst()) where a.byteCount > 0 && b.byteCount > 0 {
            if let ao = a.fileOffset, let bo = b.fileOffset, bo < ao + a.byteCount {
                throw KilnError(.invalid, "data overlaps tensor '\(a.name)'", file: path, offset: bo, tensor: b.name)
            }
        }
        metadata = meta
        tensors = infos
    }

    private static func parseEntry(_ name: String, _ value: Any, file: String, dataOffset: Int, fileSize: Int) throws(KilnError) -> TensorInfo {
        func bad(_ msg: String) -> KilnError { KilnError(.invalid, msg, file: file, offset: 8, tensor: name) }
        guard let entry = value as? [String: Any] else { throw bad("header entry is not an object") }
        guard let dtypeName = entry["dtype"] as? String else { throw bad("missing dtype") }
        guard let dtype = SafetensorsDType.elementType(dtypeName) else {
            throw KilnError(.unsupported, "unsupported dtype \(dtypeName)", file: file, offset: 8, tensor: name)
        }
        guard let shapeAny = entry["shape"] as? [Any] else { throw bad("missing shape") }
        var shape: [Int] = []
        for d in shapeAny {
            guard let n = (d as? NSNumber)?.int64Value, n >= 0, (d as? NSNumber)?.doubleValue == Double(n) else { throw bad("bad shape \(shapeAny)") }
            shape.append(Int(n))
        }
        guard let elements = Checked.elementCount(shape) else { throw bad("shape \(shapeAny) overflows") }
        guard let offs = entry["data_offsets"] as? [Any], offs.count == 2,
              let begin = (offs[0] as? NSNumber)?.int64Value, let end = (offs[1] as? NSNumber)?.int64Value,
              begin >= 0, end >= begin else { throw bad("bad data_offsets") }
        guard let expected = dtype.byteCount(elements: elements), Int64(expected) == end - begin else {
            throw bad("data_offsets span \(end - begin) bytes but \(dtypeName)\(shape) needs \(dtype.byteCount(elements: elements).map(String.init) ?? "too many")")
        }
        // `end` comes from the file: compare without adding, so a huge value cannot overflow.
        guard end <= Int64(fileSize - dataOffset) else {
            throw KilnError(.truncated, "tensor data ends \(end) bytes into the data section, past the end of the file (\(fileSize) bytes)",
                            file: file, offset: Checked.sum(dataOffset, Int(begin)), tensor: name)
        }
        return TensorInfo(name: name, shape: shape, type: dtype, byteCount: expected, fileOffset: dataOffset + Int(begin))
    }

    /// The stored bytes of `tensor` (a view into the mapping).
    public func data(of tensor: TensorInfo) -> UnsafeRawBufferPointer {
        let start = tensor.fileOffset ?? dataOffset
        return UnsafeRawBufferPointer(rebasing: mapped.bytes[start ..< start + tensor.byteCount])
    }
}
