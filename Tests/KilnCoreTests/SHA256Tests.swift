import Foundation
import KilnCore
import KilnTestSupport
import Testing

/// KilnCore's SHA-256 against coreutils' `sha256sum` (the reference), whole and fed in uneven pieces.
@Suite struct SHA256Tests {
    static func sha256sum(_ path: String) throws -> String? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        guard FileManager.default.isExecutableFile(atPath: p.executableURL!.path) else { return nil }
        p.arguments = [path]
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let out = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: out, as: UTF8.self).split(separator: " ").first.map(String.init)
    }

    @Test(arguments: [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000, 1 << 20])
    func matchesSha256sum(_ size: Int) throws {
        let dir = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir) }
        var rng = SystemRandomNumberGenerator()
        let bytes = (0 ..< size).map { _ in UInt8.random(in: 0 ... 255, using: &rng) }
        let path = dir + "/f"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let want = try #require(try Self.sha256sum(path), "no sha256sum")
        #expect(try SHA256.hex(ofFile: path) == want)
        var s = SHA256()
        var i = 0
        while i < size {
            let n = min(size - i, Int.random(in: 1 ... 200))
            bytes[i ..< i + n].withUnsafeBytes { s.update($0) }
            i += n
        }
        #expect(s.finalizeHex() == want)
    }

    @Test func sidecarIsReadBySha256sumFormat() throws {
        let dir = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir) }
        let path = dir + "/m.gguf"
        try Data("hello".utf8).write(to: URL(fileURLWithPath: path))
        let digest = try ChecksumFile.write(for: path)
        #expect(digest == (try Self.sha256sum(path)))
        #expect(try String(contentsOfFile: path + ".sha256", encoding: .utf8) == "\(digest)  m.gguf\n")
        // `sha256sum -c` accepts it in the file's directory.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        p.arguments = ["-c", "--status", "m.gguf.sha256"]
        p.currentDirectoryURL = URL(fileURLWithPath: dir)
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        try Data("hellO".utf8).write(to: URL(fileURLWithPath: path))
        #expect(try !ChecksumFile.verify(path).matches)
        try Data("garbage\n".utf8).write(to: URL(fileURLWithPath: path + ".sha256"))
        #expect(throws: KilnError.self) { try ChecksumFile.verify(path) }
    }
}
