import Foundation
import KilnCore
import RefInference
import Tokenizers

/// Prompt and decode throughput, accumulated over a run.
struct ChatStats {
    var promptTokens = 0
    var promptSeconds = 0.0
    var decodeTokens = 0
    var decodeSeconds = 0.0

    var summary: String {
        func rate(_ n: Int, _ s: Double) -> String { s > 0 ? String(format: "%.1f", Double(n) / s) : "0.0" }
        return "prompt \(rate(promptTokens, promptSeconds)) tok/s, decode \(rate(decodeTokens, decodeSeconds)) tok/s"
    }
}

/// One conversation on one engine: prompt building, generation with the sampler, streaming output.
final class ChatSession {
    let engine: GemmaEngine
    let tokenizer: SPMTokenizer
    let options: ChatOptions
    var sampler: Sampler
    var stats = ChatStats()
    /// Every token in the KV cache (for the repeat penalty).
    var history: [Int32] = []
    /// A model turn is open (its reply was generated but `<end_of_turn>` was not fed back).
    var modelTurnOpen = false
    let endOfTurn: Int32?

    init(engine: GemmaEngine, tokenizer: SPMTokenizer, options: ChatOptions) {
        self.engine = engine
        self.tokenizer = tokenizer
        self.options = options
        sampler = Sampler(options.samplerSettings)
        endOfTurn = tokenizer.tokenID(for: "<end_of_turn>")
    }

    func reset() {
        engine.reset()
        history = []
        modelTurnOpen = false
    }

    /// The tokens to feed for a user message (chat format unless --raw).
    func promptTokens(for message: String) -> [Int32] {
        let first = history.isEmpty
        let text: String
        if options.raw {
            text = message
        } else {
            text = GemmaChatFormat.userTurn(message, system: first ? options.system : nil, closingPreviousModelTurn: modelTurnOpen)
        }
        return tokenizer.tokenize(text, addBOS: first, parseSpecial: true)
    }

    /// Evaluates the message and streams the reply to stdout.
    func reply(to message: String) throws {
        let prompt = promptTokens(for: message)
        guard !prompt.isEmpty else { return }
        let t0 = Date()
        var logits = try engine.evaluate(prompt)
        stats.promptSeconds += Date().timeIntervalSince(t0)
        stats.promptTokens += prompt.count
        history += prompt
        modelTurnOpen = !options.raw
        var bytes: [UInt8] = []
        for _ in 0 ..< options.maxTokens {
            let next = sampler.sample(logits, history: history)
            if next == endOfTurn || next == tokenizer.vocabulary.eosID { break }
            let piece = tokenizer.piece(for: next)
            bytes += piece
            Output.write(piece)
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
        _ = bytes
    }

    /// `--dump-logits`: logits of every prompt position as float32 [positions, vocab].
    func dumpLogits(prompt: String, to path: String, modelPath: String) throws {
        var tokens = promptTokens(for: prompt)
        if let list = options.tokens {
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

/// Unbuffered stdout writes (pieces may split UTF-8 sequences; the terminal reassembles bytes).
enum Output {
    static func write(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        bytes.withUnsafeBufferPointer { b in
            var done = 0
            while done < b.count {
                let n = Glibc.write(1, b.baseAddress! + done, b.count - done)
                if n <= 0 { return }
                done += n
            }
        }
    }
}
