import Foundation
import GGUFWriter
import KilnCore
import RefInference
import Tokenizers

/// One of llama-bench's tests, run on Kiln's engine as llama-bench runs it on llama.cpp
/// (llama.cpp tools/llama-bench/llama-bench.cpp, as vendored by llama-cpp-python 0.3.36).
struct LlamaBenchTest {
    enum Kind: String { case prompt = "pp", generation = "tg" }

    let kind: Kind
    /// Prompt tokens (pp) or generated tokens (tg).
    let tokens: Int

    /// llama-bench's name for it: "pp512", "tg128".
    var name: String { "\(kind.rawValue)\(tokens)" }

    /// The context length llama-bench gives the test: `n_ctx = n_prompt + n_gen + n_depth` of its instance, and
    /// `-p 512 -n 128` makes two instances (pp512: 512 + 0, tg128: 0 + 128).
    var contextLength: Int { tokens }
}

/// The token ids the tests feed: BOS first when the vocabulary adds it, then uniformly random ids, one stream over
/// the whole run (llama-bench draws from `std::rand()` without reseeding; a fixed-seed xoshiro256** here, so runs are
/// repeatable).
struct BenchTokenStream {
    let bos: Int32?
    let vocabularySize: Int
    var rng = Xoshiro256(seed: 0x6B69_6C6E)

    /// The model's BOS and vocabulary size, with llama.cpp's defaults for absent keys (`GGUFVocabulary`).
    init(file: GGUFFile, engineVocabulary: Int) throws(KilnError) {
        let vocabulary = try GGUFVocabulary(metadata: file.metadata, file: file.path)
        bos = vocabulary.addBOS ? vocabulary.bosID : nil
        vocabularySize = min(vocabulary.count, engineVocabulary)
    }

    mutating func random() -> Int32 { Int32(truncatingIfNeeded: rng.next() % UInt64(vocabularySize)) }

    /// The first token of a sequence (llama-bench: BOS if `llama_vocab_get_add_bos`, else random).
    mutating func first() -> Int32 { bos ?? random() }
}

/// Runs llama-bench's `test_prompt` / `test_gen` on one engine (one per test, with the test's context length, as
/// llama-bench makes one context per test instance).
struct LlamaBenchRunner {
    let engine: GemmaEngine

    /// llama-bench's `test_prompt`: `count` tokens (BOS, then random) evaluated from the current cache in batches,
    /// only the last token's logits computed (`llama_batch_get_one`). The engine batches by its `batchSize`.
    func prompt(_ count: Int, _ stream: inout BenchTokenStream) throws(KilnError) {
        var ids = [stream.first()]
        while ids.count < count { ids.append(stream.random()) }
        _ = try engine.evaluate(ids)
    }

    /// llama-bench's `test_gen`: `count` single-token evaluations, each computing that token's logits; the first
    /// token is BOS, the next ones random.
    func generation(_ count: Int, _ stream: inout BenchTokenStream) throws(KilnError) {
        var token = stream.first()
        for _ in 0 ..< count {
            _ = try engine.evaluate([token])
            token = stream.random()
        }
    }

    /// llama-bench's loop for one test: a warm-up (the whole prompt for pp, one token for tg), then per repetition
    /// an emptied cache and the timed test. Returns nanoseconds per repetition.
    func run(_ test: LlamaBenchTest, repetitions: Int, warmUp: Bool, _ stream: inout BenchTokenStream) throws(KilnError) -> [UInt64] {
        func once(_ n: Int) throws(KilnError) {
            switch test.kind {
            case .prompt: try prompt(n, &stream)
            case .generation: try generation(n, &stream)
            }
        }
        engine.reset()
        if warmUp { try once(test.kind == .prompt ? test.tokens : 1) }
        var samples: [UInt64] = []
        for _ in 0 ..< repetitions {
            engine.reset()
            let t0 = DispatchTime.now().uptimeNanoseconds
            try once(test.tokens)
            samples.append(DispatchTime.now().uptimeNanoseconds - t0)
        }
        return samples
    }
}
