/// An open-addressing hash map from token bytes to token id that looks up byte slices without allocating.
///
/// Duplicate texts map to the highest id, as llama.cpp's `token_to_id[text] = id` loop leaves them.
struct TokenLookup: Sendable {
    /// All token texts back to back; token `i` is `storage[offsets[i] ..< offsets[i + 1]]`.
    private let storage: [UInt8]
    private let offsets: [Int32]
    /// Slot → token id, or -1 for an empty slot.
    private let slots: [Int32]
    private let mask: Int

    init(tokens: [String]) {
        var storage: [UInt8] = []
        var offsets: [Int32] = [0]
        offsets.reserveCapacity(tokens.count + 1)
        for t in tokens {
            storage.append(contentsOf: t.utf8)
            offsets.append(Int32(storage.count))
        }
        var capacity = 16
        while capacity < tokens.count * 2 { capacity <<= 1 }
        var slots = [Int32](repeating: -1, count: capacity)
        let mask = capacity - 1
        storage.withUnsafeBufferPointer { s in
            for id in tokens.indices {
                let start = Int(offsets[id]), end = Int(offsets[id + 1])
                let key = UnsafeBufferPointer(rebasing: s[start ..< end])
                var slot = Self.hash(key) & mask
                while true {
                    let existing = slots[slot]
                    if existing < 0 { slots[slot] = Int32(id); break }
                    let es = Int(offsets[Int(existing)]), ee = Int(offsets[Int(existing) + 1])
                    if Self.equal(UnsafeBufferPointer(rebasing: s[es ..< ee]), key) { slots[slot] = Int32(id); break }
                    slot = (slot + 1) & mask
                }
            }
        }
        self.storage = storage
        self.offsets = offsets
        self.slots = slots
        self.mask = mask
    }

    /// FNV-1a over the bytes.
    @inline(__always)
    static func hash(_ key: UnsafeBufferPointer<UInt8>) -> Int {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in key { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return Int(truncatingIfNeeded: h ^ (h >> 29))
    }

    @inline(__always)
    static func equal(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        for i in 0 ..< a.count where a[i] != b[i] { return false }
        return true
    }

    /// The id of the token whose text is exactly `key`, or nil.
    func id(of key: UnsafeBufferPointer<UInt8>) -> Int32? {
        storage.withUnsafeBufferPointer { s in
            var slot = Self.hash(key) & mask
            while true {
                let id = slots[slot]
                if id < 0 { return nil }
                let start = Int(offsets[Int(id)]), end = Int(offsets[Int(id) + 1])
                if Self.equal(UnsafeBufferPointer(rebasing: s[start ..< end]), key) { return id }
                slot = (slot + 1) & mask
            }
        }
    }

    /// The id of the token whose text is `text`, or nil.
    func id(of text: String) -> Int32? {
        var t = text
        return t.withUTF8 { id(of: $0) }
    }

    /// The bytes of token `id`.
    func bytes(of id: Int32) -> ArraySlice<UInt8> {
        storage[Int(offsets[Int(id)]) ..< Int(offsets[Int(id) + 1])]
    }
}
