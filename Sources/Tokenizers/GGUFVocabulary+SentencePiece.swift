import KilnCore

extension GGUFVocabulary {
    /// Added tokens that Hugging Face's Gemma tokenizer marks special although SentencePiece does not mark them
    /// CONTROL (transformers `GemmaConverter.special_tokens`); llama.cpp's converter then writes them as CONTROL.
    public static let gemmaSpecialTokens: Set<String> = ["<start_of_turn>", "<end_of_turn>"]

    /// The vocabulary llama.cpp's `convert_hf_to_gguf.py` writes for a Gemma 3 `tokenizer.model` (Gemma3Model.set_vocab →
    /// `_set_vocab_sentencepiece`, with the added tokens that HF's tokenizer_config derives from the same model):
    /// - ids below `vocabularySize` (default: the piece count) come from the model; missing ids become `[PAD<id>]`,
    ///   score −10000, UNUSED, and pieces at or beyond it are dropped;
    /// - NORMAL, BYTE and UNUSED pieces keep their text, score and type;
    /// - CONTROL, USER_DEFINED and the unknown piece are added tokens: score −1000, CONTROL when special (SentencePiece
    ///   CONTROL/UNKNOWN, `gemmaSpecialTokens`, or what `does_token_look_special` accepts), else USER_DEFINED with
    ///   U+2581 replaced by a space (the converter's "pre-normalized" user-defined spaces);
    /// - bos/eos/unk/pad ids from the TrainerSpec; add_bos true, add_eos false, add_space_prefix false (Gemma 3).
    public init(sentencePiece model: SentencePieceModel, vocabularySize: Int? = nil) throws(KilnError) {
        let n = vocabularySize ?? model.pieces.count
        guard n > 0 else { throw KilnError(.invalid, "vocabulary size \(n) must be positive") }
        var tokens = (0 ..< n).map { "[PAD\($0)]" }
        var scores = [Float](repeating: -10000, count: n)
        var types = [TokenType](repeating: .unused, count: n)
        let unk = Int(model.unkID)
        for (i, piece) in model.pieces.prefix(n).enumerated() {
            let added = piece.type == .control || piece.type == .userDefined || piece.type == .unknown || i == unk
            if !added {
                tokens[i] = piece.text
                scores[i] = piece.score
                types[i] = piece.type
                continue
            }
            let special = piece.type == .control || piece.type == .unknown || i == unk
                || Self.gemmaSpecialTokens.contains(where: { $0.utf8.elementsEqual(piece.text.utf8) }) || Self.looksSpecial(piece.text)
            tokens[i] = special ? piece.text : piece.text.replacingAll("\u{2581}", with: " ")
            scores[i] = -1000
            types[i] = special ? .control : .userDefined
        }
        func id(_ value: Int32, _ what: String) throws(KilnError) -> Int32 {
            guard value >= 0, Int(value) < n else { throw KilnError(.invalid, "\(what) id \(value) is outside the vocabulary of \(n)") }
            return value
        }
        self.init(tokens: tokens, scores: scores, types: types,
                  bosID: try id(model.bosID, "bos"), eosID: try id(model.eosID, "eos"), unknownID: try id(model.unkID, "unk"),
                  paddingID: model.padID >= 0 ? try id(model.padID, "pad") : nil,
                  addBOS: true, addEOS: false, addSpacePrefix: false)
    }

    /// convert_hf_to_gguf.py `does_token_look_special`: tokens some models fail to mark special.
    static func looksSpecial(_ text: String) -> Bool {
        // Compared as UTF-8 bytes, as Python compares code points (Swift's String comparison is by grapheme).
        let b = Array(text.utf8)
        func starts(_ p: String) -> Bool { b.starts(with: p.utf8) }
        func ends(_ s: String) -> Bool { b.reversed().starts(with: s.utf8.reversed()) }
        if ["<pad>", "<mask>", "<2mass>", "[@BOS@]"].contains(where: { b.elementsEqual($0.utf8) }) { return true }
        if starts("<|") && ends("|>") { return true }
        if starts("<\u{FF5C}") && ends("\u{FF5C}>") { return true }
        return starts("<unused") && ends(">")
    }
}

extension String {
    /// Replaces every occurrence of `target` (compared as UTF-8 bytes, like Python's `str.replace`).
    func replacingAll(_ target: String, with replacement: String) -> String {
        let t = Array(target.utf8)
        let bytes = Array(utf8)
        guard !t.isEmpty, bytes.count >= t.count else { return self }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        var changed = false
        while i < bytes.count {
            if i + t.count <= bytes.count && bytes[i] == t[0] && bytes[i ..< i + t.count].elementsEqual(t) {
                out.append(contentsOf: replacement.utf8)
                i += t.count
                changed = true
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return changed ? String(decoding: out, as: UTF8.self) : self
    }
}
