import Foundation
import KilnCore
import Testing
@testable import FlaxCheckpoint

/// Damaged checkpoints give the right KilnError kind, naming the file (and parameter), and never crash.
@Suite struct BadInputTests {
    @Test func corruptManifestCRC() throws {
        let copy = try temporaryCopy(of: "default")
        defer { cleanup(copy) }
        try patch(copy + "/manifest.ocdbt") { $0[$0.count - 1] ^= 0x01 }
        let e = kilnError { try OrbaxCheckpoint(path: copy) }
        #expect(e?.kind == .checksum)
        #expect(e?.file?.hasSuffix("manifest.ocdbt") == true)
    }

    @Test func corruptBTreeNodeByte() throws {
        let copy = try temporaryCopy(of: "default")
        defer { cleanup(copy) }
        let node = try #require(files(under: copy + "/d").first)
        try patch(node) { $0[$0.count / 2] ^= 0x40 }
        let e = kilnError { try OrbaxCheckpoint(path: copy) }
        #expect(e?.kind == .checksum)
        #expect(e?.file == node)
    }

    @Test func truncatedDataFile() throws {
        let copy = try temporaryCopy(of: "default")
        defer { cleanup(copy) }
        for f in files(under: copy + "/ocdbt.process_0/d") { try patch(f) { $0 = Array($0.prefix(10)) } }
        let ckpt = try OrbaxCheckpoint(path: copy)   // the root tree lives in <ckpt>/d: opening still works
        let t = try ckpt.tensor(named: "embedder.input_embedding")
        let e = kilnError { try ckpt.withBytes(of: t) { $0.count } }
        #expect(e?.kind == .truncated)
        #expect(e?.tensor == "embedder.input_embedding")
        #expect(e?.file?.contains("ocdbt.process_0/d/") == true)
        #expect(e?.message.contains("embedder.input_embedding/0.0") == true)
    }

    @Test func missingDataFile() throws {
        let copy = try temporaryCopy(of: "default")
        defer { cleanup(copy) }
        for f in files(under: copy + "/ocdbt.process_0/d") { try FileManager.default.removeItem(atPath: f) }
        let ckpt = try OrbaxCheckpoint(path: copy)
        let e = kilnError { try ckpt.withBytes(of: try ckpt.tensor(named: "embedder.input_embedding")) { $0.count } }
        #expect(e?.kind == .notFound)
        #expect(e?.tensor == "embedder.input_embedding")
        // A missing root node file fails at open.
        let copy2 = try temporaryCopy(of: "default")
        defer { cleanup(copy2) }
        try FileManager.default.removeItem(atPath: copy2 + "/d")
        #expect(kilnError { try OrbaxCheckpoint(path: copy2) }?.kind == .notFound)
    }

    @Test func badJSON() throws {
        let copy = try temporaryCopy(of: "no_ocdbt")
        defer { cleanup(copy) }
        try Data("{\"chunks\":[3,5],\"dtype\":".utf8).write(to: URL(fileURLWithPath: copy + "/transformer.quant.i4/.zarray"))
        let e = kilnError { try OrbaxCheckpoint(path: copy) }
        #expect(e?.kind == .invalid)
        #expect(e?.tensor == "transformer.quant.i4")
        #expect(e?.message.contains("bad JSON") == true)
        #expect(e?.file?.hasSuffix("transformer.quant.i4/.zarray") == true)

        let copy2 = try temporaryCopy(of: "default")
        defer { cleanup(copy2) }
        try Data("{\"tree_metadata\": {".utf8).write(to: URL(fileURLWithPath: copy2 + "/_METADATA"))
        let e2 = kilnError { try OrbaxCheckpoint(path: copy2) }
        #expect(e2?.kind == .invalid && e2?.file?.hasSuffix("_METADATA") == true)
    }

    func rewriteZarray(_ caseName: String, _ array: String, _ edit: (String) -> String) throws -> String {
        let copy = try temporaryCopy(of: caseName)
        let path = copy + "/" + array + "/.zarray"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        try edit(text).write(toFile: path, atomically: true, encoding: .utf8)
        return copy
    }

    @Test func unsupportedCodecAndDtype() throws {
        let a = try rewriteZarray("no_ocdbt", "transformer.quant.i8") { $0.replacingOccurrences(of: "\"id\":\"zstd\"", with: "\"id\":\"blosc\"") }
        defer { cleanup(a) }
        let e = kilnError { try OrbaxCheckpoint(path: a) }
        #expect(e?.kind == .unsupported && e?.message.contains("blosc") == true && e?.tensor == "transformer.quant.i8")

        let b = try rewriteZarray("no_ocdbt", "transformer.quant.i8") { $0.replacingOccurrences(of: "\"|i1\"", with: "\"<c8\"") }
        defer { cleanup(b) }
        let e2 = kilnError { try OrbaxCheckpoint(path: b) }
        #expect(e2?.kind == .unsupported && e2?.message.contains("unsupported dtype '<c8'") == true)

        let c = try rewriteZarray("no_ocdbt", "transformer.quant.i8") { $0.replacingOccurrences(of: "\"|i1\"", with: "\"float8_e4m3fnuz\"") }
        defer { cleanup(c) }
        #expect(kilnError { try OrbaxCheckpoint(path: c) }?.kind == .unsupported)
    }

    @Test func shapeChunkMismatch() throws {
        let a = try rewriteZarray("no_ocdbt", "transformer.quant.i8") { $0.replacingOccurrences(of: "\"chunks\":[5,7]", with: "\"chunks\":[5]") }
        defer { cleanup(a) }
        let e = kilnError { try OrbaxCheckpoint(path: a) }
        #expect(e?.kind == .invalid && e?.message.contains("shape/chunk mismatch") == true)
        // A chunk that decodes to the wrong size (chunks grown, stored data unchanged).
        let b = try rewriteZarray("no_ocdbt", "transformer.quant.i8") { $0.replacingOccurrences(of: "\"chunks\":[5,7]", with: "\"chunks\":[5,8]") }
        defer { cleanup(b) }
        let ckpt = try OrbaxCheckpoint(path: b)
        let e2 = kilnError { try ckpt.withBytes(of: try ckpt.tensor(named: "transformer.quant.i8")) { $0.count } }
        #expect(e2?.kind == .invalid && e2?.tensor == "transformer.quant.i8")
    }

    @Test func truncatedChunkInDirectoryLayout() throws {
        let copy = try temporaryCopy(of: "no_ocdbt")
        defer { cleanup(copy) }
        try patch(copy + "/embedder.input_embedding/0.0") { $0 = Array($0.prefix($0.count / 2)) }
        let ckpt = try OrbaxCheckpoint(path: copy)
        let e = kilnError { try ckpt.withBytes(of: try ckpt.tensor(named: "embedder.input_embedding")) { $0.count } }
        #expect(e != nil && e?.tensor == "embedder.input_embedding")
        #expect(e?.file?.hasSuffix("embedder.input_embedding/0.0") == true)
    }

    @Test func corruptShardIndexCRC() throws {
        let copy = try temporaryCopy(of: "no_ocdbt_zarr3")
        defer { cleanup(copy) }
        try patch(copy + "/transformer.quant.i4/c/0/0") { $0[$0.count - 1] ^= 0xFF }
        let ckpt = try OrbaxCheckpoint(path: copy)
        let e = kilnError { try ckpt.withBytes(of: try ckpt.tensor(named: "transformer.quant.i4")) { $0.count } }
        #expect(e?.kind == .checksum && e?.tensor == "transformer.quant.i4")
    }

    @Test func uncommittedCheckpoints() throws {
        // No manifest (and no per-process databases) although _METADATA says use_ocdbt.
        let a = try temporaryCopy(of: "default")
        defer { cleanup(a) }
        try FileManager.default.removeItem(atPath: a + "/manifest.ocdbt")
        try FileManager.default.removeItem(atPath: a + "/ocdbt.process_0")
        let e = kilnError { try OrbaxCheckpoint(path: a) }
        #expect(e?.kind == .invalid && e?.message.contains("uncommitted") == true)
        // A temp directory left by an interrupted save.
        let b = try temporaryCopy(of: "default")
        defer { cleanup(b) }
        let tmp = b + ".orbax-checkpoint-tmp-1234"
        try FileManager.default.moveItem(atPath: b, toPath: tmp)
        #expect(kilnError { try OrbaxCheckpoint(path: tmp) }?.message.contains("uncommitted") == true)
        // A manager step without commit_success.txt: skipped at the root, refused when opened directly.
        let c = try temporaryCopy(of: "manager")
        defer { cleanup(c) }
        try FileManager.default.removeItem(atPath: c + "/1/commit_success.txt")
        #expect(try OrbaxCheckpoint(path: c).step == 0)
        let e3 = kilnError { try OrbaxCheckpoint(path: c + "/1") }
        #expect(e3?.kind == .invalid && e3?.message.contains("commit_success.txt") == true)
        // tmp directories beside real steps are ignored.
        try FileManager.default.createDirectory(atPath: c + "/7.orbax-checkpoint-tmp-99", withIntermediateDirectories: true)
        #expect(try OrbaxCheckpoint(path: c).step == 0)
    }

    @Test func notACheckpoint() throws {
        #expect(kilnError { try OrbaxCheckpoint(path: fixturesRoot + "/does-not-exist") }?.kind == .notFound)
        #expect(kilnError { try OrbaxCheckpoint(path: fixturesRoot + "/default/expected") }?.kind == .notFound)
    }

    /// Every truncation and many single-byte flips of the manifest and root node: typed errors, never a trap.
    @Test func fuzzManifestAndNode() throws {
        let copy = try temporaryCopy(of: "default")
        defer { cleanup(copy) }
        let manifestPath = copy + "/manifest.ocdbt"
        let nodePath = try #require(files(under: copy + "/d").first)
        let manifest = [UInt8](try Data(contentsOf: URL(fileURLWithPath: manifestPath)))
        let node = [UInt8](try Data(contentsOf: URL(fileURLWithPath: nodePath)))
        for n in 0 ..< manifest.count {
            try Data(manifest.prefix(n)).write(to: URL(fileURLWithPath: manifestPath))
            #expect(kilnError { try OrbaxCheckpoint(path: copy) } != nil)
        }
        try Data(manifest).write(to: URL(fileURLWithPath: manifestPath))
        for n in stride(from: 0, to: node.count, by: max(1, node.count / 97)) {
            var b = node
            b[n] ^= 0x5A
            try Data(b).write(to: URL(fileURLWithPath: nodePath))
            // Magic and length are checked before the CRC; every other byte is caught by the CRC.
            let kind = kilnError { try OrbaxCheckpoint(path: copy) }?.kind
            #expect(n < 12 ? [.badMagic, .truncated, .invalid].contains(kind) : kind == .checksum, "flip at \(n)")
            try Data(node.prefix(n)).write(to: URL(fileURLWithPath: nodePath))
            #expect(kilnError { try OrbaxCheckpoint(path: copy) } != nil)
        }
    }

    /// Envelope-valid but structurally bad bodies (CRC recomputed): decoding errors, never a trap.
    @Test func fuzzDecodedBodies() throws {
        var rng = SystemRandomNumberGenerator()
        for _ in 0 ..< 300 {
            let len = Int.random(in: 0 ..< 120, using: &rng)
            var body = (0 ..< len).map { _ in UInt8.random(in: 0 ... 255, using: &rng) }
            if len > 17 && Bool.random() { body[16] = 0 }  // manifest kind "single"
            var env: [UInt8] = [0x0c, 0xdb, 0x20, 0xde]
            let total = UInt64(4 + 8 + 2 + body.count + 4)
            withUnsafeBytes(of: total.littleEndian) { env.append(contentsOf: $0) }
            env += [0, 0] + body
            let crc = CRC32C.checksum(env)
            withUnsafeBytes(of: crc.littleEndian) { env.append(contentsOf: $0) }
            env.withUnsafeBytes { b in
                _ = try? OCDBTBTreeNode.decode(b, transitive: "", file: "fuzz", fileOffset: 0, maxBodyBytes: 1 << 20)
            }
            env[0 ..< 4] = [0x0c, 0xdb, 0x3a, 0x2a]
            let crc2 = CRC32C.checksum(Array(env[0 ..< env.count - 4]))
            withUnsafeBytes(of: crc2.littleEndian) { env.replaceSubrange(env.count - 4 ..< env.count, with: $0) }
            let dir = NSTemporaryDirectory() + "kiln-fuzz-\(UUID().uuidString)"
            try Data(env).write(to: URL(fileURLWithPath: dir))
            defer { try? FileManager.default.removeItem(atPath: dir) }
            _ = try? OCDBTManifest.decode(try MappedFile(path: dir))
        }
    }

    @Test func zlibTruncatedAndGarbage() throws {
        var out = [UInt8](repeating: 0, count: 64)
        let garbage: [UInt8] = [0x78, 0x9c, 0xff, 0xff, 0x00]
        let e = out.withUnsafeMutableBytes { d in
            garbage.withUnsafeBytes { s in kilnError { try Codecs.inflate(s, gzip: false, into: d, what: "test") } }
        }
        #expect(e != nil)
        let z = garbage.withUnsafeBytes { s in
            out.withUnsafeMutableBytes { d in kilnError { try Codecs.zstd(s, into: d, what: "test") } }
        }
        #expect(z?.kind == .invalid)
    }
}

/// Layout fallbacks: no `_METADATA` (names from the store's array keys), step directories that are checkpoints.
@Suite struct LayoutTests {
    @Test func withoutMetadataListsTheStore() throws {
        for caseName in ["default", "no_ocdbt", "zarr3"] {
            let copy = try temporaryCopy(of: caseName)
            defer { cleanup(copy) }
            try FileManager.default.removeItem(atPath: copy + "/_METADATA")
            let ckpt = try OrbaxCheckpoint(path: copy)
            let expected = try loadExpected(caseName)
            #expect(Set(ckpt.tensors.map(\.name)) == Set(expected.keys), "\(caseName)")
            for t in ckpt.tensors { #expect(try ckpt.withBytes(of: t) { Array($0) } == expected[t.name]!.npy.bytes) }
        }
    }

    @Test func stepDirectoriesThatAreCheckpoints() throws {
        let dir = NSTemporaryDirectory() + "kiln-steps-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: fixturesRoot + "/default/ckpt", toPath: dir + "/3")
        try FileManager.default.copyItem(atPath: fixturesRoot + "/no_ocdbt/ckpt", toPath: dir + "/12")
        let ckpt = try OrbaxCheckpoint(path: dir)
        #expect(ckpt.step == 12 && ckpt.storage == "directory")
    }
}

@Suite struct EmptyDatabaseTests {
    @Test func emptyRootMarker() throws {
        let dir = fixturesRoot + "/ts_empty/ckpt"
        let db = try OCDBTDatabase(directory: dir, cache: FileCache())
        #expect(db.generation == 3 && db.keys.isEmpty)
        #expect(db.manifest.versions.count == 3)
        let e = kilnError { try OrbaxCheckpoint(path: dir) }
        #expect(e?.kind == .notFound && e?.message.contains("no _METADATA and no zarr arrays") == true)
    }
}

/// An in-memory key-value store for feeding arbitrary chunk bytes to the decoder.
final class MemoryStore: KeyValueStore, @unchecked Sendable {
    var values: [String: [UInt8]] = [:]
    let location = "memory"
    func withValue<R>(_ key: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R? {
        guard let v = values[key] else { return nil }
        return try v.withUnsafeBytes { try body($0) }
    }
    func fileHolding(_ key: String) -> String { "memory:" + key }
    func keys(endingWith suffix: String) -> [String] { values.keys.filter { $0.hasSuffix(suffix) } }
}

@Suite struct ChunkFuzzTests {
    /// Random shard and chunk bytes (with valid and invalid index CRCs): errors, never a trap or an overrun.
    @Test func randomShardsAndChunks() throws {
        let v3 = try ZarrV3Metadata.parse(try JSONValue.parse(Array("""
            {"zarr_format":3,"node_type":"array","shape":[5,7],"data_type":"int16","fill_value":0,
             "chunk_grid":{"name":"regular","configuration":{"chunk_shape":[4,4]}},"chunk_key_encoding":{"name":"default"},
             "codecs":[{"name":"sharding_indexed","configuration":{"chunk_shape":[2,2],
               "codecs":[{"name":"bytes","configuration":{"endian":"little"}},{"name":"zstd","configuration":{"level":3}}],
               "index_codecs":[{"name":"bytes","configuration":{"endian":"little"}},{"name":"crc32c"}]}}]}
            """.utf8), file: "t"))
        let v2 = try ZarrV2Metadata.parse(try JSONValue.parse(Array("""
            {"chunks":[3,3],"compressor":{"id":"zlib"},"dtype":"<f4","fill_value":null,"filters":null,"order":"C","shape":[5,7],"zarr_format":2}
            """.utf8), file: "t"))
        var rng = SystemRandomNumberGenerator()
        for meta in [v3, v2] {
            let store = MemoryStore()
            let decoder = ChunkDecoder(meta: meta, store: store, prefix: "a/", name: "a")
            for round in 0 ..< 400 {
                store.values = [:]
                for key in ["c/0/0", "c/1/1", "0.0", "1.2", "c/1/0"] where Bool.random(using: &rng) {
                    var bytes = (0 ..< Int.random(in: 0 ..< 200, using: &rng)).map { _ in UInt8.random(in: 0 ... 255, using: &rng) }
                    if meta.shard != nil && bytes.count >= 68 && round % 2 == 0 {
                        // A structurally plausible index (small offsets/lengths) with a correct CRC.
                        let n = 4, start = bytes.count - (n * 16 + 4)
                        for i in 0 ..< n {
                            let off = UInt64.random(in: 0 ... UInt64(bytes.count), using: &rng)
                            let len = Bool.random(using: &rng) ? UInt64.max : UInt64.random(in: 0 ... 40, using: &rng)
                            withUnsafeBytes(of: (Bool.random(using: &rng) ? off : .max).littleEndian) { bytes.replaceSubrange(start + i * 16 ..< start + i * 16 + 8, with: $0) }
                            withUnsafeBytes(of: len.littleEndian) { bytes.replaceSubrange(start + i * 16 + 8 ..< start + i * 16 + 16, with: $0) }
                        }
                        let crc = CRC32C.checksum(Array(bytes[start ..< start + n * 16]))
                        withUnsafeBytes(of: crc.littleEndian) { bytes.replaceSubrange(bytes.count - 4 ..< bytes.count, with: $0) }
                    }
                    store.values["a/" + key] = bytes
                }
                let out = UnsafeMutableRawBufferPointer.allocate(byteCount: 35 * meta.itemSize, alignment: 16)
                defer { out.deallocate() }
                _ = try? ChunkAssembler.read(decoder, rows: 0 ..< 5, into: out)
            }
        }
    }
}
