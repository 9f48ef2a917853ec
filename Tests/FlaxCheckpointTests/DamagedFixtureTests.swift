import Foundation
import KilnCore
import KilnTestSupport
import Testing
@testable import FlaxCheckpoint

/// Every Orbax fixture file truncated at every byte offset and corrupted at many: each decoder (OCDBT manifests,
/// version and B+tree nodes with their data-file tables, zarr v2/v3 metadata, chunks, `_METADATA`) gives a typed
/// error or a valid result, never a trap. Decoded OCDBT bodies are also damaged behind a recomputed CRC, so the
/// body decoders see the damage instead of the checksum catching it.
@Suite struct DamagedFixtureTests {
    /// Fixture files under fixtures/orbax whose name satisfies `filter`, with their bytes.
    static func fixtureFiles(_ filter: (String) -> Bool) -> [(path: String, bytes: [UInt8])] {
        let all = FileManager.default.enumerator(atPath: fixturesRoot)?.allObjects as? [String] ?? []
        return all.sorted().filter(filter).compactMap { rel in
            let p = fixturesRoot + "/" + rel
            guard !FileIdentity.isDirectory(p), let d = FileManager.default.contents(atPath: p) else { return nil }
            return (p, [UInt8](d))
        }
    }

    /// Runs `body` on every truncation and corruption of `bytes`; only KilnError may escape.
    static func damage(_ bytes: [UInt8], _ what: String, _ body: ([UInt8]) throws -> Void) {
        Mutations.forEachDamaged(bytes) { b, how in
            do { try body(b) } catch is KilnError {} catch { Issue.record("\(what) \(how): non-Kiln error \(error)") }
        }
    }

    /// An uncompressed envelope around `body` with a correct CRC-32C.
    static func envelope(_ magic: UInt32, _ body: [UInt8]) -> [UInt8] {
        var out = withUnsafeBytes(of: magic.bigEndian, Array.init)
        out += withUnsafeBytes(of: UInt64(4 + 8 + 2 + body.count + 4).littleEndian, Array.init)
        out += [0, 0] + body
        let crc = out.withUnsafeBytes { CRC32C.checksum($0) }
        return out + withUnsafeBytes(of: crc.littleEndian, Array.init)
    }

    /// The envelopes in an OCDBT data file (nodes are stored back to back; chunk data ends the scan).
    static func nodes(in bytes: [UInt8]) -> [(magic: UInt32, bytes: [UInt8])] {
        var out: [(UInt32, [UInt8])] = []
        var o = 0
        while o + 12 <= bytes.count {
            let magic = bytes[o ..< o + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            let length = bytes[o + 4 ..< o + 12].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            guard [OCDBTEnvelope.btreeNodeMagic, OCDBTEnvelope.versionNodeMagic].contains(magic),
                  length >= 18, length <= UInt64(bytes.count - o) else { break }
            out.append((magic, Array(bytes[o ..< o + Int(length)])))
            o += Int(length)
        }
        return out
    }

    static func decodeNode(_ magic: UInt32, _ b: [UInt8]) throws {
        let file = b.withUnsafeBytes { MappedFile(copying: $0, path: "node") }
        if magic == OCDBTEnvelope.btreeNodeMagic {
            _ = try OCDBTBTreeNode.decode(file.bytes, transitive: "", file: "node", fileOffset: 0, maxBodyBytes: 1 << 20)
        } else {
            _ = try OCDBTVersionTree.decodeNode(file.bytes, transitive: "", arityLog2: 4, file: "node", fileOffset: 0, maxBodyBytes: 1 << 20)
        }
    }

    static func envelopeBody(_ magic: UInt32, _ bytes: [UInt8], _ path: String) throws -> [UInt8] {
        let file = bytes.withUnsafeBytes { MappedFile(copying: $0, path: path) }
        return try OCDBTEnvelope.decode(file.bytes, magic: magic, what: "envelope", file: path, fileOffset: 0, maxBodyBytes: 1 << 20)
    }

    @Test func manifests() throws {
        let files = Self.fixtureFiles { ($0 as NSString).lastPathComponent.hasPrefix("manifest.") }
        #expect(files.count >= 10)
        for (path, bytes) in files {
            Self.damage(bytes, path) { b in
                _ = try OCDBTManifest.decode(b.withUnsafeBytes { MappedFile(copying: $0, path: "manifest.ocdbt") })
            }
            // The decoded body, damaged behind a valid envelope.
            let body = try Self.envelopeBody(OCDBTEnvelope.manifestMagic, bytes, path)
            Self.damage(body, path + " (body)") { b in
                let env = Self.envelope(OCDBTEnvelope.manifestMagic, b)
                _ = try OCDBTManifest.decode(env.withUnsafeBytes { MappedFile(copying: $0, path: "manifest.ocdbt") })
            }
        }
    }

    @Test func versionAndBTreeNodes() throws {
        var count = 0
        for (path, bytes) in Self.fixtureFiles({ $0.contains("/d/") }) {
            for (magic, node) in Self.nodes(in: bytes) {
                count += 1
                Self.damage(node, path) { try Self.decodeNode(magic, $0) }
                let body = try Self.envelopeBody(magic, node, path)
                Self.damage(body, path + " (body)") { try Self.decodeNode(magic, Self.envelope(magic, $0)) }
            }
        }
        #expect(count >= 10)
    }

    @Test func zarrMetadata() {
        let files = Self.fixtureFiles { $0.hasSuffix("/.zarray") || $0.hasSuffix("/zarr.json") }
        #expect(files.count >= 10)
        for (path, bytes) in files {
            Self.damage(bytes, path) { b in
                let json = try JSONValue.parse(b, file: path)
                let meta = path.hasSuffix(".zarray") ? try ZarrV2Metadata.parse(json) : try ZarrV3Metadata.parse(json)
                try meta.validate()
            }
        }
    }

    @Test func chunksOfTheDirectoryLayouts() throws {
        var count = 0
        for caseName in ["no_ocdbt", "no_ocdbt_zarr3"] {
            let ckpt = fixturesRoot + "/" + caseName + "/ckpt"
            for array in try FileManager.default.contentsOfDirectory(atPath: ckpt).sorted() {
                let dir = ckpt + "/" + array
                let v2 = FileManager.default.contents(atPath: dir + "/.zarray"), v3 = FileManager.default.contents(atPath: dir + "/zarr.json")
                guard let metaBytes = v2 ?? v3 else { continue }
                let json = try JSONValue.parse([UInt8](metaBytes), file: dir)
                let meta = v2 != nil ? try ZarrV2Metadata.parse(json) : try ZarrV3Metadata.parse(json)
                try meta.validate()
                let chunkFiles = (FileManager.default.enumerator(atPath: dir)?.allObjects as? [String] ?? [])
                    .filter { !$0.hasPrefix(".") && $0 != "zarr.json" && !FileIdentity.isDirectory(dir + "/" + $0) }
                for key in chunkFiles.sorted() {
                    let bytes = [UInt8](FileManager.default.contents(atPath: dir + "/" + key)!)
                    let index = key.split(whereSeparator: { $0 == "." || $0 == "/" }).compactMap { Int($0) }
                    guard index.count == meta.rank else { continue }
                    count += 1
                    let store = MemoryStore()
                    let decoder = ChunkDecoder(meta: meta, store: store, prefix: "", name: array)
                    var out = [UInt8](repeating: 0, count: meta.chunkBytes)
                    Self.damage(bytes, dir + "/" + key) { b in
                        store.values = [meta.chunkKey(index): b]
                        try out.withUnsafeMutableBytes { try decoder.decode(index, into: $0) }
                    }
                }
            }
        }
        #expect(count >= 10)
    }

    @Test func orbaxMetadata() {
        let files = Self.fixtureFiles { ($0 as NSString).lastPathComponent == "_METADATA" }
        #expect(files.count >= 5)
        for (path, bytes) in files {
            Self.damage(bytes, path) { b in
                let file = b.withUnsafeBytes { MappedFile(copying: $0, path: path) }
                _ = try OrbaxMetadata.parse(file.bytes, file: path)
            }
        }
    }
}
