import KilnCore

/// One data file named by an OCDBT table: its base path (inherited by nodes read from it) and relative path.
struct OCDBTDataFile: Sendable, Equatable {
    var basePath: String
    var relativePath: String
    var path: String { basePath + relativePath }
}

/// The prefix-compressed data-file table at the start of manifests and nodes (§6.5).
enum OCDBTDataFileTable {
    static func decode(_ c: inout ByteCursor, what: String) throws(KilnError) -> [OCDBTDataFile] {
        let n = try c.varintInt("\(what) data file count", limit: c.remaining)
        guard n > 0 else { return [] }
        var prefix = [0]
        for _ in 1 ..< n { prefix.append(try c.varintInt("\(what) path prefix length", limit: 65535)) }
        var suffix: [Int] = []
        for _ in 0 ..< n { suffix.append(try c.varintInt("\(what) path suffix length", limit: 65535)) }
        var base: [Int] = []
        for _ in 0 ..< n { base.append(try c.varintInt("\(what) base path length", limit: 65535)) }
        var files: [OCDBTDataFile] = []
        var previous: [UInt8] = []
        for i in 0 ..< n {
            guard prefix[i] <= previous.count else {
                throw KilnError(.invalid, "\(what) data file \(i): prefix length \(prefix[i]) exceeds the previous path", file: c.file, offset: c.offset)
            }
            let s = try c.readBytes(suffix[i], "\(what) data file path")
            let path = Array(previous[0 ..< prefix[i]]) + Array(s)
            guard base[i] <= path.count else {
                throw KilnError(.invalid, "\(what) data file \(i): base path length \(base[i]) exceeds the path", file: c.file, offset: c.offset)
            }
            guard let b = String(validating: path[0 ..< base[i]], as: UTF8.self),
                  let r = String(validating: path[base[i]...], as: UTF8.self) else {
                throw KilnError(.invalid, "\(what) data file \(i): path is not UTF-8", file: c.file, offset: c.offset)
            }
            // Paths are relative to the database directory; `..` or a leading `/` could only point outside it.
            guard !(b + r).hasPrefix("/"), !(b + r).split(separator: "/").contains("..") else {
                throw KilnError(.invalid, "\(what) data file \(i): path '\(b + r)' leaves the checkpoint directory", file: c.file, offset: c.offset)
            }
            files.append(OCDBTDataFile(basePath: b, relativePath: r))
            previous = path
        }
        return files
    }
}
