import Foundation
import KilnCore
import RefInference
import Tokenizers

/// One conversation on one engine: prompt building, generation with the sampler, streamed pieces and throughput.
/// A library type so tests can drive it; the `chat` executable adds only argument parsing and terminal I/O.
public final class ChatSession {
    public let engine: GemmaEngine
    public let tokenizer: SPMTokenizer
    public let settings: ChatSettings
    var sampler: Sampler
    public private(set) var stats = ChatStats()
    /// Every token in the KV cache (for the repeat penalty).
    public private(set) var history: [Int32] = []
    /// A model turn is open (its reply was generated but `<end_of_turn>` was not fed back).
    var modelTurnOpen = false
    let endOfTurn: Int32?

    public init(engine: GemmaEngine, tokenizer: SPMTokenizer, settings: ChatSettings) {
        self.engine = engine
        self.tokenizer = tokenizer
        self.settings = settings
        sampler = Sampler(settings.sampler)
        endOfTurn = tokenizer.tokenID(for: "<end_of_turn>")
    }

    /// Starts the conversation over (empty KV cache and history).
    public func reset() {
        engine.reset()
        history = []
        modelTurnOpen = false
    }

    /// The tokens to feed for a user message (chat format unless `raw`).
    public func promptTokens(for message: String) -> [Int32] {
        let first = history.isEmpty
        let text: String
        if settings.raw {
            text = message
        } else {
            text = GemmaChatFormat.userTurn(message, system: first ? settings.system : nil, closingPreviousModelTurn: modelTurnOpen)
        }
        return tokenizer.tokenize(text, addBOS: first, parseSpecial: true)
    }

    /// Evaluates the message and generates the reply, handing each token's text to `output` as it is generated
    /// (pieces may split UTF-8 sequences). Returns the generated tokens (without the stop token).
    @discardableResult
    public func reply(to message: String, output: ([UInt8]) -> Void) throws -> [Int32] {
        let prompt = promptTokens(for: message)
        guard !prompt.isEmpty else { return [] }
        let t0 = Date()
        var logits = try engine.evaluate(prompt)
        stats.promptSeconds += Date().timeIntervalSince(t0)
        stats.promptTokens += prompt.count
        history += prompt
        modelTurnOpen = !settings.raw
        var generated: [Int32] = []
        for _ in 0 ..< settings.maxTokens {
            let next = sampler.sample(logits, history: history)
            if next == endOfTurn || next == tokenizer.vocabulary.eosID { break }
            generated.append(next)
            output(tokenizer.piece(for: next))
            guard engine.position < engine.options.contextLength else {
                Terminal.error("\n(context full: \(engine.options.contextLength) tokens; /reset to start over)")
                break
            }
            let t1 = Date()
            logits = try engine.evaluate([next])
            stats.decodeSeconds += Date().timeIntervalSince(t1)
            stats.decodeTokens += 1
            history.append(next)
        }
        return generated
    }

    /// `--dump-logits`: logits of every prompt position as float32 [positions, vocab]; `tokenList` ("2,651,1234")
    /// replaces the prompt's tokens.
    public func dumpLogits(prompt: String, tokenList: String?, to path: String, modelPath: String) throws {
        var tokens = promptTokens(for: prompt)
        if let list = tokenList {
            tokens = try list.split(separator: ",").map { s in
                guard let v = Int32(s.trimmingCharacters(in: .whitespaces)) else { throw KilnError(.usage, "--tokens: '\(s)' is not a token id") }
                return v
            }
        }
        let t0 = Date()
        let logits = try engine.evaluate(tokens, allLogits: true)
        stats.promptSeconds += Date().timeIntervalSince(t0)
        stats.promptTokens += tokens.count
        let out = try AtomicOutputFile(path: path, inputs: [modelPath])
        try out.write(NpyWriter.header(descr: "<f4", shape: [tokens.count, engine.config.vocabularySize]))
        try logits.withUnsafeBytes { try out.write($0) }
        try out.commit()
        Terminal.error("wrote \(tokens.count)×\(engine.config.vocabularySize) logits to \(path) (tokens \(tokens))")
        Terminal.error(stats.summary)
    }
}
