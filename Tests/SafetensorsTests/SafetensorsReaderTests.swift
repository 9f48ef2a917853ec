import Foundation
import KilnCore
import KilnTestSupport
import Safetensors
import Testing

/// The reader against files written by the real `safetensors` package (scripts/gen_safetensors_fixtures.py).
@Suite struct SafetensorsReaderTests {
    static let dtypes: [(String, String)] = [
        ("f64", "F64"), ("f32", "F32"), ("f16", "F16"), ("bf16", "BF16"), ("i64", "I64"), ("i32", "I32"), ("i16", "I16"),
        ("i8", "I8"), ("u8", "U8"), ("bool", "BOOL"), ("f8_e4m3", "F8_E4M3"), ("f8_e5m2", "F8_E5M2"), ("scalar", "F32"),
        ("empty", "F32"),
    ]

    @Test(arguments: dtypes)
    func storedBytesShapeAndTypeMatchNumpy(_ name: String, _ dtype: String) throws {
        let st = try SafetensorsCheckpoint(path: Fixtures.path("safetensors/all-dtypes.safetensors"))
        let t = try st.tensor(named: name)
        let want = try NpyFile(path: Fixtures.path("safetensors/expected/\(name).npy"))
        #expect(t.type.description == dtype)
        #expect(t.shape == want.shape)
        try st.withBytes(of: t) { #expect(Data($0) == want.payload) }
    }

    @Test(arguments: ["f64", "f32", "f16", "bf16", "f8_e4m3", "f8_e5m2", "scalar"])
    func decodedFloatsMatchNumpyAstypeFloat32(_ name: String) throws {
        let st = try SafetensorsCheckpoint(path: Fixtures.path("safetensors/all-dtypes.safetensors"))
        let t = try st.tensor(named: name)
        let want = try NpyFile(path: Fixtures.path("safetensors/expected/\(name).f32.npy")).floats
        var got = [Float](repeating: 0, count: t.elementCount)
        try st.withBytes(of: t) { bytes in
            got.withUnsafeMutableBufferPointer { #expect(ScalarDecoding.toFloat(t.type, bytes, count: t.elementCount, into: $0)) }
        }
        #expect(got.map(\.bitPattern) == want.map(\.bitPattern))
    }

    @Test func metadataAndOffsets() throws {
        let f = try SafetensorsFile(path: Fixtures.path("safetensors/all-dtypes.safetensors"))
        #expect(f.metadata == ["format": "np", "kiln": "fixture"])
        #expect(f.tensors.count == 14)
        let end = f.tensors.map { $0.fileOffset! + $0.byteCount }.max()!
        #expect(end == f.mapped.count)
    }

    @Test func shardedCheckpointThroughTheIndex() throws {
        let st = try SafetensorsCheckpoint(path: Fixtures.path("safetensors/sharded"))
        #expect(st.files.count == 2)
        #expect(Set(st.tensors.map(\.name)) == ["model.embed_tokens.weight", "model.norm.weight", "model.layers.0.mlp.up_proj.weight"])
        for t in st.tensors {
            let want = try NpyFile(path: Fixtures.path("safetensors/expected/sharded.\(t.name).npy"))
            #expect(t.shape == want.shape)
            try st.withBytes(of: t) { #expect(Data($0) == want.payload) }
        }
        let emb = try st.tensor(named: "model.embed_tokens.weight")
        let rows = try NpyFile(path: Fixtures.path("safetensors/expected/sharded.model.embed_tokens.weight.npy")).payload
        try st.withBytes(of: emb, rows: 2 ..< 5) { #expect(Data($0) == rows[rows.startIndex + 32 ..< rows.startIndex + 80]) }
    }
}

/// Corrupt safetensors files give typed errors that name the file, never a crash.
@Suite struct SafetensorsBadInputTests {
    static let good = try! Fixtures.data("safetensors/all-dtypes.safetensors")

    func open(_ bytes: Data) -> KilnError? {
        let dir = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir) }
        let path = dir + "/bad.safetensors"
        _ = FileManager.default.createFile(atPath: path, contents: bytes)
        do {
            _ = try SafetensorsCheckpoint(path: path)
            return nil
        } catch {
            #expect(error.file == path)
            return error
        }
    }

    func withHeader(_ json: String, data: Int = 16) -> Data {
        var d = Data()
        withUnsafeBytes(of: UInt64(json.utf8.count).littleEndian) { d.append(contentsOf: $0) }
        d.append(contentsOf: json.utf8)
        d.append(Data(count: data))
        return d
    }

    @Test func truncationsAndHugeHeaderLength() {
        let headerLength = Int(Self.good.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        for n in [0, 4, 8, 9, 100, 8 + headerLength - 1, 8 + headerLength + 10, Self.good.count - 1] {
            #expect(open(Self.good.prefix(n)) != nil, "prefix \(n)")
        }
        var huge = Self.good
        huge.replaceSubrange(0 ..< 8, with: [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])
        #expect(open(huge)?.kind == .truncated)
    }

    @Test func badHeaders() {
        #expect(open(withHeader("not json"))?.kind == .invalid)
        #expect(open(withHeader("[1, 2]"))?.kind == .invalid)
        #expect(open(withHeader(#"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 12]}}"#))?.kind == .invalid)
        #expect(open(withHeader(#"{"a": {"dtype": "Q9", "shape": [2], "data_offsets": [0, 8]}}"#))?.kind == .unsupported)
        #expect(open(withHeader(#"{"a": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}}"#))?.kind == .invalid)
        #expect(open(withHeader(#"{"a": {"dtype": "F32", "shape": [4611686018427387904, 4], "data_offsets": [0, 8]}}"#))?.kind == .invalid)
        #expect(open(withHeader(#"{"a": {"dtype": "F32", "shape": [8], "data_offsets": [0, 32]}}"#))?.kind == .truncated)
        let overlap = #"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}"#
        #expect(open(withHeader(overlap))?.kind == .invalid)
        #expect(open(withHeader(#"{"__metadata__": {"a": 1}}"#))?.kind == .invalid)
    }
}
