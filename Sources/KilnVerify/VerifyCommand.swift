import ArgumentParser
import Foundation
import KilnArguments
import KilnCLI
import KilnCore
import Verify

/// `verify SOURCE CANDIDATE.gguf`: is this GGUF the model the checkpoint computes?
@main
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Compare a GGUF's next-token distributions with its source checkpoint's float32 logits.",
        discussion: """
            Both models run the same token ids (the candidate's vocabulary, llama.cpp's tokenizer). Two rows: \
            weights — the candidate's tensors dequantized on the source's float32 path (isolates the conversion); \
            runtime — the candidate on llama.cpp's CPU numerics (what a llama.cpp user sees). Statistics as \
            llama-perplexity --kl-divergence prints them, from full-precision log-probabilities. Exit 0 when within \
            the thresholds, 1 otherwise (failing metric on stderr). Default thresholds by candidate class: \
            F32/F16/BF16 and lossless (weights equal the source's within fp16 scale rounding): --max-kl 1e-4, \
            --min-top1 0.99, --max-runtime-kl 0.02; Q8_0/Q6_K: 5e-3, 0.9, 0.02; 4-5 bit: 0.3, 0.7, 0.35; \
            2-3 bit: 1.0, 0.5, 1.2.
            """)

    @Argument(help: "The source: a Kaggle download root or weights directory, an Orbax checkpoint, HF safetensors, or a GGUF.")
    var source: String

    @Argument(help: "The candidate GGUF.")
    var candidate: String

    @Option(help: "JSON list of prompts: a string is raw text (BOS + text, every position scored); a list of {role, content} is a chat through the Gemma template (model turns scored).")
    var prompts: String?

    @Option(help: "Score a text file like llama-perplexity (chunks of --ctx tokens, BOS first, second half scored).")
    var text: String?

    @Option(help: "Chunk size for --text.")
    var ctx: Int = 512

    @Option(help: "With --text: write the source's log-probabilities in llama-perplexity's --kl-divergence-base format.")
    var saveBase: String?

    @Option(help: "The chat check's user message (default: a built-in one).")
    var chatPrompt: String?

    @Option(name: .customShort("n"), help: "Tokens the candidate generates for the chat check.")
    var maxNewTokens: Int = 32

    @OptionGroup var thresholds: VerifyThresholdArguments

    @Option(help: ArgumentHelp("An image to encode with the source's vision tower (float32) and the candidate's mmproj, compared per soft token; repeatable.",
                               valueName: "file"))
    var image: [String] = []

    @Option(help: ArgumentHelp("The candidate's mmproj (default: mmproj-<candidate name>.gguf beside it, else the only mmproj*.gguf there).",
                               valueName: "file"))
    var mmproj: String?

    @Option(help: "With --image: smallest per-token cosine of the soft tokens (default 0.999).")
    var minImageCosine: Double?

    @Option(help: "Memory (GB) verify may use beyond its streamed working set to go faster: keeping decoded output matrices, running the source's own chat reply in memory (default: half the RAM; 0: stream only).")
    var maxMemory: Double?

    @OptionGroup var threads: ThreadsArgument

    @OptionGroup var step: StepArgument

    @Flag(help: "Print one JSON document instead of the table.")
    var json = false

    func validate() throws {
        if prompts != nil && text != nil { throw ValidationError("give --prompts or --text, not both") }
        if saveBase != nil && text == nil { throw ValidationError("--save-base needs --text FILE (its fixed chunks are what the format holds)") }
        if ctx < 4 { throw ValidationError("--ctx must be at least 4") }
        if maxNewTokens < 0 { throw ValidationError("-n must not be negative") }
        if let maxMemory, !(maxMemory >= 0 && maxMemory < 1e9) { throw ValidationError("--max-memory must be a number of GB, 0 or more") }
    }

    func run() throws {
        var o = VerifyJobOptions()
        o.verify.threads = threads.count
        o.verify.maxNewTokens = maxNewTokens
        if let maxMemory { o.verify.memoryBudget = Int(maxMemory * 1e9) }
        if let chatPrompt { o.verify.chatPrompt = chatPrompt }
        o.verify.saveBase = saveBase
        if let prompts {
            let data = try readFile(prompts)
            o.verify.prompts = .items(try PromptSet.parse(json: data, file: prompts))
        } else if let text {
            o.verify.prompts = .text(String(decoding: try readFile(text), as: UTF8.self), context: ctx, file: text)
        }
        thresholds.apply(to: &o)
        o.sourceStep = step.step
        o.images = image
        o.mmproj = mmproj
        if let minImageCosine { o.minImageCosine = minImageCosine }
        let outcome = try VerifyJob.run(source: source, candidate: candidate, options: o)
        print(VerifyJob.render(outcome, json: json), terminator: json ? "\n" : "")
        for f in outcome.failures { Terminal.error("verify failed: " + f) }
        if !outcome.passed { throw ExitCode(1) }
    }

    func readFile(_ path: String) throws -> Data {
        guard let d = FileManager.default.contents(atPath: path) else { throw KilnError(.notFound, "cannot read the file", file: path) }
        return d
    }
}
