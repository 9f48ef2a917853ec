import Foundation
import KilnCore
import KilnTestSupport
import Tokenizers
import Testing

/// `tokenizer.model` fixtures truncated at every byte offset and corrupted at many: a typed error or a model whose
/// vocabulary and tokenizer work, never a trap.
@Suite struct DamagedTokenizerModelTests {
    static let fixtures = ["tokenizer/tiny.model", "gemma3/tiny-kaggle/tokenizer.model"]

    static func check(_ bytes: [UInt8], _ how: String) {
        do {
            let model = try bytes.withUnsafeBytes { try SentencePieceModel(bytes: $0, file: "damaged.model") }
            let vocabulary = try GGUFVocabulary(sentencePiece: model)
            let tokenizer = SPMTokenizer(vocabulary: vocabulary)
            let ids = tokenizer.tokenize("Hello wörld <start_of_turn>user\n 12", addBOS: true, parseSpecial: true)
            _ = tokenizer.detokenize(ids, special: true)
        } catch is KilnError {
        } catch {
            Issue.record("\(how): non-Kiln error \(error)")
        }
    }

    @Test(arguments: fixtures)
    func truncatedAndCorrupted(_ name: String) throws {
        Mutations.forEachDamaged([UInt8](try Fixtures.data(name)), corruptions: 500) { Self.check($0, "\(name) \($1)") }
    }
}
