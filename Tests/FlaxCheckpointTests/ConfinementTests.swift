import Foundation
import KilnCore
import Testing
@testable import FlaxCheckpoint

/// A crafted checkpoint must not make Kiln read files outside the checkpoint directory: data-file paths with `..`
/// or a leading `/`, and symlinks that resolve elsewhere, are refused with an error naming the path.
@Suite struct ConfinementTests {
    /// A copy of the `default` fixture at `<tmp>/ckpt` and a copy of its data files at `<tmp>/outside` (a place a
    /// hostile checkpoint could point to; reading it would succeed if paths were followed as written).
    func setUp() throws -> (ckpt: String, outside: String) {
        let ckpt = try temporaryCopy(of: "default")
        let outside = (ckpt as NSString).deletingLastPathComponent + "/outside"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: ckpt + "/d", toPath: outside + "/d")
        try FileManager.default.copyItem(atPath: ckpt + "/ocdbt.process_0", toPath: outside + "/ocdbt.process_0")
        return (ckpt, outside)
    }

    /// Rewrites the root manifest of `ckpt` (uncompressed) with its single data-file path replaced by `newPath`.
    func rewriteManifestPath(_ ckpt: String, to newPath: String) throws {
        let path = ckpt + "/manifest.ocdbt"
        let file = try MappedFile(path: path)
        var body = try OCDBTEnvelope.decode(file.bytes, magic: OCDBTEnvelope.manifestMagic, what: "manifest", file: path, fileOffset: 0,
                                            maxBodyBytes: 1 << 20)
        let old = Array("d/9654626c2a2eb0784ec1e943a6fa7202".utf8)
        let i = try #require(body.indices.first { body[$0...].starts(with: old) })
        // A one-entry table: count 1, suffix length, base-path length 0, then the path.
        try #require(i >= 3 && body[i - 3] == 1 && Int(body[i - 2]) == old.count && body[i - 1] == 0)
        let new = Array(newPath.utf8)
        try #require(new.count < 128)
        body.replaceSubrange(i ..< i + old.count, with: new)
        body[i - 2] = UInt8(new.count)
        // Envelope: magic (big-endian), total length, format version 0, compression 0, body, CRC-32C.
        var out: [UInt8] = [0x0c, 0xdb, 0x3a, 0x2a]
        out += withUnsafeBytes(of: UInt64(4 + 8 + 2 + body.count + 4).littleEndian, Array.init)
        out += [0, 0] + body
        let crc = out.withUnsafeBytes { CRC32C.checksum($0) }
        out += withUnsafeBytes(of: crc.littleEndian, Array.init)
        try Data(out).write(to: URL(fileURLWithPath: path))
    }

    @Test func rewrittenManifestStillOpensWithAnInsidePath() throws {
        // The rewriting helper itself: the same path re-encoded uncompressed still opens and reads.
        let (ckpt, _) = try setUp()
        defer { cleanup(ckpt) }
        try rewriteManifestPath(ckpt, to: "d/9654626c2a2eb0784ec1e943a6fa7202")
        try readAll(ckpt)
    }

    @Test(arguments: ["../outside/d/9654626c2a2eb0784ec1e943a6fa7202", "d/../../outside/d/9654626c2a2eb0784ec1e943a6fa7202", "ABSOLUTE"])
    func dataFilePathsThatLeaveTheDirectory(_ pattern: String) throws {
        let (ckpt, outside) = try setUp()
        defer { cleanup(ckpt) }
        let target = pattern == "ABSOLUTE" ? FileIdentity.realPath(outside)! + "/d/9654626c2a2eb0784ec1e943a6fa7202" : pattern
        try rewriteManifestPath(ckpt, to: target)
        let e = kilnError { try readAll(ckpt) }
        #expect(e?.kind == .invalid, "\(target): \(String(describing: e))")
        #expect(e?.message.contains("leaves the checkpoint directory") == true)
        #expect(e?.file?.contains("manifest.ocdbt") == true, "\(String(describing: e?.file))")
    }

    @Test func symlinkedDataFilesOutsideAreRefused() throws {
        let (ckpt, outside) = try setUp()
        defer { cleanup(ckpt) }
        for f in files(under: ckpt + "/ocdbt.process_0/d") {
            let name = (f as NSString).lastPathComponent
            try FileManager.default.removeItem(atPath: f)
            try FileManager.default.createSymbolicLink(atPath: f, withDestinationPath: outside + "/ocdbt.process_0/d/" + name)
        }
        let ckptSource = try OrbaxCheckpoint(path: ckpt)
        let t = try ckptSource.tensor(named: "embedder.input_embedding")
        let e = kilnError { try ckptSource.withBytes(of: t) { $0.count } }
        #expect(e?.kind == .invalid, "\(String(describing: e))")
        #expect(e?.message.contains("outside the checkpoint directory") == true)
        #expect(e?.file?.contains("ocdbt.process_0/d/") == true)
    }

    @Test func symlinksInsideTheDirectoryAreFollowed() throws {
        // A link that stays inside the checkpoint is harmless and keeps working.
        let (ckpt, _) = try setUp()
        defer { cleanup(ckpt) }
        let moved = ckpt + "/moved"
        try FileManager.default.moveItem(atPath: ckpt + "/ocdbt.process_0/d", toPath: moved)
        try FileManager.default.createSymbolicLink(atPath: ckpt + "/ocdbt.process_0/d", withDestinationPath: moved)
        try readAll(ckpt)
    }

    @Test func checkpointReachedThroughASymlinkStillReads() throws {
        // The confinement compares resolved paths, so a checkpoint opened through a symlinked directory works.
        let (ckpt, _) = try setUp()
        defer { cleanup(ckpt) }
        let link = (ckpt as NSString).deletingLastPathComponent + "/link"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: ckpt)
        try readAll(link)
    }
}
