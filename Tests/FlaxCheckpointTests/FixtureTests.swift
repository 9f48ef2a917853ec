import Foundation
import KilnCore
import Testing
@testable import FlaxCheckpoint

/// Every array of every fixture checkpoint, bit for bit against the .npy numpy wrote from the saved values.
@Suite struct FixtureTests {
    static let cases = ["default", "zarr3", "no_ocdbt", "no_ocdbt_zarr3", "multichunk", "uncompressed", "manager",
                        "manager_default", "gemma_flat", "ts_zarr2", "ts_zarr3", "two_process"]

    @Test(arguments: cases)
    func arraysMatchNumpy(caseName: String) throws {
        let expected = try loadExpected(caseName)
        let ckpt = try OrbaxCheckpoint(path: fixturesRoot + "/" + caseName + "/ckpt")
        #expect(ckpt.formatName == "orbax")
        #expect(Set(ckpt.tensors.map(\.name)) == Set(expected.keys))
        for t in ckpt.tensors {
            let e = try #require(expected[t.name])
            #expect(t.shape == e.shape, "\(t.name)")
            #expect(t.type == elementType(forNumpy: e.dtype), "\(t.name): \(t.type) vs \(e.dtype)")
            #expect(t.fileOffset == nil)
            #expect(t.byteCount == e.npy.bytes.count, "\(t.name)")
            let bytes = try ckpt.withBytes(of: t) { Array($0) }
            #expect(bytes == e.npy.bytes, "\(caseName): \(t.name) differs")
            // Row ranges decode only the chunks they touch, and must equal the same slice of the whole.
            if t.rowCount >= 3 {
                let per = t.bytesPerRow
                for rows in [1 ..< t.rowCount, 0 ..< 1, (t.rowCount / 2) ..< (t.rowCount - 1)] where !rows.isEmpty {
                    let part = try ckpt.withBytes(of: t, rows: rows) { Array($0) }
                    #expect(part == Array(e.npy.bytes[rows.lowerBound * per ..< rows.upperBound * per]), "\(t.name) rows \(rows)")
                }
            }
        }
    }

    @Test func defaultLayoutDetails() throws {
        let ckpt = try OrbaxCheckpoint(path: fixturesRoot + "/default/ckpt")
        #expect(ckpt.storage == "ocdbt")
        #expect(ckpt.tokenizerModelPath == nil)
        let i4 = try ckpt.arrayInfo(named: "transformer.quant.i4")
        #expect(i4.dtype == "int4" && i4.type == .int4 && i4.codec == "zstd" && i4.zarrFormat == 2 && i4.shape == [3, 5])
        let bf = try ckpt.arrayInfo(named: "transformer.layer_0.attn.kv_einsum.w")
        #expect(bf.dtype == "bfloat16" && bf.chunkShape == [2, 4, 8, 16])
        let scalar = try ckpt.tensor(named: "step")
        #expect(scalar.shape == [] && scalar.type == .int64)
        #expect(ckpt.tensors.contains { $0.name == "layers.1.w" })
        #expect(kilnError { try ckpt.arrayInfo(named: "nope") }?.kind == .notFound)
        #expect(kilnError { try ckpt.withBytes(of: scalar, rows: 0 ..< 2) { $0.count } }?.kind == .usage)
    }

    @Test func zarr3Details() throws {
        let ckpt = try OrbaxCheckpoint(path: fixturesRoot + "/zarr3/ckpt")
        let a = try ckpt.arrayInfo(named: "transformer.quant.i4")
        #expect(a.zarrFormat == 3 && a.codec.hasPrefix("sharding_indexed") && a.innerChunkShape == [3, 5])
        let s = try OrbaxCheckpoint(path: fixturesRoot + "/ts_zarr3/ckpt").arrayInfo(named: "sharded.f32")
        #expect(s.chunkShape == [4, 8] && s.innerChunkShape == [2, 4] && s.chunkCount == 2)
    }

    @Test func gemmaFlatKaggleRoot() throws {
        let root = fixturesRoot + "/gemma_flat/ckpt"
        for path in [root, root + "/gemma3-1b-it-int4", root + "/gemma3-1b-it-int4/"] {
            let ckpt = try OrbaxCheckpoint(path: path)
            #expect(ckpt.tokenizerModelPath == root + "/tokenizer.model", "\(path)")
            #expect(ckpt.checkpointDirectory.hasSuffix("gemma3-1b-it-int4"))
            #expect(ckpt.tensors.contains { $0.name == "transformer/layer_0/attn/q_einsum.w" && $0.type == .int4 })
            #expect(ckpt.tensors.contains { $0.name == "transformer/embedder.input_embedding" && $0.type == .bfloat16 })
        }
    }

    @Test func managerPicksLatestStep() throws {
        let ckpt = try OrbaxCheckpoint(path: fixturesRoot + "/manager/ckpt")
        #expect(ckpt.step == 1)
        #expect(ckpt.checkpointDirectory.hasSuffix("/1/params"))
        let d = try OrbaxCheckpoint(path: fixturesRoot + "/manager_default/ckpt")
        #expect(d.step == 1 && d.checkpointDirectory.hasSuffix("/1/default"))
        // A step directory and a Composite item directory open directly too.
        #expect(try OrbaxCheckpoint(path: fixturesRoot + "/manager/ckpt/0").checkpointDirectory.hasSuffix("/0/params"))
    }

    @Test func twoProcessRootReferencesBothProcessDatabases() throws {
        let ckpt = try OrbaxCheckpoint(path: fixturesRoot + "/two_process/ckpt")
        #expect(ckpt.storage == "ocdbt")
        // Without the merged root, the per-process databases are read as a union.
        let copy = try temporaryCopy(of: "two_process")
        defer { cleanup(copy) }
        try FileManager.default.removeItem(atPath: copy + "/manifest.ocdbt")
        try FileManager.default.removeItem(atPath: copy + "/d")
        let union = try OrbaxCheckpoint(path: copy)
        #expect(union.storage == "ocdbt (per-process union)")
        let expected = try loadExpected("two_process")
        for t in union.tensors {
            #expect(try union.withBytes(of: t) { Array($0) } == expected[t.name]!.npy.bytes)
        }
    }

    @Test func versionTreeAndNumberedManifests() throws {
        // ts_zarr3: numbered manifests, version_tree_arity_log2 = 1, so 10 generations need version nodes.
        let ckpt = try OrbaxCheckpoint(path: fixturesRoot + "/ts_zarr3/ckpt")
        let gens = try ckpt.ocdbtGenerations()
        #expect(gens == Array(1 ... UInt64(gens.count)))
        #expect(gens.count >= 5)
        let z3 = try OCDBTDatabase(directory: fixturesRoot + "/ts_zarr3/ckpt", cache: FileCache())
        #expect(z3.manifest.config.manifestKind == 1)
        #expect(!z3.manifest.versionNodes.isEmpty)
        #expect(z3.generation == gens.last)
        // ts_zarr2: uncompressed nodes, small node size (interior B+tree nodes), many generations.
        let db = try OCDBTDatabase(directory: fixturesRoot + "/ts_zarr2/ckpt", cache: FileCache())
        #expect(db.manifest.config.compression == 0)
        #expect(db.keys.count == 44)
        #expect(db.rootHeight >= 1)
        print("ts_zarr2: generation \(db.generation), root height \(db.rootHeight), version nodes \(db.manifest.versionNodes.count)")
        #expect(db.keys == db.keys.sorted { $0.lexicographicallyPrecedes($1) })
    }

    @Test func streamingSingleChunkArrayDecodesOnce() throws {
        let ckpt = try OrbaxCheckpoint(path: fixturesRoot + "/gemma_flat/ckpt")
        let expected = try loadExpected("gemma_flat")
        let name = "transformer/embedder.input_embedding"
        let t = try ckpt.tensor(named: name)
        #expect(try ckpt.arrayInfo(named: name).chunkCount == 1)
        let per = t.bytesPerRow
        var streamed: [UInt8] = []
        for start in stride(from: 0, to: t.rowCount, by: 3) {
            let rows = start ..< min(start + 3, t.rowCount)
            streamed += try ckpt.withBytes(of: t, rows: rows) { Array($0) }
        }
        #expect(streamed == expected[name]!.npy.bytes)
        #expect(per == 16 * 2)
        // The single zstd chunk is decompressed once, as a stream: every range after the first continues it.
        #expect(ckpt.chunkCache.streamContinuations == (t.rowCount + 2) / 3 - 1)
    }

    @Test func parallelRowStreamingOnMultiChunkArray() throws {
        let ckpt = try OrbaxCheckpoint(path: fixturesRoot + "/multichunk/ckpt")
        let expected = try loadExpected("multichunk")
        let t = try ckpt.tensor(named: "a.w")
        #expect(try ckpt.arrayInfo(named: "a.w").chunkCount > 1)
        let per = t.bytesPerRow
        for start in stride(from: 0, to: t.rowCount, by: 5) {
            let rows = start ..< min(start + 7, t.rowCount)
            let part = try ckpt.withBytes(of: t, rows: rows) { Array($0) }
            #expect(part == Array(expected["a.w"]!.npy.bytes[rows.lowerBound * per ..< rows.upperBound * per]))
        }
    }
}
