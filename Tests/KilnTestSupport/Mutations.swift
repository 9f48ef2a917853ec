/// Damaged copies of a valid file for hostile-input tests: truncations and single-byte corruptions at chosen offsets.
public enum Mutations {
    /// Prefix lengths to try: every length of a file up to 64 KiB; for larger files the first 512 lengths and 2,000
    /// more spread evenly over the rest.
    public static func truncations(of size: Int) -> [Int] {
        if size <= 64 << 10 { return Array(0 ..< size) }
        let spread = (0 ..< 2000).map { 512 + ($0 * (size - 512)) / 2000 }
        return Array(0 ..< 512) + spread
    }

    /// Deterministic single-byte corruptions `(offset, new value)`: up to `count` offsets (all offsets of a small
    /// file), each set to a value chosen from 0x00, 0xFF, 0x7F, 0x80 and a bit flip of the original.
    public static func corruptions(of bytes: [UInt8], count: Int = 1000, seed: UInt64 = 1) -> [(offset: Int, value: UInt8)] {
        guard !bytes.isEmpty else { return [] }
        var state = seed | 1
        func next() -> UInt64 { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return state }
        let offsets = bytes.count <= count ? Array(0 ..< bytes.count) : (0 ..< count).map { _ in Int(next() % UInt64(bytes.count)) }
        return offsets.map { o in
            let choices: [UInt8] = [0x00, 0xFF, 0x7F, 0x80, bytes[o] ^ (1 << UInt8(next() % 8))]
            var v = choices[Int(next() % UInt64(choices.count))]
            if v == bytes[o] { v = ~v }
            return (o, v)
        }
    }

    /// Calls `body` with every truncation of `bytes` and up to `corruptions` single-byte corruptions, each with a
    /// description of the damage for failure messages.
    public static func forEachDamaged(_ bytes: [UInt8], corruptions: Int = 1000, _ body: ([UInt8], String) -> Void) {
        for n in truncations(of: bytes.count) { body(Array(bytes.prefix(n)), "truncated to \(n) bytes") }
        for (o, v) in self.corruptions(of: bytes, count: corruptions) { body(corrupted(bytes, at: o, to: v), "byte \(o) set to \(v)") }
    }

    /// Whether `view` lies inside `file` (a tensor view a reader handed out for a damaged file).
    public static func isInside(_ view: UnsafeRawBufferPointer, _ file: UnsafeRawBufferPointer) -> Bool {
        guard let start = view.baseAddress, view.count > 0 else { return true }
        guard let base = file.baseAddress else { return false }
        return start >= base && start + view.count <= base + file.count
    }

    /// `bytes` with one byte replaced.
    public static func corrupted(_ bytes: [UInt8], at offset: Int, to value: UInt8) -> [UInt8] {
        var b = bytes
        b[offset] = value
        return b
    }
}
