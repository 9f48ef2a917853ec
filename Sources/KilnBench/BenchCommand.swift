import ArgumentParser
import Foundation
import GGUFWriter
import KilnArguments
import KilnCore
import RefInference

/// `engine-bench MODEL.gguf`: llama-bench's prompt-processing and generation tests on Kiln's engine, so `make bench`
/// compares the two tools on the same measurement.
@main
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine-bench",
        abstract: "Prompt-processing and generation throughput of Kiln's engine, measured as llama-bench measures llama.cpp.",
        discussion: """
            Mirrors llama-bench's tests (tools/llama-bench in llama.cpp): ppN evaluates N token ids (BOS, then \
            pseudo-random ids) from an empty KV cache with only the last token's logits; tgN evaluates N single \
            tokens from an empty cache, each with its logits. Each test gets its own cache of its own length, as \
            llama-bench gives each test a context of n_prompt + n_gen (so -p 512 -n 128 runs pp512 at 512 and tg128 \
            at 128). One warm-up per test (the whole prompt for pp, one token for tg), then -r timed repetitions, \
            each from an empty cache; rates are tokens/s per repetition, their mean and sample standard deviation. \
            Token ids come from a fixed-seed generator, so runs are repeatable.
            """)

    @Argument(help: "The model GGUF.")
    var model: String

    @Option(name: [.customShort("p"), .customLong("n-prompt")], help: "Prompt tokens of the pp test (0: no pp test).")
    var prompt = 512

    @Option(name: [.customShort("n"), .customLong("n-gen")], help: "Generated tokens of the tg test (0: no tg test).")
    var gen = 128

    @OptionGroup var threads: ThreadsArgument

    @Option(name: [.customShort("r"), .customLong("repetitions")], help: "Timed repetitions per test.")
    var repetitions = 5

    @Option(help: "Prompt tokens per forward pass (default: the engine's, which `chat` uses).")
    var batch: Int?

    @Flag(help: "Skip the warm-up run of each test.")
    var noWarmup = false

    @Flag(help: "Print a JSON array (llama-bench's -o json field names) instead of a markdown table.")
    var json = false

    func validate() throws {
        if prompt < 0 || gen < 0 { throw ValidationError("-p and -n must not be negative") }
        if prompt == 0 && gen == 0 { throw ValidationError("nothing to measure: -p and -n are both 0") }
        if repetitions <= 0 { throw ValidationError("-r must be positive") }
        if let batch, batch <= 0 { throw ValidationError("--batch must be positive") }
    }

    func run() throws {
        let file = try GGUFFile(path: model)
        let batchSize = batch ?? EngineOptions().batchSize
        let tests = [LlamaBenchTest(kind: .prompt, tokens: prompt), LlamaBenchTest(kind: .generation, tokens: gen)]
            .filter { $0.tokens > 0 }
        func options(_ test: LlamaBenchTest) -> EngineOptions {
            EngineOptions(threads: threads.count, contextLength: test.contextLength, batchSize: batchSize)
        }
        // One set of weights for every test; each test gets its own KV cache of its own length.
        let loaded = try GemmaEngine(gguf: file, options: options(tests[0]))
        var stream = try BenchTokenStream(file: file, engineVocabulary: loaded.config.vocabularySize)
        var results: [BenchResult] = []
        for (i, test) in tests.enumerated() {
            let engine = i == 0 ? loaded : try GemmaEngine(config: loaded.config, weights: loaded.weights, options: options(test), file: file)
            let samples = try LlamaBenchRunner(engine: engine).run(test, repetitions: repetitions, warmUp: !noWarmup, &stream)
            let result = BenchResult(model: model, test: test, threads: threads.count, batch: batchSize, samplesNs: samples)
            if !json {
                if results.isEmpty { print("model: \(model)\n" + BenchResult.header) }
                print(result.row)
            }
            results.append(result)
        }
        if json { print(JSONValue.array(results.map(\.json)).serialized()) }
    }
}
