import Foundation
import GGUFWriter
import KilnCLI
import KilnCore
import KilnTestSupport
import Testing

/// `inspect --json` against gguf-py's reading of the real 270M file (scripts/gen_gguf_golden_270m.py).
@Suite(RealModel.required("InspectAgainstGGUFPyTests"))
struct InspectAgainstGGUFPyTests {
    @Test func jsonMatchesGGUFPyFieldByField() throws {
        let golden = try Fixtures.json("gguf/gemma270m-ggufpy.json") as! [String: Any]
        let source = try SourceOpener.open(try RealModel.gemma270m())
        let report = InspectReport(source: source)
        // Round-trip our JSON text through a JSON parser, so the test checks what users get.
        let ours = try JSONSerialization.jsonObject(with: Data(report.json.serialized().utf8)) as! [String: Any]
        let header = ours["header"] as! [String: Any]
        #expect(header["alignment"] as? Int == golden["alignment"] as? Int)
        #expect(header["data_offset"] as? Int == golden["data_offset"] as? Int)
        #expect(header["file_size"] as? Int == golden["file_size"] as? Int)

        let meta = ours["metadata"] as! [[String: Any]]
        let want = golden["metadata"] as! [[String: Any]]
        #expect(meta.map { $0["key"] as! String } == want.map { $0["key"] as! String })
        for (m, w) in zip(meta, want) {
            let key = w["key"] as! String
            #expect(m["type"] as? String == w["type"] as? String, "\(key)")
            if let et = w["element_type"] as? String {
                #expect(m["element_type"] as? String == et, "\(key)")
                #expect(m["length"] as? Int == w["length"] as? Int, "\(key)")
                let first = (w["first"] as! [Any]).prefix(InspectReport.arrayPreview)
                #expect(Self.same((m["first"] ?? m["values"]) as! [Any], Array(first)), "\(key)")
            } else {
                #expect(Self.same([m["value"]!], [w["value"]!]), "\(key)")
            }
        }

        let tensors = ours["tensors"] as! [[String: Any]]
        let wantTensors = golden["tensors"] as! [[String: Any]]
        #expect(tensors.count == wantTensors.count)
        let dataOffset = golden["data_offset"] as! Int
        for (t, w) in zip(tensors, wantTensors) {
            #expect(t["name"] as? String == w["name"] as? String)
            #expect(t["ne"] as? [Int] == w["ne"] as? [Int])
            #expect(t["type"] as? String == w["type"] as? String)
            #expect(t["bytes"] as? Int == w["bytes"] as? Int)
            #expect(t["offset"] as? Int == dataOffset + (w["offset"] as! Int))
        }
    }

    /// The full arrays (not only the JSON preview) agree with gguf-py: last items and digests.
    @Test func fullArraysMatchGGUFPyDigests() throws {
        let golden = try Fixtures.json("gguf/gemma270m-ggufpy.json") as! [String: Any]
        let f = try GGUFFile(path: try RealModel.gemma270m())
        for w in (golden["metadata"] as! [[String: Any]]) where w["element_type"] != nil {
            let key = w["key"] as! String
            let arr = try #require(f.metadata[key: key]?.arrayValue)
            let digest = w["digest"] as! [String: Any]
            switch arr {
            case .string(let items):
                var h: UInt64 = 0xcbf2_9ce4_8422_2325
                for s in items {
                    for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
                    h = (h ^ 0) &* 0x100_0000_01b3
                }
                #expect(String(h) == digest["fnv1a64"] as? String, "\(key)")
                #expect(Array(items.suffix(4)) == w["last"] as! [String], "\(key)")
            case .float32(let xs):
                var s = 0.0
                for x in xs { s += Double(x) }
                #expect(s == (digest["sum"] as! NSNumber).doubleValue, "\(key)")
            case .int32(let xs):
                #expect(xs.reduce(0) { $0 + Int($1) } == (digest["sum"] as! NSNumber).intValue, "\(key)")
            default:
                break
            }
        }
    }

    static func same(_ a: [Any], _ b: [Any]) -> Bool {
        guard a.count == b.count else { return false }
        return zip(a, b).allSatisfy { x, y in
            if let x = x as? String, let y = y as? String { return x == y }
            if let x = x as? NSNumber, let y = y as? NSNumber { return x.doubleValue == y.doubleValue }
            return false
        }
    }
}

/// `inspect` on committed fixtures: histogram, stats against numpy, npy bytes against numpy's own files.
@Suite struct InspectFixtureTests {
    @Test func histogramAndTotals() throws {
        let report = InspectReport(source: try SourceOpener.open(Fixtures.path("gguf/all-value-types.gguf")))
        let hist = report.histogram
        #expect(hist.map(\.type) == ["F32", "F16", "I8", "I16", "I32", "Q8_0"])
        #expect(hist.first { $0.type == "F32" }?.tensors == 2)
        #expect(hist.first { $0.type == "F32" }?.bytes == 168)
        let text = report.text
        #expect(text.contains("t.cube"))
        #expect(text.contains("test.arr.long"))
    }

    @Test func jsonPreviewsLongArrays() throws {
        let report = InspectReport(source: try SourceOpener.open(Fixtures.path("gguf/all-value-types.gguf")))
        let doc = try JSONSerialization.jsonObject(with: Data(report.json.serialized().utf8)) as! [String: Any]
        let meta = doc["metadata"] as! [[String: Any]]
        let long = meta.first { $0["key"] as? String == "test.arr.long" }!
        #expect(long["length"] as? Int == 40)
        #expect((long["first"] as! [Int]) == Array(0 ..< 16))
        let short = meta.first { $0["key"] as? String == "test.arr.string" }!
        #expect(short["values"] as? [String] == ["<pad>", "", "▁hello", "日本語"])
        #expect((meta.first { $0["key"] as? String == "test.string" }!["value"] as? String) == "Kiln ▁ ünïcödé 🔥 \n\t\"quoted\"")
    }

    @Test(arguments: ["f64", "f32", "f16", "bf16"])
    func statsMatchNumpy(_ name: String) throws {
        let golden = (try Fixtures.json("safetensors/expected/stats.json") as! [String: [String: Any]])[name]!
        let source = try SourceOpener.open(Fixtures.path("safetensors/all-dtypes.safetensors"))
        let s = try TensorStats.of(source, try source.tensor(named: name))
        // f64 values pass through float32 (Kiln decodes everything to float32); the rest are exact in float32, and the
        // remaining difference is numpy's pairwise vs our sequential float64 summation.
        let tol = name == "f64" ? 1e-6 : 1e-12
        func close(_ a: Double, _ key: String) -> Bool { abs(a - (golden[key] as! NSNumber).doubleValue) <= tol * max(1, abs(a)) }
        #expect(close(s.min, "min"))
        #expect(close(s.max, "max"))
        #expect(close(s.mean, "mean"))
        #expect(close(s.std, "std"))
        #expect(s.count == golden["count"] as? Int)
        #expect(s.nanCount == 0 && s.infCount == 0)
    }

    @Test func statsCountNaNAndInf() {
        var s = TensorStats()
        let v: [Float] = [1, .nan, -.infinity, 3, .infinity]
        v.withUnsafeBufferPointer { s.add($0) }
        #expect(s.nanCount == 1 && s.infCount == 2 && s.min == 1 && s.max == 3 && s.mean == 2)
    }

    /// Our .npy bytes equal numpy's own `np.save` output for native dtypes.
    @Test(arguments: ["f32", "f16", "f64", "i32", "i8", "u8", "bool", "scalar", "empty"])
    func npyIsByteIdenticalToNumpy(_ name: String) throws {
        let dir = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir) }
        let source = try SourceOpener.open(Fixtures.path("safetensors/all-dtypes.safetensors"))
        try NpyExport.write(source, try source.tensor(named: name), to: dir + "/out.npy")
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/out.npy")) == Fixtures.data("safetensors/expected/\(name).npy"))
    }

    /// bfloat16 has no numpy dtype: it is exported as float32, equal to numpy's `astype(float32)`.
    @Test func npyOfBFloat16IsFloat32() throws {
        let dir = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir) }
        let source = try SourceOpener.open(Fixtures.path("safetensors/all-dtypes.safetensors"))
        try NpyExport.write(source, try source.tensor(named: "bf16"), to: dir + "/out.npy")
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/out.npy")) == Fixtures.data("safetensors/expected/bf16.f32.npy"))
    }

    @Test func unknownFilesAreRejected() throws {
        let dir = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir) }
        _ = FileManager.default.createFile(atPath: dir + "/x.bin", contents: Data("hello world".utf8))
        #expect(throws: KilnError.self) { _ = try SourceOpener.open(dir + "/x.bin") }
        #expect(throws: KilnError.self) { _ = try SourceOpener.open(dir + "/missing") }
    }
}
