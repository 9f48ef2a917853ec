import KilnCore

/// A reference to an encoded node: (file id in the enclosing table, offset, length).
struct OCDBTNodeRef: Sendable, Equatable {
    var fileID: Int
    var offset: UInt64
    var length: UInt64
    /// The empty-tree marker: offset = length = UINT64_MAX.
    var isMissing: Bool { offset == .max && length == .max }
}

/// The database configuration stored in every manifest.
struct OCDBTConfig: Sendable {
    var manifestKind: UInt8          // 0 = single, 1 = numbered
    var maxInlineValueBytes: UInt64
    var maxDecodedNodeBytes: UInt64
    var versionTreeArityLog2: UInt8
    var compression: UInt64          // 0 = none, 1 = zstd
}

/// One generation (version-tree leaf entry): the B+tree root it points to.
struct OCDBTVersion: Sendable {
    var generation: UInt64
    var rootHeight: Int
    var root: OCDBTNodeRef
    var file: OCDBTDataFile?         // nil for the empty-root marker
    var numKeys: UInt64
}

/// A version-tree interior entry: a child version node covering generations up to `generation`.
struct OCDBTVersionNodeRef: Sendable {
    var generation: UInt64
    var ref: OCDBTNodeRef
    var file: OCDBTDataFile
    var numGenerations: UInt64
    var height: Int
}

/// A decoded `manifest.ocdbt` (or numbered `manifest.<16 hex>`), §6.4.
struct OCDBTManifest: Sendable {
    var config: OCDBTConfig
    var versions: [OCDBTVersion] = []
    var versionNodes: [OCDBTVersionNodeRef] = []

    /// Decodes a manifest file; `withVersions` is false for the config-only `manifest.ocdbt` of numbered databases.
    static func decode(_ file: MappedFile) throws(KilnError) -> OCDBTManifest {
        let body = try OCDBTEnvelope.decode(file.bytes, magic: OCDBTEnvelope.manifestMagic, what: "OCDBT manifest",
                                            file: file.path, fileOffset: 0, maxBodyBytes: 1 << 28)
        return try withBytesOf(body) { (b: UnsafeRawBufferPointer) throws(KilnError) -> OCDBTManifest in
            var c = ByteCursor(b, file: file.path + " (decoded manifest)")
            _ = try c.readBytes(16, "manifest uuid")
            let kind = try c.read(UInt8.self, "manifest kind")
            guard kind <= 1 else { throw KilnError(.unsupported, "manifest kind \(kind)", file: file.path) }
            let maxInline = try c.varint("max_inline_value_bytes")
            let maxNode = try c.varint("max_decoded_node_bytes")
            let arity = try c.read(UInt8.self, "version_tree_arity_log2")
            guard arity >= 1, arity <= 16 else {
                throw KilnError(.invalid, "version_tree_arity_log2 = \(arity)", file: file.path)
            }
            let compression = try c.varint("compression method")
            if compression == 1 { _ = try c.read(UInt32.self, "zstd level") }
            else if compression != 0 { throw KilnError(.unsupported, "node compression method \(compression)", file: file.path) }
            var m = OCDBTManifest(config: OCDBTConfig(manifestKind: kind, maxInlineValueBytes: maxInline,
                                                     maxDecodedNodeBytes: maxNode, versionTreeArityLog2: arity,
                                                     compression: compression))
            // A numbered database's `manifest.ocdbt` holds only the config; its numbered files hold the versions.
            if !c.isAtEnd {
                let files = try OCDBTDataFileTable.decode(&c, what: "manifest")
                m.versions = try OCDBTVersionTree.decodeLeafEntries(&c, files: files, what: "manifest")
                m.versionNodes = try OCDBTVersionTree.decodeInteriorEntries(&c, files: files, withHeight: true, what: "manifest")
            }
            guard c.isAtEnd else {
                throw KilnError(.invalid, "\(c.remaining) trailing bytes after the manifest", file: file.path)
            }
            return m
        }
    }
}
