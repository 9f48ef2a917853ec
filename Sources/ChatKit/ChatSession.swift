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
    /// The vision encoder images are run through (nil: text only).
    public var vision: (any VisionEncoder)?
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
        promptChunks(for: message, images: 0).flatMap { chunk -> [Int32] in
            if case .tokens(let t) = chunk { return t }
            return []
        }
    }

    /// A piece of a prompt: text tokens, or the soft tokens of the `index`-th attached image.
    public enum PromptChunk: Equatable, Sendable {
        case tokens([Int32])
        case image(Int)
    }

    /// What to feed for a user message with `images` images placed before its text in the same turn, as libmtmd's
    /// `mtmd_tokenize` cuts it: the turn is rendered with one media marker per image before the text (llama-mtmd-cli's
    /// single-turn prompt), the text is split at the markers, each marker becomes `imageStart`, the image, `imageEnd`
    /// (`<start_of_image>` … `<end_of_image>` for Gemma 3), every text piece is tokenized on its own with special
    /// tokens parsed, and BOS starts the first piece of the conversation.
    public func promptChunks(for message: String, images: Int, imageStart: String = "<start_of_image>",
                             imageEnd: String = "<end_of_image>") -> [PromptChunk] {
        let first = history.isEmpty
        let marker = Self.mediaMarker
        let content = String(repeating: marker, count: images) + message
        let text: String
        if settings.raw {
            text = content
        } else {
            text = GemmaChatFormat.userTurn(content, system: first ? settings.system : nil, closingPreviousModelTurn: modelTurnOpen)
        }
        var pieces = text.components(separatedBy: marker)
        var chunks: [PromptChunk] = []
        var bos = first
        func add(_ s: String) {
            let ids = tokenizer.tokenize(s, addBOS: bos, parseSpecial: true)
            bos = false
            guard !ids.isEmpty else { return }
            if case .tokens(let previous)? = chunks.last {
                chunks[chunks.count - 1] = .tokens(previous + ids)
            } else {
                chunks.append(.tokens(ids))
            }
        }
        add(pieces.removeFirst())
        for (i, piece) in pieces.enumerated() {
            add(imageStart)
            chunks.append(.image(i))
            add(imageEnd)
            add(piece)
        }
        return chunks
    }

    /// libmtmd's default media marker (`mtmd_default_marker()`); a message containing it is not supported.
    static let mediaMarker = "<__media__>"

    /// Evaluates the message and generates the reply, handing each token's text to `output` as it is generated
    /// (pieces may split UTF-8 sequences). Returns the generated tokens (without the stop token).
    @discardableResult
    public func reply(to message: String, output: ([UInt8]) -> Void) throws -> [Int32] {
        try reply(to: message, images: [], output: output)
    }

    /// `reply(to:output:)` with images placed before the message's text in the same user turn (in order), each
    /// encoded by `vision` into soft tokens the engine reads with bidirectional attention among them.
    @discardableResult
    public func reply(to message: String, images: [RGBImage], output: ([UInt8]) -> Void) throws -> [Int32] {
        guard images.isEmpty || vision != nil else { throw KilnError(.usage, "this chat has no vision projector for images") }
        guard !message.contains(Self.mediaMarker) else { throw KilnError(.usage, "the message contains \(Self.mediaMarker)") }
        let chunks = promptChunks(for: message, images: images.count, imageStart: vision?.imageStart ?? "",
                                  imageEnd: vision?.imageEnd ?? "")
        guard !chunks.isEmpty else { return [] }
        let t0 = Date()
        var logits: [Float] = []
        for chunk in chunks {
            switch chunk {
            case .tokens(let ids):
                logits = try engine.evaluate(ids)
                stats.promptTokens += ids.count
                history += ids
            case .image(let i):
                let vision = vision!
                let t1 = Date()
                let soft = vision.encode(images[i])
                stats.imageSeconds += Date().timeIntervalSince(t1)
                stats.images += 1
                try engine.evaluate(embeddings: soft, count: vision.tokensPerImage, bidirectional: vision.bidirectionalImageAttention)
                stats.promptTokens += vision.tokensPerImage
            }
        }
        stats.promptSeconds += Date().timeIntervalSince(t0)
        modelTurnOpen = !settings.raw
        var generated: [Int32] = []
        for _ in 0 ..< settings.maxTokens {
            if settings.ignoreEOS { Self.suppress([endOfTurn, tokenizer.vocabulary.eosID], in: &logits) }
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

    /// Sets the given tokens' logits to -inf, as llama.cpp's `--ignore-eos` logit bias does.
    static func suppress(_ ids: [Int32?], in logits: inout [Float]) {
        for case let id? in ids where id >= 0 && Int(id) < logits.count { logits[Int(id)] = -.infinity }
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
