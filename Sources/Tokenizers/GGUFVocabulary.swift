import GGUFWriter
import KilnCore

/// A llama.cpp SPM vocabulary: what GGUF's `tokenizer.ggml.*` keys hold, and what `SPMTokenizer` runs on.
public struct GGUFVocabulary: Sendable, Equatable {
    /// `tokenizer.ggml.tokens`: token texts by id (spaces in NORMAL pieces are U+2581).
    public var tokens: [String]
    /// `tokenizer.ggml.scores`: merge priority of NORMAL pieces (higher merges first).
    public var scores: [Float]
    /// `tokenizer.ggml.token_type`.
    public var types: [TokenType]
    /// `tokenizer.ggml.{bos,eos,unknown,padding}_token_id`.
    public var bosID: Int32
    public var eosID: Int32
    public var unknownID: Int32
    public var paddingID: Int32?
    /// `tokenizer.ggml.add_bos_token`, `add_eos_token`, `add_space_prefix`.
    public var addBOS: Bool
    public var addEOS: Bool
    public var addSpacePrefix: Bool

    /// A vocabulary from its parts; the three arrays must have the same length.
    public init(tokens: [String], scores: [Float], types: [TokenType], bosID: Int32, eosID: Int32, unknownID: Int32,
                paddingID: Int32?, addBOS: Bool = true, addEOS: Bool = false, addSpacePrefix: Bool = false) {
        precondition(tokens.count == scores.count && tokens.count == types.count)
        self.tokens = tokens
        self.scores = scores
        self.types = types
        self.bosID = bosID
        self.eosID = eosID
        self.unknownID = unknownID
        self.paddingID = paddingID
        self.addBOS = addBOS
        self.addEOS = addEOS
        self.addSpacePrefix = addSpacePrefix
    }

    /// Number of tokens.
    public var count: Int { tokens.count }
}

extension GGUFVocabulary {
    private typealias K = GGUFKey.Tokenizer

    /// Reads the vocabulary from GGUF metadata (`tokenizer.ggml.model` must be "llama"); llama.cpp's defaults fill
    /// absent optional keys (bos 1, eos 2, unk 0, add_bos true, add_eos false, add_space_prefix true).
    public init(metadata: [GGUFMetadataEntry], file: String? = nil) throws(KilnError) {
        func fail(_ message: String) -> KilnError { KilnError(.invalid, message, file: file) }
        guard let model = metadata[key: K.model]?.stringValue else {
            throw KilnError(.notFound, "no \(K.model) key", file: file)
        }
        guard model == "llama" else { throw KilnError(.unsupported, "tokenizer model '\(model)' is not SPM ('llama')", file: file) }
        guard case .array(.string(let tokens))? = metadata[key: K.tokens] else {
            throw fail("\(K.tokens) is missing or not a string array")
        }
        var scores = [Float](repeating: 0, count: tokens.count)
        if let value = metadata[key: K.scores] {
            guard case .array(.float32(let s)) = value, s.count == tokens.count else {
                throw fail("\(K.scores) must be a FLOAT32 array of \(tokens.count) values")
            }
            scores = s
        }
        var types = [TokenType](repeating: .normal, count: tokens.count)
        if let value = metadata[key: K.tokenType] {
            guard case .array(.int32(let t)) = value, t.count == tokens.count else {
                throw fail("\(K.tokenType) must be an INT32 array of \(tokens.count) values")
            }
            for (i, raw) in t.enumerated() {
                guard let type = TokenType(rawValue: raw) else { throw fail("token \(i) has unknown type \(raw)") }
                types[i] = type
            }
        }
        func id(_ key: String, _ fallback: Int32?) throws(KilnError) -> Int32? {
            guard let v = metadata[key: key] else { return fallback }
            guard let i = v.intValue, i >= 0, i < tokens.count else { throw fail("\(key) = \(v) is out of range") }
            return Int32(i)
        }
        func flag(_ key: String, _ fallback: Bool) -> Bool {
            if case .bool(let b)? = metadata[key: key] { return b }
            return fallback
        }
        self.init(tokens: tokens, scores: scores, types: types,
                  bosID: try id(K.bosID, 1) ?? 1, eosID: try id(K.eosID, 2) ?? 2,
                  unknownID: try id(K.unknownID, 0) ?? 0, paddingID: try id(K.paddingID, nil),
                  addBOS: flag(K.addBOS, true), addEOS: flag(K.addEOS, false),
                  addSpacePrefix: flag(K.addSpacePrefix, true))
    }

    /// The `tokenizer.*` metadata entries, in the key order and value types of llama.cpp's Gemma 3 converter output.
    /// `chatTemplate` (e.g. `GemmaChatTemplate.gemma3`) is written after `add_eos_token`, as `SpecialVocab` does.
    public func ggufMetadata(chatTemplate: String? = nil) -> [GGUFMetadataEntry] {
        var entries: [GGUFMetadataEntry] = [
            GGUFMetadataEntry(K.model, .string("llama")),
            GGUFMetadataEntry(K.pre, .string("default")),
            GGUFMetadataEntry(K.tokens, .array(.string(tokens))),
            GGUFMetadataEntry(K.scores, .array(.float32(scores))),
            GGUFMetadataEntry(K.tokenType, .array(.int32(types.map(\.rawValue)))),
            GGUFMetadataEntry(K.bosID, .uint32(UInt32(bosID))),
            GGUFMetadataEntry(K.eosID, .uint32(UInt32(eosID))),
            GGUFMetadataEntry(K.unknownID, .uint32(UInt32(unknownID))),
        ]
        if let paddingID { entries.append(GGUFMetadataEntry(K.paddingID, .uint32(UInt32(paddingID)))) }
        entries.append(GGUFMetadataEntry(K.addBOS, .bool(addBOS)))
        entries.append(GGUFMetadataEntry(K.addSEP, .bool(false)))
        entries.append(GGUFMetadataEntry(K.addEOS, .bool(addEOS)))
        if let chatTemplate { entries.append(GGUFMetadataEntry(K.chatTemplate, .string(chatTemplate))) }
        entries.append(GGUFMetadataEntry(K.addSpacePrefix, .bool(addSpacePrefix)))
        return entries
    }
}
