extension SPMTokenizer {
    /// The bytes llama.cpp's `token_to_piece` gives for `id`: CONTROL/UNKNOWN pieces are empty unless `special`,
    /// USER_DEFINED text is verbatim, NORMAL text has U+2581 turned into spaces, BYTE tokens give their byte,
    /// UNUSED tokens and out-of-range ids give nothing.
    public func piece(for id: Int32, special: Bool = false) -> [UInt8] {
        guard id >= 0, Int(id) < vocabulary.count else { return [] }
        let bytes = lookup.bytes(of: id)
        switch vocabulary.types[Int(id)] {
        case .control, .unknown: return special ? Array(bytes) : []
        case .userDefined: return Array(bytes)
        case .normal:
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count)
            var i = bytes.startIndex
            while i < bytes.endIndex {
                if bytes[i] == 0xE2, i + 2 < bytes.endIndex, bytes[i + 1] == 0x96, bytes[i + 2] == 0x81 {
                    out.append(0x20)
                    i += 3
                } else {
                    out.append(bytes[i])
                    i += 1
                }
            }
            return out
        case .byte: return Self.byteValue(bytes).map { [$0] } ?? []
        case .unused, .undefined: return []
        }
    }

    /// The concatenated piece bytes of `ids` (no leading-space handling: Gemma has add_space_prefix false).
    public func detokenizeBytes(_ ids: [Int32], special: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        for id in ids { out.append(contentsOf: piece(for: id, special: special)) }
        return out
    }

    /// The text of `ids`: bytes assembled first, then decoded as UTF-8 (invalid sequences become U+FFFD).
    public func detokenize(_ ids: [Int32], special: Bool = false) -> String {
        String(decoding: detokenizeBytes(ids, special: special), as: UTF8.self)
    }

    /// llama.cpp's `token_to_byte` for a `<0xXX>` token text.
    static func byteValue(_ text: ArraySlice<UInt8>) -> UInt8? {
        let t = Array(text)
        guard t.count == 6, t[0] == UInt8(ascii: "<"), t[1] == UInt8(ascii: "0"), t[2] == UInt8(ascii: "x"),
              t[5] == UInt8(ascii: ">"), let v = UInt8(String(decoding: t[3 ..< 5], as: UTF8.self), radix: 16) else { return nil }
        return v
    }
}
