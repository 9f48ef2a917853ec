import GGUFWriter
import KilnCore
import Safetensors

/// What `inspect` says about a source, built once and rendered either as a table or as JSON.
///
/// JSON keys (stable; documented in the README): `path`, `format`, `header` (format-specific), `metadata` (ordered
/// list of `{key, type, value}`; arrays give `element_type`, `length` and `values` (≤16 items) or `first` (16 items)),
/// `tensors` (`{name, shape, type, bytes, offset}` plus `ne` for GGUF), `totals` and `types` (per-type histogram).
public struct InspectReport {
    public static let arrayPreview = 16

    public let source: any TensorSource

    public init(source: any TensorSource) { self.source = source }

    public var header: [(String, JSONValue)] {
        switch source {
        case let g as GGUFFile:
            return [("version", .int(Int(g.version))), ("alignment", .int(g.alignment)), ("data_offset", .int(g.dataOffset)),
                    ("tensor_count", .int(g.tensorInfos.count)), ("kv_count", .int(g.metadata.count)), ("file_size", .int(g.mapped.count))]
        case let s as SafetensorsCheckpoint:
            return [("files", .array(s.files.map { .string($0.path) })),
                    ("data_offsets", .array(s.files.map { .int($0.dataOffset) }))]
        default:
            return extraHeader(for: source)
        }
    }

    /// Metadata entries as JSON objects, in source order.
    public var metadata: [JSONValue] {
        switch source {
        case let g as GGUFFile:
            return g.metadata.map(InspectReport.json(entry:))
        case let s as SafetensorsCheckpoint:
            return s.files.flatMap { f in
                f.metadata.keys.sorted().map { k in
                    JSONValue.object([("key", .string(k)), ("type", .string("STRING")), ("value", .string(f.metadata[k]!))])
                }
            }
        default:
            return extraMetadata(for: source)
        }
    }

    static func json(entry e: GGUFMetadataEntry) -> JSONValue {
        var fields: [(String, JSONValue)] = [("key", .string(e.key)), ("type", .string(e.value.type.description))]
        if case .array(let a) = e.value {
            fields.append(("element_type", .string(a.elementType.description)))
            fields.append(("length", .int(a.count)))
            let n = min(a.count, arrayPreview)
            let items = (0 ..< n).map { json(scalar: a[$0]) }
            fields.append((a.count <= arrayPreview ? "values" : "first", .array(items)))
        } else {
            fields.append(("value", json(scalar: e.value)))
        }
        return .object(fields)
    }

    static func json(scalar v: GGUFValue) -> JSONValue {
        switch v {
        case .bool(let b): .bool(b)
        case .string(let s): .string(s)
        case .float32(let f): .double(Double(f))
        case .float64(let d): .double(d)
        case .uint64(let u): u <= UInt64(Int.max) ? .int(Int(u)) : .double(Double(u))
        case .array: .null
        default: .int(v.intValue ?? 0)
        }
    }

    public func tensorJSON(_ t: TensorInfo) -> JSONValue {
        var fields: [(String, JSONValue)] = [
            ("name", .string(t.name)), ("shape", .array(t.shape.map { .int($0) })), ("type", .string(t.type.description)),
            ("bytes", .int(t.byteCount)),
        ]
        if source is GGUFFile { fields.append(("ne", .array(t.shape.reversed().map { .int($0) }))) }
        fields.append(("offset", t.fileOffset.map { .int($0) } ?? .null))
        fields.append(contentsOf: extraTensorFields(t))
        return .object(fields)
    }

    /// Per-type tensor counts and bytes, in order of first appearance.
    public var histogram: [(type: String, tensors: Int, bytes: Int)] {
        var order: [String] = []
        var counts: [String: (Int, Int)] = [:]
        for t in source.tensors {
            let k = t.type.description
            if counts[k] == nil { order.append(k) }
            let c = counts[k, default: (0, 0)]
            counts[k] = (c.0 + 1, c.1 + t.byteCount)
        }
        return order.map { ($0, counts[$0]!.0, counts[$0]!.1) }
    }

    public var json: JSONValue {
        let tensors = source.tensors
        return .object([
            ("path", .string(source.path)),
            ("format", .string(source.formatName)),
            ("header", .object(header)),
            ("metadata", .array(metadata)),
            ("tensors", .array(tensors.map(tensorJSON))),
            ("totals", .object([
                ("tensors", .int(tensors.count)),
                ("elements", .int(tensors.reduce(0) { $0 + $1.elementCount })),
                ("bytes", .int(tensors.reduce(0) { $0 + $1.byteCount })),
            ])),
            ("types", .array(histogram.map { .object([("type", .string($0.type)), ("tensors", .int($0.tensors)), ("bytes", .int($0.bytes))]) })),
        ])
    }
}
