import Foundation

/// Locations of committed fixtures and of the cached real model, for every test target.
public enum Fixtures {
    /// The repository root (three levels above this file).
    public static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0 ..< 3 { url.deleteLastPathComponent() }
        return url.path
    }()

    public static func path(_ relative: String) -> String { root + "/fixtures/" + relative }

    public static func data(_ relative: String) throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: path(relative)))
    }

    public static func json(_ relative: String) throws -> Any {
        try JSONSerialization.jsonObject(with: data(relative))
    }

    /// The real Gemma 3 270M Q4_K_M GGUF when it has been fetched (`scripts/fetch-gemma270m.sh`, run by `make test`):
    /// `$KILN_GEMMA270M`, else the default cache location. Nil when absent, and real-model tests are skipped.
    public static let gemma270m: String? = {
        let env = ProcessInfo.processInfo.environment
        let candidates = [env["KILN_GEMMA270M"], (env["KILN_CACHE"] ?? (NSHomeDirectory() + "/.cache/kiln")) + "/gemma-3-270m-q4_k_m.gguf"]
        return candidates.compactMap { $0 }.first { FileManager.default.fileExists(atPath: $0) }
    }()

    /// A fresh temporary directory, removed by the caller with `cleanup`.
    public static func tempDirectory() -> String {
        let dir = NSTemporaryDirectory() + "kiln-test-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    public static func cleanup(_ dir: String) { try? FileManager.default.removeItem(atPath: dir) }
}
