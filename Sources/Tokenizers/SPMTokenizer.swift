import GGUFWriter
import KilnCore

/// llama.cpp's SentencePiece (SPM, `tokenizer.ggml.model = "llama"`) tokenizer, reproduced token for token.
public final class SPMTokenizer: Sendable {
    /// The vocabulary this tokenizer runs on.
    public let vocabulary: GGUFVocabulary
    let lookup: TokenLookup
    let matcher: SpecialTokenMatcher
    /// Byte → `<0xXX>` token, else the one-byte token, else the unknown token.
    let byteTokens: [Int32]

    /// Builds the lookup tables (about 40 ms for Gemma's 262,144 tokens in release builds).
    public init(vocabulary: GGUFVocabulary) {
        self.vocabulary = vocabulary
        lookup = TokenLookup(tokens: vocabulary.tokens)
        matcher = SpecialTokenMatcher(vocabulary: vocabulary)
        let hex = Array("0123456789ABCDEF".utf8)
        byteTokens = (0 ..< 256).map { [lookup] b -> Int32 in
            var name: [UInt8] = Array("<0x".utf8) + [hex[b >> 4], hex[b & 15], UInt8(ascii: ">")]
            if let id = name.withUnsafeBufferPointer({ lookup.id(of: $0) }) { return id }
            name = [UInt8(b)]
            return name.withUnsafeBufferPointer { lookup.id(of: $0) } ?? vocabulary.unknownID
        }
    }

    /// The tokenizer of a GGUF file's metadata.
    public convenience init(metadata: [GGUFMetadataEntry], file: String? = nil) throws(KilnError) {
        self.init(vocabulary: try GGUFVocabulary(metadata: metadata, file: file))
    }

    /// Token ids for `text`, as llama.cpp's `llama_tokenize(text, add_special: addBOS, parse_special: parseSpecial)`:
    /// `addBOS` adds the vocabulary's BOS (and EOS) when its add_bos (add_eos) flag is set; with `parseSpecial`
    /// false, CONTROL tokens in the text are tokenized as plain text but USER_DEFINED ones still match.
    public func tokenize(_ text: String, addBOS: Bool, parseSpecial: Bool) -> [Int32] {
        var output: [Int32] = []
        if addBOS && vocabulary.addBOS { output.append(vocabulary.bosID) }
        var text = text
        text.withUTF8 { bytes in
            var isPreviousSpecial = true
            var escaped: [UInt8] = []
            for fragment in matcher.partition(bytes, parseSpecial: parseSpecial) {
                switch fragment {
                case .token(let id):
                    output.append(id)
                    isPreviousSpecial = true
                case .text(let range):
                    escaped.removeAll(keepingCapacity: true)
                    if vocabulary.addSpacePrefix && isPreviousSpecial { escaped.append(contentsOf: [0xE2, 0x96, 0x81]) }
                    for b in bytes[range] {
                        if b == 0x20 { escaped.append(contentsOf: [0xE2, 0x96, 0x81]) } else { escaped.append(b) }
                    }
                    escaped.withUnsafeBufferPointer { SPMSession.tokenize($0, tokenizer: self, into: &output) }
                    isPreviousSpecial = false
                }
            }
        }
        if addBOS && vocabulary.addEOS { output.append(vocabulary.eosID) }
        return output
    }

    /// The id of the token whose text is exactly `text`, if any.
    public func tokenID(for text: String) -> Int32? { lookup.id(of: text) }
}
