import Foundation
import GGUFWriter
import KilnCore
import KilnTestSupport
import Testing

/// The reader against files written by gguf-py (scripts/gen_gguf_fixtures.py) and the JSON describing what it wrote.
@Suite struct GGUFReaderTests {
    static func expected() throws -> [String: Any] {
        try Fixtures.json("gguf/all-value-types.json") as! [String: Any]
    }

    @Test func headerAndLayout() throws {
        let f = try GGUFFile(path: Fixtures.path("gguf/all-value-types.gguf"))
        #expect(f.version == 3)
        #expect(f.alignment == 32)
        #expect(f.dataOffset == 1632)  // as gguf-py's reader reports it
        #expect(f.metadata.count == 28)
        #expect(f.metadata.first?.key == "general.architecture")
        let g = try GGUFFile(path: Fixtures.path("gguf/aligned64.gguf"))
        #expect(g.alignment == 64)
        #expect(g.dataOffset % 64 == 0)
        #expect(g.tensorInfos.allSatisfy { $0.offset % 64 == 0 })
    }

    @Test func everyValueTypeMatchesWhatGGUFPyWrote() throws {
        let f = try GGUFFile(path: Fixtures.path("gguf/all-value-types.gguf"))
        let kv = try Self.expected()["metadata"] as! [[String: Any]]
        #expect(kv.count == 27)
        for e in kv {
            let key = e["key"] as! String
            let value = try #require(f.metadata[key: key], "missing \(key)")
            #expect(value.type.description == e["type"] as! String, "\(key)")
            if let sub = e["element_type"] as? String {
                let arr = try #require(value.arrayValue)
                #expect(arr.elementType.description == sub, "\(key)")
                let items = e["value"] as! [Any]
                #expect(arr.count == items.count, "\(key)")
                for (i, item) in items.enumerated() { Self.check(arr[i], item, key) }
            } else {
                Self.check(value, e["value"]!, key)
            }
        }
    }

    static func check(_ v: GGUFValue, _ expected: Any, _ key: String) {
        switch v {
        case .string(let s): #expect(s == expected as? String, "\(key)")
        case .bool(let b): #expect(b == (expected as? Bool), "\(key)")
        case .float32(let x): #expect(x == Float((expected as! NSNumber).doubleValue), "\(key)")
        case .float64(let x): #expect(x == (expected as! NSNumber).doubleValue, "\(key)")
        case .uint64(let x): #expect(x == (expected as! NSNumber).uint64Value, "\(key)")
        case .int64(let x): #expect(x == (expected as! NSNumber).int64Value, "\(key)")
        default: #expect(v.intValue == (expected as! NSNumber).intValue, "\(key)")
        }
    }

    @Test func tensorsMatchWhatGGUFPyWrote() throws {
        let f = try GGUFFile(path: Fixtures.path("gguf/all-value-types.gguf"))
        let tensors = try Self.expected()["tensors"] as! [[String: Any]]
        #expect(f.tensorInfos.map(\.name) == tensors.map { $0["name"] as! String })
        for (info, e) in zip(f.tensorInfos, tensors) {
            #expect(info.ne == e["ne"] as! [Int])
            #expect(info.type.name == e["type"] as! String)
            let t = try f.tensor(named: info.name)
            #expect(t.shape == info.ne.reversed())
            guard t.type != .ggml(.q8_0) else { continue }  // block types are checked in QuantCoreTests
            let want = (e["values"] as! [NSNumber]).map { $0.floatValue }
            var got = [Float](repeating: 0, count: want.count)
            try f.withBytes(of: t) { bytes in
                got.withUnsafeMutableBufferPointer { #expect(ScalarDecoding.toFloat(t.type, bytes, count: want.count, into: $0)) }
            }
            #expect(got == want, "\(info.name)")
        }
    }

    @Test func rowRangesAreViewsIntoTheMapping() throws {
        let f = try GGUFFile(path: Fixtures.path("gguf/all-value-types.gguf"))
        let t = try f.tensor(named: "t.cube")  // shape [2, 3, 5] F32
        try f.withBytes(of: t, rows: 1 ..< 2) { bytes in
            #expect(bytes.count == 60)
            #expect(bytes.baseAddress == f.mapped.bytes.baseAddress! + t.fileOffset! + 60)
        }
        #expect(throws: KilnError.self) { try f.withBytes(of: t, rows: 1 ..< 3) { _ in } }
    }
}
