import ArgumentParser
import KilnArguments
import KilnCLI

/// `convert`'s options as a swift-argument-parser group (used through `@OptionGroup`); `options` maps them onto
/// the job's plain `ConvertOptions`, the one place the two meet.
struct ConvertArguments: ParsableArguments {
    @Option(name: .shortAndLong, help: "Output .gguf path (written to a temp file and renamed when complete).")
    var output: String

    @Option(help: """
        Checkpoints: auto (QAT grid → lossless Q4_0), or a ggml type (q4_0, q4_1, q5_0, q5_1, q8_0, q2_k, q3_k, q4_k, \
        q5_k, q6_k, f16, bf16, f32). GGUF inputs: a llama-quantize preset (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K_S, \
        Q3_K_M, Q3_K_L, Q4_K_S, Q4_K_M, Q5_K_S, Q5_K_M, Q6_K, F16, BF16, F32), byte-identical to llama-quantize.
        """)
    var type = "auto"

    @Option(help: "Type of token_embd (e.g. f16, q8_0, q4_0).")
    var embeddingType: String?

    @Option(help: "PATTERN=TYPE: tensors whose GGUF name matches the regex get TYPE (repeatable; first match wins).")
    var tensorType: [String] = []

    @Option(help: "tokenizer.model to use (default: the one beside the checkpoint).")
    var tokenizer: String?

    @Option(help: "general.name (default: the checkpoint directory's name).")
    var name: String?

    @OptionGroup var threads: ThreadsArgument

    @Flag(help: "GGUF inputs: allow requantizing already-quantized tensors (error compounds), as llama-quantize's flag.")
    var allowRequantize = false

    @Flag(help: "Print the conversion plan (names, shapes, types, sources) and exit without writing.")
    var dryRun = false

    @Option(help: ArgumentHelp("Where to write the vision tower as a llama.cpp mmproj GGUF (default: mmproj-<output name> beside the output).",
                               discussion: "Written when the checkpoint has a SigLIP vision tower and its multimodal projector; weights F16 (or the --type if it is f32, bf16 or q8_0), embeddings F32. A tower without mm_input_projection is reported and skipped."))
    var mmproj: String?

    @Flag(help: "Do not write the mmproj even when the checkpoint has a vision tower.")
    var noMmproj = false

    @Flag(help: "Also write OUT.sha256 (sha256sum format) beside each output; check it with `inspect OUT --verify-checksum` or `sha256sum -c`.")
    var checksum = false

    @OptionGroup var step: StepArgument

    /// The job's input.
    var options: ConvertOptions {
        var o = ConvertOptions(output: output)
        o.type = type
        o.embeddingType = embeddingType
        o.tensorTypes = tensorType
        o.tokenizer = tokenizer
        o.modelName = name
        o.threads = threads.count
        o.dryRun = dryRun
        o.allowRequantize = allowRequantize
        o.mmproj = mmproj
        o.noMMProj = noMmproj
        o.checksum = checksum
        o.step = step.step
        return o
    }
}
