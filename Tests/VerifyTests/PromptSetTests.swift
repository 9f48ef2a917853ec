import Foundation
import GGUFWriter
import KilnCore
import KilnTestSupport
import RefInference
import Tokenizers
import Testing
@testable import Verify

struct PromptSetTests {
    func tokenizer() throws -> SPMTokenizer {
        let path = try TinyModels.converted()
        return try SPMTokenizer(metadata: try GGUFFile(path: path).metadata, file: path)
    }

    @Test func parsesStringsAndChats() throws {
        let json = #"["plain text", [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]]"#
        let items = try PromptSet.parse(json: Data(json.utf8), file: "p.json")
        #expect(items == [.raw("plain text"), .chat([.init(role: "system", content: "Be brief."), .init(role: "user", content: "Hi"),
                                                     .init(role: "assistant", content: "Hello!")])])
    }

    @Test(arguments: [#"{"a": 1}"#, #"[1]"#, #"[[{"role": "user"}]]"#, #"[[{"role": "user", "content": "no model turn"}]]"#, "[]", "not json"])
    func rejectsBadPromptFiles(_ json: String) {
        #expect(throws: KilnError.self) { try PromptSet.parse(json: Data(json.utf8), file: "p.json") }
    }

    @Test func rawTextIsBOSPlusTextAllPositionsScored() throws {
        let t = try tokenizer()
        let s = try PromptSet.sequences([.raw("Hello world, again.")], tokenizer: t)[0]
        #expect(s.tokens == t.tokenize("Hello world, again.", addBOS: true, parseSpecial: false))
        #expect(s.tokens.first == t.vocabulary.bosID)
        #expect(s.scored == Array(0 ..< s.tokens.count - 1))
    }

    /// The scored positions predict exactly the model turns' tokens: their content and `<end_of_turn>`.
    @Test func chatScoresModelTurnsOnly() throws {
        let t = try tokenizer()
        let chat: [ChatMessage] = [.init(role: "system", content: "Be brief."), .init(role: "user", content: "Hi there"),
                                   .init(role: "assistant", content: " Hello! "), .init(role: "user", content: "Bye"),
                                   .init(role: "model", content: "Goodbye.")]
        let s = try PromptSet.sequences([.chat(chat)], tokenizer: t)[0]
        let text = "<start_of_turn>user\nBe brief.\n\nHi there<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n"
            + "<start_of_turn>user\nBye<end_of_turn>\n<start_of_turn>model\nGoodbye.<end_of_turn>\n"
        #expect(s.tokens == t.tokenize(text, addBOS: true, parseSpecial: true))
        let predicted = s.scored.map { s.tokens[$0 + 1] }
        let eot = t.tokenID(for: "<end_of_turn>")!
        let turns = predicted.split(separator: eot, omittingEmptySubsequences: false)
        #expect(turns.count == 3 && turns[2].isEmpty)
        #expect(t.detokenize(Array(turns[0])) == "Hello!")
        #expect(t.detokenize(Array(turns[1])) == "Goodbye.")
    }

    /// llama-perplexity's chunking: ⌊n/ctx⌋ chunks, BOS first, positions ctx/2 … ctx−2 scored.
    @Test func textChunksLikeLlamaPerplexity() throws {
        let t = try tokenizer()
        let text = String(repeating: "The quick brown fox jumps over the lazy dog. ", count: 20)
        let all = t.tokenize(text, addBOS: true, parseSpecial: false)
        let (seqs, tokens) = try PromptSet.textChunks(text, context: 32, tokenizer: t, file: "t.txt")
        #expect(seqs.count == all.count / 32)
        #expect(tokens == Array(all.prefix(seqs.count * 32)))
        for (c, s) in seqs.enumerated() {
            #expect(s.tokens.first == t.vocabulary.bosID)
            #expect(Array(s.tokens.dropFirst()) == Array(all[c * 32 + 1 ..< (c + 1) * 32]))
            #expect(s.scored == Array(16 ..< 31))
        }
        #expect(throws: KilnError.self) { try PromptSet.textChunks("short", context: 512, tokenizer: t, file: "t.txt") }
    }

    /// The built-in set: chats, prose longer than the 512-token window, ≥ 1,500 tokens (real vocabulary when present).
    @Test func defaultSetIsLargeEnough() throws {
        let t: SPMTokenizer
        if !RealModel.skipped { let real = try RealModel.gemma270m(); t = try SPMTokenizer(metadata: try GGUFFile(path: real).metadata, file: real) } else { t = try tokenizer() }
        let seqs = try PromptSet.sequences(DefaultPrompts.items, tokenizer: t)
        #expect(seqs.reduce(0) { $0 + $1.tokens.count } >= 1500)
        #expect(seqs.contains { $0.tokens.count > 512 })
        #expect(seqs.contains { $0.label.hasPrefix("chat") && $0.scored.count < $0.tokens.count - 1 })
    }
}
