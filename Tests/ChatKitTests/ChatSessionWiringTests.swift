import ChatKit
import KilnTestSupport
import RefInference
import Testing
import Tokenizers

/// A wiring test, not a numeric reference: a `ChatSession` on fixtures/engine/tiny-gemma3.gguf (random weights,
/// scripts/gen_engine_tiny.py) with greedy sampling must produce exactly the tokens that `GemmaEngine` gives when the
/// same prompt is fed and the argmax is taken by hand. It checks the session's prompt building (chat format, BOS on
/// the first turn), stop handling and generation loop, not the engine's numbers (EngineTinyModelTests does that).
struct ChatSessionWiringTests {
    /// The tiny model has 256 token ids and no tokenizer: a byte-fallback vocabulary of that size
    /// (<pad> <eos> <bos> <unk>, the two turn markers, then byte tokens <0x00>…<0xF9>).
    static func tokenizer() -> SPMTokenizer {
        var tokens = ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>"]
        var types: [TokenType] = [.control, .control, .control, .unknown, .control, .control]
        for b in 0 ..< 256 - tokens.count {
            tokens.append("<0x" + String(b, radix: 16, uppercase: true).leftPadded(2) + ">")
            types.append(.byte)
        }
        let v = GGUFVocabulary(tokens: tokens, scores: [Float](repeating: 0, count: tokens.count), types: types,
                               bosID: 2, eosID: 1, unknownID: 3, paddingID: 0, addBOS: true, addSpacePrefix: true)
        return SPMTokenizer(vocabulary: v)
    }

    static func engine() throws -> GemmaEngine {
        try GemmaEngine(path: Fixtures.path("engine/tiny-gemma3.gguf"), options: EngineOptions(threads: 1, contextLength: 128))
    }

    /// Greedy decoding straight on the engine: feed the prompt, then argmax (over the ids not `excluded`) until a stop
    /// token or `limit` tokens.
    static func greedy(_ engine: GemmaEngine, prompt: [Int32], stops: Set<Int32>, limit: Int,
                       excluded: Set<Int32> = []) throws -> [Int32] {
        var logits = try engine.evaluate(prompt)
        var out: [Int32] = []
        while out.count < limit {
            var best = -1
            for i in logits.indices where !excluded.contains(Int32(i)) && (best < 0 || logits[i] > logits[best]) { best = i }
            let next = Int32(best)
            if stops.contains(next) { break }
            out.append(next)
            logits = try engine.evaluate([next])
        }
        return out
    }

    @Test func greedySessionMatchesTheEngineDirectly() throws {
        let tokenizer = Self.tokenizer()
        let session = ChatSession(engine: try Self.engine(), tokenizer: tokenizer,
                                  settings: ChatSettings(system: "Be brief.", maxTokens: 6, sampler: .greedy))
        var streamed: [UInt8] = []
        let got = try session.reply(to: "Hi there") { streamed += $0 }

        let text = GemmaChatFormat.userTurn("Hi there", system: "Be brief.")
        let prompt = tokenizer.tokenize(text, addBOS: true, parseSpecial: true)
        #expect(prompt.first == 2)
        #expect(session.promptTokens(for: "x").first != 2, "BOS only on the first turn")
        let stops: Set<Int32> = [1, 5]  // <eos>, <end_of_turn>
        let want = try Self.greedy(try Self.engine(), prompt: prompt, stops: stops, limit: 6)
        #expect(!want.isEmpty)
        #expect(got == want)
        #expect(streamed == got.flatMap { Array(tokenizer.piece(for: $0)) })
        #expect(session.history == prompt + want, "every generated token is fed back")
    }

    /// `ignoreEOS` (chat --ignore-eos): with EOS made the token greedy decoding picks first, the plain session stops
    /// at once, and the ignoring one generates `maxTokens` tokens, the argmax over every id but EOS and
    /// `<end_of_turn>` at each step (llama.cpp's -inf bias on its end-of-generation tokens).
    @Test func ignoreEOSNeverSamplesTheStopTokens() throws {
        let base = Self.tokenizer()
        let prompt = base.tokenize(GemmaChatFormat.userTurn("Hi there", system: nil), addBOS: true, parseSpecial: true)
        let first = try #require(try Self.greedy(try Self.engine(), prompt: prompt, stops: [], limit: 1).first)
        var vocabulary = base.vocabulary
        vocabulary.eosID = first
        let tokenizer = SPMTokenizer(vocabulary: vocabulary)
        let stops: Set<Int32> = [first, 5]  // EOS (now the first greedy pick), <end_of_turn>

        let plain = ChatSession(engine: try Self.engine(), tokenizer: tokenizer, settings: ChatSettings(maxTokens: 8, sampler: .greedy))
        #expect(try plain.reply(to: "Hi there") { _ in } == [])

        let ignoring = ChatSession(engine: try Self.engine(), tokenizer: tokenizer,
                                   settings: ChatSettings(maxTokens: 8, ignoreEOS: true, sampler: .greedy))
        let got = try ignoring.reply(to: "Hi there") { _ in }
        #expect(got.count == 8)
        #expect(got == (try Self.greedy(try Self.engine(), prompt: prompt, stops: [], limit: 8, excluded: stops)))
    }
}

private extension String {
    func leftPadded(_ n: Int) -> String { String(repeating: "0", count: max(0, n - count)) + self }
}
