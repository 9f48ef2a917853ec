import Foundation
import KilnCore

/// An OCDBT database directory opened at its latest generation: every key mapped to its value location.
///
/// The whole B+tree is walked once at open (Orbax trees are one leaf of a few KB); values are read lazily,
/// out-of-line ones as zero-copy views of memory-mapped data files.
final class OCDBTDatabase: KeyValueStore {
    let location: String
    let cache: FileCache
    let manifest: OCDBTManifest
    /// The manifest file actually decoded (a numbered one for numbered databases).
    let manifestPath: String
    /// The generation read.
    let generation: UInt64
    /// Height of that generation's B+tree (0 = the root is a leaf).
    let rootHeight: Int
    private let values: [[UInt8]: OCDBTValue]
    /// Keys in sorted (unsigned byte) order.
    let keys: [[UInt8]]

    private var maxNodeBytes: Int { OCDBTDatabase.nodeLimit(manifest.config) }

    static func nodeLimit(_ config: OCDBTConfig) -> Int {
        Int(min(max(config.maxDecodedNodeBytes.multipliedReportingOverflow(by: 4).partialValue, 64 << 20), 1 << 30))
    }

    /// True when `directory` holds a manifest.
    static func exists(at directory: String) -> Bool {
        FileIdentity.exists(directory + "/manifest.ocdbt")
    }

    init(directory: String, cache: FileCache) throws(KilnError) {
        location = directory
        self.cache = cache
        let mainPath = directory + "/manifest.ocdbt"
        guard FileIdentity.exists(mainPath) else {
            throw KilnError(.notFound, "no OCDBT manifest (the checkpoint is incomplete or was not committed)", file: mainPath)
        }
        var m = try OCDBTManifest.decode(try MappedFile(path: mainPath))
        var usedPath = mainPath
        if m.config.manifestKind == 1 {
            // Numbered manifests: the largest `manifest.<16 hex digits>` holds the versions.
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            let numbered = names.compactMap { n -> (UInt64, String)? in
                guard n.hasPrefix("manifest."), n.count == 25, let v = UInt64(n.dropFirst(9), radix: 16),
                      n.dropFirst(9).allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else { return nil }
                return (v, n)
            }
            guard let newest = numbered.max(by: { $0.0 < $1.0 }) else {
                throw KilnError(.notFound, "numbered OCDBT database without any manifest.<number> file", file: mainPath)
            }
            usedPath = directory + "/" + newest.1
            let config = m.config
            m = try OCDBTManifest.decode(try MappedFile(path: usedPath))
            m.config.manifestKind = config.manifestKind
        }
        manifest = m
        manifestPath = usedPath

        let latest = try OCDBTDatabase.latestVersion(m, directory: directory, cache: cache, manifestPath: usedPath)
        generation = latest?.generation ?? 0
        rootHeight = latest?.rootHeight ?? 0
        var collected: [([UInt8], OCDBTValue)] = []
        if let latest, !latest.root.isMissing, let rootFile = latest.file {
            try OCDBTDatabase.visit(ref: latest.root, file: rootFile, height: latest.rootHeight, prefix: [],
                                    directory: directory, cache: cache, limit: OCDBTDatabase.nodeLimit(m.config),
                                    depth: 0, into: &collected)
        }
        var dict: [[UInt8]: OCDBTValue] = [:]
        dict.reserveCapacity(collected.count)
        for (k, v) in collected { dict[k] = v }
        values = dict
        keys = collected.map(\.0)
    }

    /// The newest version: the last inline version, unless a version node holds a newer generation.
    static func latestVersion(_ m: OCDBTManifest, directory: String, cache: FileCache, manifestPath: String) throws(KilnError) -> OCDBTVersion? {
        let inlineLatest = m.versions.last
        guard let bestNode = m.versionNodes.max(by: { $0.generation < $1.generation }),
              bestNode.generation > (inlineLatest?.generation ?? 0) else { return inlineLatest }
        var ref = bestNode
        for _ in 0 ..< 64 {
            let node = try readVersionNode(ref, directory: directory, cache: cache, config: m.config)
            if node.height == 0 {
                guard let v = node.versions.last else {
                    throw KilnError(.invalid, "empty version-tree leaf", file: directory + "/" + ref.file.path)
                }
                return v
            }
            guard let next = node.children.max(by: { $0.generation < $1.generation }) else {
                throw KilnError(.invalid, "empty version-tree node", file: directory + "/" + ref.file.path)
            }
            ref = next
        }
        throw KilnError(.invalid, "version tree deeper than 64 levels", file: manifestPath)
    }

    static func readVersionNode(_ ref: OCDBTVersionNodeRef, directory: String, cache: FileCache,
                                config: OCDBTConfig) throws(KilnError) -> OCDBTVersionTree.Node {
        let path = directory + "/" + ref.file.path
        let bytes = try cache.slice(path, offset: ref.ref.offset, length: ref.ref.length, "version node")
        let node = try OCDBTVersionTree.decodeNode(bytes, transitive: ref.file.basePath, arityLog2: config.versionTreeArityLog2,
                                                   file: path, fileOffset: Int(ref.ref.offset), maxBodyBytes: nodeLimit(config))
        guard node.height == ref.height else {
            throw KilnError(.invalid, "version node height \(node.height) where \(ref.height) was expected", file: path, offset: Int(ref.ref.offset))
        }
        return node
    }

    /// Every generation number reachable from the manifest, oldest first (walks all version nodes).
    func allGenerations() throws(KilnError) -> [UInt64] {
        var out: [UInt64] = []
        func walk(_ ref: OCDBTVersionNodeRef, depth: Int) throws(KilnError) {
            guard depth < 64 else { throw KilnError(.invalid, "version tree too deep", file: manifestPath) }
            let node = try OCDBTDatabase.readVersionNode(ref, directory: location, cache: cache, config: manifest.config)
            out.append(contentsOf: node.versions.map(\.generation))
            for child in node.children { try walk(child, depth: depth + 1) }
        }
        for ref in manifest.versionNodes { try walk(ref, depth: 0) }
        out.append(contentsOf: manifest.versions.map(\.generation))
        return out.sorted()
    }

    private static func visit(ref: OCDBTNodeRef, file: OCDBTDataFile, height: Int, prefix: [UInt8], directory: String,
                              cache: FileCache, limit: Int, depth: Int, into out: inout [([UInt8], OCDBTValue)]) throws(KilnError) {
        guard depth <= 64 else { throw KilnError(.invalid, "B+tree deeper than 64 levels", file: directory) }
        let path = directory + "/" + file.path
        let bytes = try cache.slice(path, offset: ref.offset, length: ref.length, "B+tree node")
        let node = try OCDBTBTreeNode.decode(bytes, transitive: file.basePath, file: path, fileOffset: Int(ref.offset), maxBodyBytes: limit)
        guard node.height == height else {
            throw KilnError(.invalid, "B+tree node height \(node.height) where \(height) was expected", file: path, offset: Int(ref.offset))
        }
        if height == 0 {
            for (k, v) in node.leaves {
                let resolved: OCDBTValue
                switch v {
                case .inline: resolved = v
                case let .indirect(p, o, l): resolved = .indirect(path: directory + "/" + p, offset: o, length: l)
                }
                out.append((prefix + k, resolved))
            }
        } else {
            for child in node.children {
                try visit(ref: child.ref, file: child.file, height: height - 1,
                          prefix: prefix + child.key[0 ..< child.subtreeCommonPrefixLength], directory: directory,
                          cache: cache, limit: limit, depth: depth + 1, into: &out)
            }
        }
    }

    func value(_ key: String) -> OCDBTValue? { values[Array(key.utf8)] }

    func fileHolding(_ key: String) -> String {
        if case let .indirect(path, _, _)? = value(key) { return path }
        return manifestPath
    }

    func withValue<R>(_ key: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R? {
        switch value(key) {
        case nil: return nil
        case .inline(let bytes)?: return try bytes.withUnsafeBytes { try body($0) }
        case let .indirect(path, offset, length)?:
            let view: UnsafeRawBufferPointer
            do {
                view = try cache.slice(path, offset: offset, length: length, "value of key '\(key)'")
            } catch {
                var e = error
                e.message += " (value of OCDBT key '\(key)' in \(location))"
                throw e
            }
            // Chunk values are read once per conversion: give their pages back after decoding.
            defer { try? cache.file(path).releasePages(of: view) }
            return try body(view)
        }
    }

    func keys(endingWith suffix: String) -> [String] {
        let s = Array(suffix.utf8)
        return keys.filter { $0.count >= s.count && Array($0.suffix(s.count)) == s }.compactMap { String(validating: $0, as: UTF8.self) }
    }
}

/// The union of several OCDBT databases (per-process databases of a checkpoint whose root merge is missing).
final class UnionStore: KeyValueStore {
    let location: String
    let parts: [OCDBTDatabase]

    init(location: String, parts: [OCDBTDatabase]) {
        self.location = location
        self.parts = parts
    }

    func withValue<R>(_ key: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R? {
        for p in parts where p.value(key) != nil { return try p.withValue(key, body) }
        return nil
    }

    func fileHolding(_ key: String) -> String {
        parts.first(where: { $0.value(key) != nil })?.fileHolding(key) ?? location
    }

    func keys(endingWith suffix: String) -> [String] {
        Array(Set(parts.flatMap { $0.keys(endingWith: suffix) })).sorted()
    }
}
