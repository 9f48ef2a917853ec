import Foundation
import KilnCore

/// Memory-maps each data file once and shares the mapping across chunk reads (and threads).
///
/// Every path is confined to the checkpoint directory: data-file names come from the checkpoint itself (OCDBT
/// tables, zarr keys), so a crafted checkpoint could otherwise name `../../etc/passwd`, an absolute path or a
/// symlink to anywhere. A path whose resolved location (`realpath`) is outside `root` is refused before it is opened.
final class FileCache: @unchecked Sendable {
    private let lock = NSLock()
    private var files: [String: MappedFile] = [:]
    /// The resolved checkpoint directory (nil: no confinement, for tests of single databases).
    let root: String?

    /// `root`: the checkpoint directory every file must lie in.
    init(root: String?) {
        self.root = root.map { FileIdentity.realPath($0) ?? $0 }
    }

    /// The mapping of `path`; `.notFound` when it does not exist, `.io` when it cannot be mapped, `.invalid` when
    /// it resolves to a location outside the checkpoint directory.
    func file(_ path: String) throws(KilnError) -> MappedFile {
        lock.lock()
        if let f = files[path] { lock.unlock(); return f }
        lock.unlock()
        guard FileIdentity.exists(path) else {
            throw KilnError(.notFound, "data file is missing", file: path)
        }
        if let root {
            guard let real = FileIdentity.realPath(path), real.hasPrefix(root.hasSuffix("/") ? root : root + "/") else {
                throw KilnError(.invalid, "data file resolves to \(FileIdentity.realPath(path) ?? "?"), outside the checkpoint directory \(root); refusing to read it",
                                file: path)
            }
        }
        let f = try MappedFile(path: path)
        lock.lock()
        defer { lock.unlock() }
        if let existing = files[path] { return existing }
        files[path] = f
        return f
    }

    /// A checked view of `length` bytes at `offset` of `path`.
    func slice(_ path: String, offset: UInt64, length: UInt64, _ what: @autoclosure () -> String) throws(KilnError) -> UnsafeRawBufferPointer {
        let f = try file(path)
        guard offset <= UInt64(Int.max / 2), length <= UInt64(Int.max / 2) else {
            throw KilnError(.invalid, "\(what()): offset \(offset) / length \(length) out of range", file: path)
        }
        return try f.slice(Int(offset) ..< Int(offset) + Int(length), what())
    }
}

/// Where array keys live: an OCDBT database, a union of per-process databases, or a plain directory.
protocol KeyValueStore: AnyObject, Sendable {
    /// The directory the keys are relative to (for messages).
    var location: String { get }
    /// Calls `body` with the value of `key`, or returns nil when the key does not exist.
    func withValue<R>(_ key: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R?
    /// The file that holds (or would hold) `key`, for error messages.
    func fileHolding(_ key: String) -> String
    /// Every key ending in `suffix` (used when `_METADATA` is absent).
    func keys(endingWith suffix: String) -> [String]
}

/// Plain-directory layout (`use_ocdbt=False`): key `K` is the file `<dir>/K`.
final class DirectoryStore: KeyValueStore {
    let location: String
    let cache: FileCache

    init(directory: String, cache: FileCache) {
        location = directory
        self.cache = cache
    }

    func fileHolding(_ key: String) -> String { location + "/" + key }

    func withValue<R>(_ key: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R? {
        let path = fileHolding(key)
        guard FileIdentity.exists(path) else { return nil }
        let f = try cache.file(path)
        return try body(f.bytes)
    }

    func keys(endingWith suffix: String) -> [String] {
        guard let e = FileManager.default.enumerator(atPath: location) else { return [] }
        var out: [String] = []
        while let p = e.nextObject() as? String {
            if p.contains(".orbax-checkpoint-tmp") { continue }
            if p.hasSuffix(suffix) { out.append(p) }
        }
        return out.sorted()
    }
}
