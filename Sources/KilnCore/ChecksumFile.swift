/// `FILE.sha256` beside an output, in `sha256sum`'s format (`<64 hex digits>  <file name>`), so that
/// `sha256sum -c FILE.sha256` run in the file's directory checks it too.
public enum ChecksumFile {
    /// The sidecar path for `path`.
    public static func path(for path: String) -> String { path + ".sha256" }

    /// Hashes `path` (as written on disk) and writes its sidecar atomically; returns the digest.
    @discardableResult
    public static func write(for path: String) throws -> String {
        let digest = try SHA256.hex(ofFile: path)
        let out = try AtomicOutputFile(path: Self.path(for: path))
        try out.write(Array("\(digest)  \(baseName(path))\n".utf8))
        try out.commit()
        return digest
    }

    /// The result of checking a file against its sidecar.
    public struct Verification: Sendable, Equatable {
        public var expected: String
        public var actual: String
        public var matches: Bool { expected == actual }
    }

    /// Checks `path` against `sidecar` (default `path.sha256`). The sidecar must hold one `sha256sum` line for
    /// the file (its name, or any name when it holds a single line).
    public static func verify(_ path: String, sidecar: String? = nil) throws(KilnError) -> Verification {
        let sidecarPath = sidecar ?? Self.path(for: path)
        let f = try MappedFile(path: sidecarPath)
        guard f.count <= 1 << 20, let text = String(validating: f.bytes, as: UTF8.self) else {
            throw KilnError(.invalid, "not a sha256sum file", file: sidecarPath)
        }
        let lines = text.split(separator: "\n").filter { !$0.isEmpty }
        var expected: String?
        for line in lines {
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].count == 64, parts[0].allSatisfy(\.isHexDigit) else {
                throw KilnError(.invalid, "line '\(line.prefix(80))' is not '<sha256>  <file>'", file: sidecarPath)
            }
            var name = parts[1]
            if name.hasPrefix(" ") || name.hasPrefix("*") { name = name.dropFirst() }
            if lines.count == 1 || String(name) == baseName(path) || String(name) == path { expected = parts[0].lowercased() }
        }
        guard let expected else { throw KilnError(.notFound, "no checksum for \(baseName(path))", file: sidecarPath) }
        return Verification(expected: expected, actual: try SHA256.hex(ofFile: path))
    }

    static func baseName(_ path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? path
    }
}
