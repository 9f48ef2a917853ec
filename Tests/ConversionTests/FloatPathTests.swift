@testable import ChatKit
import KilnCLI
import Conversion
import Foundation
import GGUFWriter
import KilnCore
import KilnTestSupport
import Tokenizers
import Verify
import RefInference
import Testing

/// The float path's source side: `ConvertedTensorView` (a checkpoint as the float32 GGUF it converts to) and
/// `StreamedFloatModel` (Gemma 3 in plain float32, streamed layer by layer).
///
/// These are CONSISTENCY checks between two of our own implementations (the converter + `GemmaEngine`'s plain
/// reference path on one side, the view + the streamed model on the other): they catch streaming, batching and
/// mapping mistakes, not a shared misreading of Gemma 3. The independent reference for the float path is Google's
/// `gemma` library, whose goldens live in fixtures/verify/.
@Suite struct FloatPathTests {
    static let kaggle = Fixtures.path("gemma3/tiny-kaggle")
    static let hf = Fixtures.path("gemma3/tiny-hf")
    static let tinyGGUF = Fixtures.path("engine/tiny-gemma3.gguf")

    /// Converts `input` to a float32 GGUF in a fresh directory (removed by the caller).
    static func convertF32(_ input: String, dir: String) throws -> GGUFFile {
        var o = ConvertOptions(output: dir + "/f32.gguf")
        o.progress = false
        o.type = "f32"
        _ = try ConvertJob.run(input: input, options: o)
        return try GGUFFile(path: o.output)
    }

    static func floats(_ source: any TensorSource, _ t: TensorInfo) throws -> [Float] {
        try source.floats(t.name, t.elementCount)
    }

    /// A few sequences of different lengths (ids below `vocab`), deterministic.
    static func sequences(vocab: Int, lengths: [Int]) -> [[Int32]] {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        return lengths.map { n in
            (0 ..< n).map { _ in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return Int32(truncatingIfNeeded: (state >> 33) % UInt64(vocab))
            }
        }
    }

    /// Logits of every token of every sequence from the streamed model, computed `block` positions at a time.
    static func streamedLogits(_ model: StreamedFloatModel, _ seqs: [[Int32]], block: Int = 5) throws -> [[Float]] {
        let hidden = try model.finalHidden(seqs, progress: nil)
        let d = model.config.embeddingLength, vocab = model.config.vocabularySize
        return try zip(seqs, hidden).map { tokens, h in
            var out = [Float](repeating: 0, count: tokens.count * vocab)
            var p = 0
            while p < tokens.count {
                let n = min(block, tokens.count - p)
                try h.withUnsafeBufferPointer { hb in
                    try out.withUnsafeMutableBufferPointer { ob in
                        try model.logits(hidden: UnsafeBufferPointer(rebasing: hb[p * d ..< (p + n) * d]), count: n,
                                         into: UnsafeMutableBufferPointer(rebasing: ob[p * vocab ..< (p + n) * vocab]))
                    }
                }
                p += n
            }
            return out
        }
    }

    /// The engine's plain float path (`.reference`, no llama.cpp rounding) on float weights, one sequence at a time.
    static func engineLogits(config: GemmaConfig, weights: GemmaWeights, _ seqs: [[Int32]]) throws -> [[Float]] {
        let engine = try GemmaEngine(config: config, weights: weights,
                                     options: EngineOptions(threads: 1, contextLength: 256, path: .reference, llamaCppNumerics: false, batchSize: 7))
        return try seqs.map { s in
            engine.reset()
            return try engine.evaluate(s, allLogits: true)
        }
    }

    /// max |a − b| / max(1, max |b|) over all values.
    static func relativeError(_ a: [[Float]], _ b: [[Float]]) -> Float {
        var worst: Float = 0, scale: Float = 1
        for (x, y) in zip(a, b) {
            #expect(x.count == y.count)
            for (u, v) in zip(x, y) {
                worst = max(worst, abs(u - v))
                scale = max(scale, abs(v))
            }
        }
        return worst / scale
    }

    @Test func viewOfACheckpointIsItsFloat32Conversion() throws {
        for input in [Self.kaggle, Self.hf] {
            let dir = Fixtures.tempDirectory()
            defer { Fixtures.cleanup(dir) }
            let gguf = try Self.convertF32(input, dir: dir)
            let view = try ConvertedTensorView(source: try SourceOpener.open(input))
            // The config the engine derives is the one it reads back from the converted file's metadata.
            let embd = try gguf.tensorInfo(named: "token_embd.weight")
            #expect((try view.config) == (try GemmaConfig(metadata: gguf.metadata, vocabularySize: embd.ne[1])))
            #expect(view.tensors.map(\.name) == gguf.tensors.map(\.name))
            for t in gguf.tensors {
                let v = try view.tensor(named: t.name)
                #expect(v.shape == t.shape, "\(t.name)")
                #expect(try Self.floats(view, v) == Self.floats(gguf, t), "\(t.name)")
            }
            // Row reads: a middle block of the embedding equals the same rows of the whole tensor.
            let e = try view.tensor(named: "token_embd.weight")
            let all = try Self.floats(view, e)
            let d = e.shape[1]
            let part = try view.withBytes(of: e, rows: 17 ..< 40) { Array($0.bindMemory(to: Float.self)) }
            #expect(part == Array(all[17 * d ..< 40 * d]))
        }
    }

    @Test func viewOfAGGUFIsItsTensorsDequantized() throws {
        let file = try GGUFFile(path: Self.tinyGGUF)
        let view = try ConvertedTensorView(source: file)
        let embd = try file.tensorInfo(named: "token_embd.weight")
        #expect((try view.config) == (try GemmaConfig(metadata: file.metadata, vocabularySize: embd.ne[1])))
        for t in file.tensors {
            #expect(try Self.floats(view, try view.tensor(named: t.name)) == Self.floats(file, t), "\(t.name)")
        }
    }

    @Test func streamedModelMatchesTheEngineOnTheTinyKaggleCheckpoint() throws {
        let dir = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir) }
        let gguf = try Self.convertF32(Self.kaggle, dir: dir)
        let view = try ConvertedTensorView(source: try SourceOpener.open(Self.kaggle))
        let seqs = Self.sequences(vocab: try view.config.vocabularySize, lengths: [1, 9, 23, 4])
        let model = try StreamedFloatModel(source: view, config: try view.config, options: FloatPathOptions(threads: 2))
        let ours = try Self.streamedLogits(model, seqs)
        let engine = try Self.engineLogits(config: try view.config, weights: try GemmaWeights(source: gguf, config: try view.config), seqs)
        // Same float32 math in a different summation order (SIMD lanes, blocked products vs sequential loops):
        // differences are float rounding (~1e-6 relative); 1e-4 fails on any real error (a wrong mask or norm moves
        // logits by percent).
        let rel = Self.relativeError(ours, engine)
        #expect(rel <= 1e-4, "relative error \(rel)")
    }

    @Test func streamedModelMatchesTheEngineOnTheTinyGGUF() throws {
        let file = try GGUFFile(path: Self.tinyGGUF)
        let view = try ConvertedTensorView(source: file)
        let seqs = Self.sequences(vocab: try view.config.vocabularySize, lengths: [12, 3, 30])
        // The GGUF itself (quantized tensors dequantized while streaming) and its float view give the same model.
        let direct = try Self.streamedLogits(try StreamedFloatModel(source: file, config: try view.config, options: FloatPathOptions()), seqs)
        let viewed = try Self.streamedLogits(try StreamedFloatModel(source: view, config: try view.config, options: FloatPathOptions()), seqs)
        #expect(direct == viewed)
        let engine = try Self.engineLogits(config: try view.config, weights: try GemmaWeights(source: file, config: try view.config), seqs)
        let rel = Self.relativeError(direct, engine)
        #expect(rel <= 1e-4, "relative error \(rel)")
    }

    @Test func slidingWindowShorterThanASequence() throws {
        let file = try GGUFFile(path: Self.tinyGGUF)
        var config = try ConvertedTensorView(source: file).config
        config.slidingWindow = 5
        config.slidingWindowPattern = 3
        #expect(config.isSliding(layer: 0) && !config.isSliding(layer: 2))
        let seqs = Self.sequences(vocab: config.vocabularySize, lengths: [19, 5])
        let ours = try Self.streamedLogits(try StreamedFloatModel(source: file, config: config, options: FloatPathOptions(threads: 2)), seqs)
        let engine = try Self.engineLogits(config: config, weights: try GemmaWeights(source: file, config: config), seqs)
        let rel = Self.relativeError(ours, engine)
        #expect(rel <= 1e-4, "relative error \(rel)")
        // The window really masks: with a window longer than the sequences (same layer kinds, same RoPE bases) the
        // positions past the window change ...
        var global = config
        global.slidingWindow = 1000
        let unmasked = try Self.streamedLogits(try StreamedFloatModel(source: file, config: global, options: FloatPathOptions()), seqs)
        #expect(Self.relativeError([Array(unmasked[0].suffix(5 * config.vocabularySize))], [Array(ours[0].suffix(5 * config.vocabularySize))]) > 1e-3)
        // ... and positions inside the window do not.
        #expect(unmasked[1] == ours[1])
    }

    @Test func resultsDoNotDependOnThreadCount() throws {
        let file = try GGUFFile(path: Self.tinyGGUF)
        let view = try ConvertedTensorView(source: file)
        let seqs = Self.sequences(vocab: try view.config.vocabularySize, lengths: [40, 7])
        let one = try Self.streamedLogits(try StreamedFloatModel(source: view, config: try view.config, options: FloatPathOptions(threads: 1)), seqs)
        let three = try Self.streamedLogits(try StreamedFloatModel(source: view, config: try view.config, options: FloatPathOptions(threads: 3)), seqs)
        #expect(one == three)
    }

    /// Keeping the decoded output matrix (verify's speed-up for compressed sources) changes nothing: the same rows in
    /// the same blocks reach the same products, so hidden states and logits are bit-identical to streaming them.
    @Test func keptOutputMatrixGivesTheStreamedResults() throws {
        let view = try ConvertedTensorView(source: try SourceOpener.open(Self.kaggle))
        let seqs = Self.sequences(vocab: try view.config.vocabularySize, lengths: [17, 6])
        let streamed = try StreamedFloatModel(source: view, config: try view.config, options: FloatPathOptions(threads: 2))
        let kept = try StreamedFloatModel(source: view, config: try view.config, options: FloatPathOptions(threads: 2, keepOutputMatrix: true))
        #expect(try streamed.finalHidden(seqs, progress: nil) == kept.finalHidden(seqs, progress: nil))
        #expect(try Self.streamedLogits(streamed, seqs) == Self.streamedLogits(kept, seqs))
        #expect(kept.outputMatrixBytes == 4 * (try view.config.vocabularySize) * (try view.config.embeddingLength))
    }

    @Test func engineFinalHiddenGivesItsLogits() throws {
        let engine = try GemmaEngine(path: Self.tinyGGUF, options: EngineOptions(threads: 2, contextLength: 64, batchSize: 8))
        let tokens = Self.sequences(vocab: engine.config.vocabularySize, lengths: [21])[0]
        let whole = try engine.evaluate(tokens, allLogits: true)
        engine.reset()
        let hidden = try engine.finalHidden(tokens)
        let d = engine.config.embeddingLength
        #expect(hidden.count == tokens.count * d)
        var blocks: [Float] = []
        for p in stride(from: 0, to: tokens.count, by: 6) {
            let n = min(6, tokens.count - p)
            blocks += engine.logits(normedHidden: Array(hidden[p * d ..< (p + n) * d]), count: n)
        }
        #expect(blocks == whole)
    }

    @Test func badInputsAreErrors() throws {
        let file = try GGUFFile(path: Self.tinyGGUF)
        let view = try ConvertedTensorView(source: file)
        let model = try StreamedFloatModel(source: view, config: try view.config, options: FloatPathOptions())
        #expect(throws: KilnError.self) { try model.finalHidden([[0, Int32(try view.config.vocabularySize)]], progress: nil) }
        #expect(throws: KilnError.self) { try model.finalHidden([[-1]], progress: nil) }
        var wrong = try view.config
        wrong.feedForwardLength += 1
        #expect(throws: KilnError.self) { try StreamedFloatModel(source: view, config: wrong, options: FloatPathOptions()) }
        var out = [Float](repeating: 0, count: 3)
        let h = [Float](repeating: 0, count: try view.config.embeddingLength)
        #expect(throws: KilnError.self) {
            try h.withUnsafeBufferPointer { hb in try out.withUnsafeMutableBufferPointer { try model.logits(hidden: hb, count: 1, into: $0) } }
        }
    }
}

extension ConvertedTensorView {
    /// The engine configuration the view's metadata describes (Verify's one accessor).
    var config: GemmaConfig { get throws { try gemmaConfig() } }
}

/// `chat CKPT`: a checkpoint runs on the float path through the converter's mapping.
@Suite struct ChatCheckpointTests {
    /// Greedy continuation of `prompt` (`n` tokens) on `model`.
    static func greedy(_ model: ChatModel, _ prompt: String, n: Int) throws -> [Int32] {
        var tokens = model.tokenizer.tokenize(prompt, addBOS: true, parseSpecial: true)
        var logits = try model.engine.evaluate(tokens)
        for _ in 0 ..< n {
            let next = Int32(logits.indices.max { logits[$0] < logits[$1] }!)
            tokens.append(next)
            logits = try model.engine.evaluate([next])
        }
        return tokens
    }

    @Test func checkpointAndItsFloat32ConversionChatAlike() throws {
        let dir = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir) }
        let gguf = try FloatPathTests.convertF32(FloatPathTests.kaggle, dir: dir)
        let options = EngineOptions(threads: 2, contextLength: 64)
        let checkpoint = try ChatModel.open(FloatPathTests.kaggle, options: options)
        #expect(checkpoint.engine.options.path == .reference && !checkpoint.engine.options.llamaCppNumerics)
        // The tokenizer and metadata are those of the converted file.
        #expect(checkpoint.tokenizer.vocabulary == (try SPMTokenizer(metadata: gguf.metadata)).vocabulary)
        let prompts = ["the capital of france is", "def f(x):", "once upon a time"]
        // Against the F32 GGUF on the same plain float path: identical greedy tokens.
        let plain = try ChatModel.open(gguf.path, options: EngineOptions(threads: 1, contextLength: 64, path: .reference, llamaCppNumerics: false))
        // ... and on the default (llama.cpp numerics) path a user chats with.
        let fast = try ChatModel.open(gguf.path, options: options)
        for p in prompts {
            let ours = try Self.greedy(checkpoint, p, n: 12)
            checkpoint.engine.reset()
            #expect(ours == (try Self.greedy(plain, p, n: 12)), "\(p)")
            plain.engine.reset()
            #expect(ours == (try Self.greedy(fast, p, n: 12)), "\(p)")
            fast.engine.reset()
        }
    }

    @Test func aCheckpointTooBigForMemoryPointsToVerify() throws {
        let view = try ConvertedTensorView(source: try SourceOpener.open(FloatPathTests.kaggle))
        #expect(throws: Never.self) { try ChatModel.checkFits(view, contextLength: 64, path: "ckpt", physicalMemory: 1 << 30) }
        do {
            try ChatModel.checkFits(view, contextLength: 64, path: "ckpt", physicalMemory: 100_000)
            Issue.record("expected an error")
        } catch let e as KilnError {
            #expect("\(e)".contains("verify ckpt"))
        }
    }
}
