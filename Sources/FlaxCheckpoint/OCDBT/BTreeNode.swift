import KilnCore

/// A value stored in an OCDBT leaf: inline bytes, or (file, offset, length) of an out-of-line value.
enum OCDBTValue: Sendable {
    case inline([UInt8])
    case indirect(path: String, offset: UInt64, length: UInt64)
}

/// A decoded B+tree node (§6.7): leaf entries with values, or interior entries with child references.
struct OCDBTBTreeNode {
    struct Child {
        var key: [UInt8]
        var subtreeCommonPrefixLength: Int
        var ref: OCDBTNodeRef
        var file: OCDBTDataFile
    }

    var height: Int
    var leaves: [(key: [UInt8], value: OCDBTValue)] = []
    var children: [Child] = []

    /// Decodes a node read through a reference whose transitive base path is `transitive`.
    static func decode(_ bytes: UnsafeRawBufferPointer, transitive: String, file: String, fileOffset: Int,
                       maxBodyBytes: Int) throws(KilnError) -> OCDBTBTreeNode {
        let body = try OCDBTEnvelope.decode(bytes, magic: OCDBTEnvelope.btreeNodeMagic, what: "OCDBT B+tree node",
                                            file: file, fileOffset: fileOffset, maxBodyBytes: maxBodyBytes)
        return try withBytesOf(body) { (b: UnsafeRawBufferPointer) throws(KilnError) -> OCDBTBTreeNode in
            var c = ByteCursor(b, file: "\(file) (B+tree node at \(fileOffset), decoded)")
            let height = Int(try c.read(UInt8.self, "node height"))
            var files = try OCDBTDataFileTable.decode(&c, what: "B+tree node")
            for i in files.indices { files[i].basePath = transitive + files[i].basePath }
            let n = try c.varintInt("entry count", limit: min(1 << 20, c.remaining))
            guard n >= 1 else { throw KilnError(.invalid, "B+tree node with no entries", file: file, offset: fileOffset) }
            var prefix = [0]
            for _ in 1 ..< n { prefix.append(try c.varintInt("key prefix length", limit: 65535)) }
            var suffix: [Int] = []
            for _ in 0 ..< n { suffix.append(try c.varintInt("key suffix length", limit: 65535)) }
            var scpl: [Int] = []
            if height > 0 { for _ in 0 ..< n { scpl.append(try c.varintInt("subtree common prefix length", limit: 65535)) } }
            var keys: [[UInt8]] = []
            keys.reserveCapacity(n)
            var previous: [UInt8] = []
            for i in 0 ..< n {
                guard prefix[i] <= previous.count else {
                    throw KilnError(.invalid, "key \(i): prefix length \(prefix[i]) exceeds the previous key", file: c.file, offset: c.offset)
                }
                let k = Array(previous[0 ..< prefix[i]]) + Array(try c.readBytes(suffix[i], "key suffix"))
                if height > 0 && scpl[i] > k.count {
                    throw KilnError(.invalid, "key \(i): subtree common prefix longer than the key", file: c.file, offset: c.offset)
                }
                keys.append(k)
                previous = k
            }
            func dataFile(_ id: Int) throws(KilnError) -> OCDBTDataFile {
                guard id < files.count else {
                    throw KilnError(.invalid, "data file id \(id) but the node's table has \(files.count)", file: c.file, offset: c.offset)
                }
                return files[id]
            }
            var node = OCDBTBTreeNode(height: height)
            if height == 0 {
                var length: [UInt64] = []
                for _ in 0 ..< n { length.append(try c.varint("value length")) }
                var kind: [UInt8] = []
                for _ in 0 ..< n {
                    let k = try c.read(UInt8.self, "value kind")
                    guard k <= 1 else { throw KilnError(.invalid, "value kind \(k)", file: c.file, offset: c.offset - 1) }
                    kind.append(k)
                }
                let indirect = kind.indices.filter { kind[$0] == 1 }
                var fid: [Int] = [], off: [UInt64] = []
                for _ in indirect { fid.append(try c.varintInt("value data file id", limit: 1 << 30)) }
                for _ in indirect { off.append(try c.varint("value offset")) }
                var j = 0
                node.leaves.reserveCapacity(n)
                for i in 0 ..< n {
                    if kind[i] == 1 {
                        let f = try dataFile(fid[j])
                        node.leaves.append((keys[i], .indirect(path: f.path, offset: off[j], length: length[i])))
                        j += 1
                    } else {
                        guard length[i] <= UInt64(c.remaining) else {
                            throw KilnError(.truncated, "inline value of \(length[i]) bytes runs past the node", file: c.file, offset: c.offset)
                        }
                        node.leaves.append((keys[i], .inline(Array(try c.readBytes(Int(length[i]), "inline value")))))
                    }
                }
            } else {
                var fid: [Int] = [], off: [UInt64] = [], len: [UInt64] = []
                for _ in 0 ..< n { fid.append(try c.varintInt("child data file id", limit: 1 << 30)) }
                for _ in 0 ..< n { off.append(try c.varint("child offset")) }
                for _ in 0 ..< n { len.append(try c.varint("child length")) }
                for _ in 0 ..< 3 * n { _ = try c.varint("subtree statistics") }
                for i in 0 ..< n {
                    node.children.append(Child(key: keys[i], subtreeCommonPrefixLength: scpl[i],
                                               ref: OCDBTNodeRef(fileID: fid[i], offset: off[i], length: len[i]), file: try dataFile(fid[i])))
                }
            }
            guard c.isAtEnd else { throw KilnError(.invalid, "\(c.remaining) trailing bytes in a B+tree node", file: file, offset: fileOffset) }
            return node
        }
    }
}
