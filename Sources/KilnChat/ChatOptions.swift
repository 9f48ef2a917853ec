import ArgumentParser
import ChatKit
import KilnArguments
import RefInference

/// Everything `chat` accepts besides the model path.
struct ChatOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "One-shot prompt: answer it and exit (default: interactive REPL).")
    var prompt: String?

    @Option(help: "System prompt, folded into the first user turn as Gemma 3's template does.")
    var system: String?

    @Flag(help: "Plain completion: tokenize the text as is (BOS per add_bos_token, special tokens parsed), no chat template.")
    var raw = false

    @Option(name: [.customShort("n"), .customLong("max-tokens")], help: "Maximum tokens to generate per reply.")
    var maxTokens = 256

    @Flag(help: "Never stop early: <end_of_turn> and EOS are never sampled, so -n tokens are generated (llama.cpp's --ignore-eos).")
    var ignoreEos = false

    @Option(help: "Temperature (0: greedy).")
    var temp: Float = 0.8

    @Option(help: "Top-k (0: off).")
    var topK = 40

    @Option(help: "Top-p (1: off).")
    var topP: Float = 0.95

    @Option(help: "Min-p (0: off).")
    var minP: Float = 0.05

    @Option(help: "Repeat penalty (1: off).")
    var repeatPenalty: Float = 1.0

    @Option(help: "Tokens the repeat penalty looks back over (-1: all).")
    var repeatLastN = 64

    @Option(help: "Sampling seed (deterministic xoshiro256**).")
    var seed: UInt64 = 0

    @Option(help: "Context length (KV cache size) in tokens.")
    var ctx = 2048

    @Option(help: "Threads (results do not depend on it).")
    var threads = 2

    @Option(help: "Prompt tokens per forward pass.")
    var batch = EngineOptions().batchSize

    @Flag(help: "Read a JSON array of strings on stdin, print a JSON array of token-id arrays, and exit.")
    var tokenize = false

    @Flag(help: "With --tokenize: do not add BOS.")
    var noBos = false

    @Flag(help: "With --tokenize: do not parse special tokens (llama.cpp's parse_special = false).")
    var noSpecial = false

    @Option(help: "Write float32 logits [positions, vocab] of every prompt position (-p required) to this .npy and exit.")
    var dumpLogits: String?

    @Option(help: "With --dump-logits: comma-separated token ids to evaluate instead of -p TEXT.")
    var tokens: String?

    @Option(help: ArgumentHelp("An image (PNG, JPEG, ...) placed before the -p text in the same user turn; repeat for several, in order.",
                               valueName: "file"))
    var image: [String] = []

    @Option(help: ArgumentHelp("The vision projector GGUF (default: mmproj-<model name>.gguf beside the model, else the only mmproj*.gguf there).",
                               valueName: "file"))
    var mmproj: String?

    @Option(help: "For a checkpoint: its tokenizer.model (default: beside it or in the Kaggle download root).")
    var tokenizer: String?

    @OptionGroup var step: StepArgument

    @Flag(help: "Use the plain Swift reference path instead of the SIMD kernels (slow; llama.cpp's rounding emulated, as on the fast path).")
    var reference = false

    /// The session's settings: the one place the options map onto `ChatSettings`.
    var settings: ChatSettings {
        ChatSettings(system: system, raw: raw, maxTokens: maxTokens, ignoreEOS: ignoreEos,
                     sampler: SamplerSettings(temperature: temp, topK: topK, topP: topP, minP: minP,
                                              repeatPenalty: repeatPenalty, repeatLastN: repeatLastN, seed: seed))
    }
}
