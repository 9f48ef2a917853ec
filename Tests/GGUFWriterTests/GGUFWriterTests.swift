import Foundation
import GGUFWriter
import KilnCore
import KilnTestSupport
import Testing

/// The writer reproduces gguf-py's bytes exactly, for every value type and both alignments.
@Suite struct GGUFWriterTests {
    func rewrite(_ fixture: String) throws -> (Data, Data) {
        let dir = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir) }
        let input = try GGUFFile(path: Fixtures.path(fixture))
        let out = dir + "/out.gguf"
        let w = try GGUFStreamWriter(path: out, metadata: input.metadata, tensors: input.tensorInfos)
        for info in input.tensorInfos {
            // Feed each tensor in two pieces to exercise partial writes.
            let bytes = input.data(of: info)
            let half = bytes.count / 2
            try w.write(UnsafeRawBufferPointer(rebasing: bytes[0 ..< half]))
            try w.write(UnsafeRawBufferPointer(rebasing: bytes[half...]))
        }
        try w.finish()
        return (try Fixtures.data(fixture), try Data(contentsOf: URL(fileURLWithPath: out)))
    }

    @Test(arguments: ["gguf/all-value-types.gguf", "gguf/aligned64.gguf"])
    func rewriteIsByteIdenticalToGGUFPy(_ fixture: String) throws {
        let (want, got) = try rewrite(fixture)
        #expect(got == want)
    }

    /// Metadata built from the JSON description (not from our reader) encodes to gguf-py's exact header bytes.
    @Test func metadataFromScratchEncodesLikeGGUFPy() throws {
        let doc = try Fixtures.json("gguf/all-value-types.json") as! [String: Any]
        var meta: [GGUFMetadataEntry] = [GGUFMetadataEntry("general.architecture", .string("kilntest"))]
        for e in doc["metadata"] as! [[String: Any]] {
            meta.append(GGUFMetadataEntry(e["key"] as! String, Self.value(e)))
        }
        let input = try GGUFFile(path: Fixtures.path("gguf/all-value-types.gguf"))
        #expect(meta == input.metadata)
        let dir = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir) }
        let w = try GGUFStreamWriter(path: dir + "/m.gguf", metadata: meta, tensors: input.tensorInfos.map {
            GGUFTensorInfo(name: $0.name, ne: $0.ne, type: $0.type)
        })
        for info in input.tensorInfos { try w.write(input.data(of: info)) }
        try w.finish()
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/m.gguf")) == Fixtures.data("gguf/all-value-types.gguf"))
    }

    static func value(_ e: [String: Any]) -> GGUFValue {
        let type = e["type"] as! String
        let v = e["value"]!
        func n(_ x: Any) -> NSNumber { x as! NSNumber }
        switch type {
        case "UINT8": return .uint8(n(v).uint8Value)
        case "INT8": return .int8(n(v).int8Value)
        case "UINT16": return .uint16(n(v).uint16Value)
        case "INT16": return .int16(n(v).int16Value)
        case "UINT32": return .uint32(n(v).uint32Value)
        case "INT32": return .int32(n(v).int32Value)
        case "FLOAT32": return .float32(n(v).floatValue)
        case "BOOL": return .bool(v as! Bool)
        case "STRING": return .string(v as! String)
        case "UINT64": return .uint64(n(v).uint64Value)
        case "INT64": return .int64(n(v).int64Value)
        case "FLOAT64": return .float64(n(v).doubleValue)
        default:
            let items = v as! [Any]
            switch e["element_type"] as! String {
            case "UINT8": return .array(.uint8(items.map { n($0).uint8Value }))
            case "INT8": return .array(.int8(items.map { n($0).int8Value }))
            case "UINT16": return .array(.uint16(items.map { n($0).uint16Value }))
            case "INT16": return .array(.int16(items.map { n($0).int16Value }))
            case "UINT32": return .array(.uint32(items.map { n($0).uint32Value }))
            case "INT32": return .array(.int32(items.map { n($0).int32Value }))
            case "FLOAT32": return .array(.float32(items.map { n($0).floatValue }))
            case "BOOL": return .array(.bool(items.map { $0 as! Bool }))
            case "STRING": return .array(.string(items.map { $0 as! String }))
            case "UINT64": return .array(.uint64(items.map { n($0).uint64Value }))
            case "INT64": return .array(.int64(items.map { n($0).int64Value }))
            default: return .array(.float64(items.map { n($0).doubleValue }))
            }
        }
    }

    @Test func setMovesAKeyToTheEndLikeGGML() {
        var m = [GGUFMetadataEntry("a", .uint32(1)), GGUFMetadataEntry("b", .uint32(2))]
        m.set("a", .uint32(3))
        #expect(m.map(\.key) == ["b", "a"])
        #expect(m[key: "a"] == .uint32(3))
    }

    @Test func wrongSizesAndMissingTensorsAreRefusedAndNothingIsLeftBehind() throws {
        let dir = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir) }
        let path = dir + "/x.gguf"
        do {
            let w = try GGUFStreamWriter(path: path, metadata: [], tensors: [GGUFTensorInfo(name: "a", ne: [4], type: .f32)])
            #expect(throws: KilnError.self) { try w.write(UnsafeRawBufferPointer(start: nil, count: 0)); try w.finish() }
            let big = [UInt8](repeating: 0, count: 20)
            #expect(throws: KilnError.self) { try big.withUnsafeBytes { try w.write($0) } }
        }
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
        #expect(throws: KilnError.self) {
            _ = try GGUFStreamWriter(path: path, metadata: [], tensors: [GGUFTensorInfo(name: "q", ne: [33], type: .q4_0)])
        }
    }
}
