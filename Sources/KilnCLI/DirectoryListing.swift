import Foundation

/// Directory listing without throwing (an unreadable directory lists as empty; the reader then reports why).
enum DirectoryListing {
    static func names(in dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
    }
}
