import Foundation

/// Locations of committed fixtures, for every test target (the real model: `RealModel`).
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

    /// A fresh temporary directory, removed by the caller with `cleanup`.
    public static func tempDirectory() -> String {
        let dir = NSTemporaryDirectory() + "kiln-test-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    public static func cleanup(_ dir: String) { try? FileManager.default.removeItem(atPath: dir) }
}
