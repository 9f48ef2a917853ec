import ArgumentParser
import KilnArguments
import KilnCLI
import KilnCore

/// `convert IN -o OUT`: checkpoints in, GGUF out.
@main
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a Gemma 3 Orbax/Flax (Kaggle) or safetensors checkpoint, or a GGUF file, to GGUF.",
        discussion: """
            By default (--type auto) weights that lie on a QAT int4 grid become Q4_0 losslessly and 1-D tensors F32; \
            a weight that is not on a grid is an error unless a type is given for it. A GGUF input with no type options \
            is rewritten unchanged (byte-identical for files written by llama.cpp).
            """)

    @Argument(help: "A Kaggle download root or its weights directory, an Orbax checkpoint, a .safetensors file or HF directory, or a .gguf file.")
    var input: String

    @OptionGroup var arguments: ConvertArguments

    @Flag(help: "After writing, run `verify` on the output against the input (default prompts; thresholds by candidate class unless given); exit 1 if it fails (the output is kept).")
    var verify = false

    @Flag(help: "With --verify: print the verify report as JSON.")
    var json = false

    @OptionGroup(title: "With --verify") var thresholds: VerifyThresholdArguments

    func validate() throws {
        if thresholds.isSet && !verify { throw ValidationError("--max-kl, --min-top1 and --max-runtime-kl need --verify") }
    }

    func run() throws {
        let options = arguments.options
        let summary = try ConvertJob.run(input: input, options: options)
        if options.dryRun { print(summary) } else { Terminal.error(summary) }
        guard verify && !options.dryRun else { return }
        var check = VerifyJobOptions()
        thresholds.apply(to: &check)
        let outcome = try ConvertJob.verifyOutput(input: input, options: options, verify: check)
        print(VerifyJob.render(outcome, json: json), terminator: json ? "\n" : "")
        for f in outcome.failures { Terminal.error("verify failed: \(f) (\(options.output) is kept)") }
        if !outcome.passed { throw ExitCode(1) }
    }
}
