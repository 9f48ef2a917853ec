import Foundation
import GGUFWriter
import KilnTestSupport
import Testing
import Tokenizers

/// Shared loading of the tokenizer fixtures (see scripts/gen_tokenizer_fixtures.py and gen_tokenizer_goldens.py).
enum TokenizerFixtures {
    struct Case {
        var text: String
        var addBOS: Bool
        var special: Bool
        var ids: [Int32]
        var detok: [UInt8]?
    }

    static func cases(_ relative: String) throws -> (version: String, cases: [Case]) {
        let doc = try #require(try Fixtures.json(relative) as? [String: Any])
        let raw = try #require(doc["cases"] as? [[String: Any]])
        let cases = try raw.map { c in
            Case(text: try #require(c["text"] as? String), addBOS: try #require(c["add_bos"] as? Bool),
                 special: try #require(c["special"] as? Bool),
                 ids: try #require(c["ids"] as? [Int]).map { Int32($0) },
                 detok: (c["detok"] as? String).map { Array($0.utf8) } ?? (c["detok_bytes"] as? [Int]).map { $0.map { UInt8($0) } })
        }
        return (try #require(doc["llama_cpp_python"] as? String), cases)
    }

    static var tinyModelPath: String { Fixtures.path("tokenizer/tiny.model") }

    /// The real 270M GGUF's tokenizer, loaded once; throws when the real model is absent (see `RealModel`).
    static func gemma270m() throws -> (file: GGUFFile, tokenizer: SPMTokenizer) { try loaded270m.get() }

    private static let loaded270m = Result { () throws -> (file: GGUFFile, tokenizer: SPMTokenizer) in
        let path = try RealModel.gemma270m()
        let file = try GGUFFile(path: path)
        return (file, try SPMTokenizer(metadata: file.metadata, file: path))
    }

    static func tinyTokenizer() throws -> SPMTokenizer {
        SPMTokenizer(vocabulary: try GGUFVocabulary(sentencePiece: try SentencePieceModel(path: tinyModelPath)))
    }
}
