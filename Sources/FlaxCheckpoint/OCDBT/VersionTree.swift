import KilnCore

/// The OCDBT version tree (§6.6): columnar version entries in the manifest and in version nodes.
enum OCDBTVersionTree {
    static func fileRef(_ files: [OCDBTDataFile], _ id: Int, _ c: ByteCursor, _ what: String) throws(KilnError) -> OCDBTDataFile {
        guard id < files.count else {
            throw KilnError(.invalid, "\(what): data file id \(id) but the table has \(files.count) files", file: c.file, offset: c.offset)
        }
        return files[id]
    }

    static func decodeLeafEntries(_ c: inout ByteCursor, files: [OCDBTDataFile], what: String) throws(KilnError) -> [OCDBTVersion] {
        let n = try c.varintInt("\(what) version count", limit: c.remaining)
        var gen: [UInt64] = [], height: [Int] = [], fid: [Int] = [], off: [UInt64] = [], len: [UInt64] = [], keys: [UInt64] = []
        for _ in 0 ..< n { gen.append(try c.varint("generation number")) }
        for _ in 0 ..< n { height.append(Int(try c.read(UInt8.self, "root height"))) }
        for _ in 0 ..< n { fid.append(try c.varintInt("root data file id", limit: 1 << 30)) }
        for _ in 0 ..< n { off.append(try c.varint("root offset")) }
        for _ in 0 ..< n { len.append(try c.varint("root length")) }
        for _ in 0 ..< n { keys.append(try c.varint("num_keys")) }
        for _ in 0 ..< n { _ = try c.varint("num_tree_bytes") }
        for _ in 0 ..< n { _ = try c.varint("num_indirect_value_bytes") }
        for _ in 0 ..< n { _ = try c.read(UInt64.self, "commit time") }
        var out: [OCDBTVersion] = []
        for i in 0 ..< n {
            if i > 0 && gen[i] <= gen[i - 1] {
                throw KilnError(.invalid, "\(what): generation numbers not increasing (\(gen[i - 1]), \(gen[i]))", file: c.file)
            }
            let ref = OCDBTNodeRef(fileID: fid[i], offset: off[i], length: len[i])
            let file: OCDBTDataFile? = ref.isMissing ? nil : try fileRef(files, fid[i], c, what)
            out.append(OCDBTVersion(generation: gen[i], rootHeight: height[i], root: ref, file: file, numKeys: keys[i]))
        }
        return out
    }

    static func decodeInteriorEntries(_ c: inout ByteCursor, files: [OCDBTDataFile], withHeight: Bool,
                                      what: String, nodeHeight: Int = 0) throws(KilnError) -> [OCDBTVersionNodeRef] {
        let n = try c.varintInt("\(what) version node count", limit: c.remaining)
        var gen: [UInt64] = [], fid: [Int] = [], off: [UInt64] = [], len: [UInt64] = [], ngen: [UInt64] = [], height: [Int] = []
        for _ in 0 ..< n { gen.append(try c.varint("generation number")) }
        for _ in 0 ..< n { fid.append(try c.varintInt("version node data file id", limit: 1 << 30)) }
        for _ in 0 ..< n { off.append(try c.varint("version node offset")) }
        for _ in 0 ..< n { len.append(try c.varint("version node length")) }
        for _ in 0 ..< n { ngen.append(try c.varint("num_generations")) }
        for _ in 0 ..< n { _ = try c.read(UInt64.self, "commit time") }
        if withHeight {
            for _ in 0 ..< n { height.append(Int(try c.read(UInt8.self, "version node height"))) }
        } else {
            height = Array(repeating: nodeHeight - 1, count: n)
        }
        var out: [OCDBTVersionNodeRef] = []
        for i in 0 ..< n {
            out.append(OCDBTVersionNodeRef(generation: gen[i], ref: OCDBTNodeRef(fileID: fid[i], offset: off[i], length: len[i]),
                                           file: try fileRef(files, fid[i], c, what), numGenerations: ngen[i], height: height[i]))
        }
        return out
    }

    /// A decoded version-tree node: its height and either leaf versions or child references.
    struct Node {
        var height: Int
        var versions: [OCDBTVersion] = []
        var children: [OCDBTVersionNodeRef] = []
    }

    static func decodeNode(_ bytes: UnsafeRawBufferPointer, transitive: String, arityLog2: UInt8, file: String,
                           fileOffset: Int, maxBodyBytes: Int) throws(KilnError) -> Node {
        let body = try OCDBTEnvelope.decode(bytes, magic: OCDBTEnvelope.versionNodeMagic, what: "OCDBT version node",
                                            file: file, fileOffset: fileOffset, maxBodyBytes: maxBodyBytes)
        return try withBytesOf(body) { (b: UnsafeRawBufferPointer) throws(KilnError) -> Node in
            var c = ByteCursor(b, file: "\(file) (version node at \(fileOffset))")
            let arity = try c.read(UInt8.self, "version node arity")
            guard arity == arityLog2 else {
                throw KilnError(.invalid, "version node arity_log2 \(arity) differs from the manifest's \(arityLog2)", file: file, offset: fileOffset)
            }
            let height = Int(try c.read(UInt8.self, "version node height"))
            var files = try OCDBTDataFileTable.decode(&c, what: "version node")
            for i in files.indices { files[i].basePath = transitive + files[i].basePath }
            var node = Node(height: height)
            if height == 0 {
                node.versions = try decodeLeafEntries(&c, files: files, what: "version node")
            } else {
                node.children = try decodeInteriorEntries(&c, files: files, withHeight: false, what: "version node", nodeHeight: height)
            }
            guard c.isAtEnd else { throw KilnError(.invalid, "trailing bytes in a version node", file: file, offset: fileOffset) }
            return node
        }
    }
}
