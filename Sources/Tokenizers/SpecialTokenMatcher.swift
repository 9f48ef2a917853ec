/// llama.cpp's special-token partition (`tokenizer_st_partition`), computed in one pass over the text.
///
/// llama.cpp takes every CONTROL, USER_DEFINED and UNKNOWN token, longest first, and splits each remaining raw-text
/// fragment at that token's leftmost non-overlapping occurrences. The same result comes from finding all occurrences
/// with a trie, then accepting them in (length desc, id asc, position asc) order when their bytes are still unclaimed.
struct SpecialTokenMatcher: Sendable {
    /// One piece of partitioned input: a raw byte range or a special token.
    enum Fragment: Equatable {
        case text(Range<Int>)
        case token(Int32)
    }

    private struct Node: Sendable {
        /// Lowest id of any special token whose text ends here, or -1.
        var anyID: Int32 = -1
        /// Lowest id of a USER_DEFINED token whose text ends here, or -1 (the only kind split when parse_special is off).
        var userID: Int32 = -1
    }

    private var nodes: [Node] = [Node()]
    /// Children of the root, by first byte (-1 when none); most positions stop here.
    private var rootEdges = [Int32](repeating: -1, count: 256)
    /// Edges of every other node, sorted by byte: node `i`'s are `edgeStart[i] ..< edgeStart[i + 1]`.
    private var edgeStart: [Int32] = []
    private var edgeBytes: [UInt8] = []
    private var edgeChildren: [Int32] = []

    init(vocabulary v: GGUFVocabulary) {
        var edges: [Int: Int32] = [:]   // (node << 8 | byte) → child, while building
        for id in v.tokens.indices {
            let type = v.types[id]
            guard type == .control || type == .userDefined || type == .unknown else { continue }
            let bytes = Array(v.tokens[id].utf8)
            guard !bytes.isEmpty else { continue }
            var node = 0
            for (depth, b) in bytes.enumerated() {
                if depth == 0 {
                    if rootEdges[Int(b)] < 0 { rootEdges[Int(b)] = Int32(nodes.count); nodes.append(Node()) }
                    node = Int(rootEdges[Int(b)])
                } else {
                    let key = node << 8 | Int(b)
                    if let child = edges[key] { node = Int(child) } else {
                        edges[key] = Int32(nodes.count)
                        node = nodes.count
                        nodes.append(Node())
                    }
                }
            }
            if nodes[node].anyID < 0 { nodes[node].anyID = Int32(id) }
            if type == .userDefined && nodes[node].userID < 0 { nodes[node].userID = Int32(id) }
        }
        let sorted = edges.sorted { $0.key < $1.key }
        edgeStart = [Int32](repeating: 0, count: nodes.count + 1)
        for (key, _) in sorted { edgeStart[(key >> 8) + 1] += 1 }
        for i in 0 ..< nodes.count { edgeStart[i + 1] += edgeStart[i] }
        edgeBytes = sorted.map { UInt8($0.key & 0xFF) }
        edgeChildren = sorted.map(\.value)
    }

    /// The child of `node` along `byte`, or -1.
    @inline(__always)
    private func child(_ node: Int, _ byte: UInt8) -> Int {
        var lo = Int(edgeStart[node]), hi = Int(edgeStart[node + 1])
        while hi - lo > 8 {
            let mid = (lo + hi) / 2
            let b = edgeBytes[mid]
            if b == byte { return Int(edgeChildren[mid]) }
            if b < byte { lo = mid + 1 } else { hi = mid }
        }
        for i in lo ..< hi where edgeBytes[i] == byte { return Int(edgeChildren[i]) }
        return -1
    }

    /// Splits `text` into raw ranges and special tokens. With `parseSpecial` false only USER_DEFINED tokens split.
    func partition(_ text: UnsafeBufferPointer<UInt8>, parseSpecial: Bool) -> [Fragment] {
        let n = text.count
        guard n > 0 else { return [] }
        // All occurrences, bucketed by length; each packed as id << 32 | start, in ascending start order.
        var buckets: [[UInt64]] = []
        for p in 0 ..< n {
            var node = Int(rootEdges[Int(text[p])])
            guard node >= 0 else { continue }
            var q = p + 1
            while true {
                let id = parseSpecial ? nodes[node].anyID : nodes[node].userID
                if id >= 0 {
                    let length = q - p
                    if buckets.count <= length { buckets += Array(repeating: [], count: length + 1 - buckets.count) }
                    buckets[length].append(UInt64(UInt32(id)) << 32 | UInt64(p))
                }
                guard q < n else { break }
                node = child(node, text[q])
                guard node >= 0 else { break }
                q += 1
            }
        }
        guard !buckets.isEmpty else { return [.text(0 ..< n)] }
        // Longest first, then lowest id, then leftmost. Every claimed span is at least as long as the candidate,
        // so a candidate overlaps one exactly when its first or last byte is claimed.
        var claimed = [Bool](repeating: false, count: n)
        var accepted: [(start: Int, length: Int, id: Int32)] = []
        for length in stride(from: buckets.count - 1, through: 1, by: -1) where !buckets[length].isEmpty {
            var bucket = buckets[length]
            let firstID = bucket[0] >> 32
            if bucket.contains(where: { $0 >> 32 != firstID }) { bucket.sort() }
            for packed in bucket {
                let start = Int(packed & 0xFFFF_FFFF)
                if claimed[start] || claimed[start + length - 1] { continue }
                for i in start ..< start + length { claimed[i] = true }
                accepted.append((start, length, Int32(truncatingIfNeeded: packed >> 32)))
            }
        }
        accepted.sort { $0.start < $1.start }
        var fragments: [Fragment] = []
        var cursor = 0
        for a in accepted {
            if a.start > cursor { fragments.append(.text(cursor ..< a.start)) }
            fragments.append(.token(a.id))
            cursor = a.start + a.length
        }
        if cursor < n { fragments.append(.text(cursor ..< n)) }
        return fragments
    }
}
