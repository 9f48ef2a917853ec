import Foundation
import GGUFWriter
import KilnCore
import KilnTestSupport
import Testing
import Tokenizers

@Suite struct GGUFVocabularyTests {
    @Test func tinyConversionMatchesConverterRule() throws {
        let vocab = try GGUFVocabulary(sentencePiece: try SentencePieceModel(path: TokenizerFixtures.tinyModelPath))
        let expected = try #require(try Fixtures.json("tokenizer/tiny_vocab.json") as? [String: Any])
        #expect(vocab.tokens == expected["tokens"] as? [String])
        #expect(vocab.scores == (expected["scores"] as? [NSNumber])?.map(\.floatValue))
        #expect(vocab.types.map { Int($0.rawValue) } == expected["types"] as? [Int])
        #expect([vocab.bosID, vocab.eosID, vocab.unknownID, vocab.paddingID ?? -1] == [2, 1, 3, 0])
        #expect(vocab.addBOS && !vocab.addEOS && !vocab.addSpacePrefix)
    }

    @Test func paddingAndTruncationToAVocabularySize() throws {
        let model = try SentencePieceModel(path: TokenizerFixtures.tinyModelPath)
        let padded = try GGUFVocabulary(sentencePiece: model, vocabularySize: model.pieces.count + 2)
        #expect(padded.tokens.suffix(2) == ["[PAD\(model.pieces.count)]", "[PAD\(model.pieces.count + 1)]"])
        #expect(padded.scores.suffix(2) == [-10000, -10000] && padded.types.suffix(2) == [.unused, .unused])
        let cut = try GGUFVocabulary(sentencePiece: model, vocabularySize: 100)
        #expect(cut.count == 100)
        #expect(throws: KilnError.self) { try GGUFVocabulary(sentencePiece: model, vocabularySize: 2) } // unk 3 out of range
    }

    @Test func metadataOrderTypesAndRoundTrip() throws {
        let vocab = try GGUFVocabulary(sentencePiece: try SentencePieceModel(path: TokenizerFixtures.tinyModelPath))
        let entries = vocab.ggufMetadata(chatTemplate: GemmaChatTemplate.gemma3)
        #expect(entries.map(\.key) == [
            "tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.tokens", "tokenizer.ggml.scores",
            "tokenizer.ggml.token_type", "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
            "tokenizer.ggml.unknown_token_id", "tokenizer.ggml.padding_token_id", "tokenizer.ggml.add_bos_token",
            "tokenizer.ggml.add_sep_token", "tokenizer.ggml.add_eos_token", "tokenizer.chat_template",
            "tokenizer.ggml.add_space_prefix",
        ])
        #expect(try GGUFVocabulary(metadata: entries) == vocab)
        #expect(GemmaChatTemplate.gemma3.hasPrefix("{{ bos_token }}\n{%- if messages[0]['role'] == 'system' -%}"))
        #expect(GemmaChatTemplate.gemma3.hasSuffix("{{'<start_of_turn>model\\n'}}\n{%- endif -%}\n"))
        #expect(!GemmaChatTemplate.gemma3.hasSuffix("\n\n") && GemmaChatTemplate.gemma3.utf8.count == 1539)
    }

    /// Reading the real GGUF's vocabulary and writing it back gives its `tokenizer.*` entries exactly, in order.
    @Test(RealModel.required("GGUFVocabularyTests.realGGUFMetadataRoundTrip"))
    func realGGUFMetadataRoundTrip() throws {
        let (file, tokenizer) = try TokenizerFixtures.gemma270m()
        let real = file.metadata.filter { $0.key.hasPrefix("tokenizer.") }
        #expect(tokenizer.vocabulary.ggufMetadata() == real)
        #expect(tokenizer.vocabulary.count == 262_144)
        #expect([tokenizer.vocabulary.bosID, tokenizer.vocabulary.eosID, tokenizer.vocabulary.unknownID] == [2, 1, 3])
    }

    /// Ground truth: the vocabulary built from a tokenizer.model equals what llama.cpp's converter put in the real GGUF.
    /// The tokenizer.model is the one scripts/make_kaggle_checkpoint.py writes (by scripts/gen_tokenizer_fixtures.py).
    @Test(RealModel.required("GGUFVocabularyTests.fullSizeConversionMatchesRealGGUF"))
    func fullSizeConversionMatchesRealGGUF() throws {
        let (file, _) = try TokenizerFixtures.gemma270m()
        let model = try SentencePieceModel(path: try RealModel.tokenizerModel())
        let vocab = try GGUFVocabulary(sentencePiece: model)
        let mine = vocab.ggufMetadata()
        let real = file.metadata.filter { $0.key.hasPrefix("tokenizer.") }
        #expect(mine.map(\.key) == real.map(\.key))
        for (a, b) in zip(mine, real) {
            #expect(a.value.type == b.value.type, "\(a.key)")
            if case .array(.float32(let x)) = a.value, case .array(.float32(let y)) = b.value {
                #expect(x.map(\.bitPattern) == y.map(\.bitPattern), "scores differ bit for bit")
            } else if a.value != b.value {
                Issue.record("\(a.key) differs")
            }
        }
        #expect(vocab.types[105] == .control && vocab.tokens[105] == "<start_of_turn>")
        #expect(vocab.types[106] == .control && vocab.tokens[106] == "<end_of_turn>")
    }
}
