import ArgumentParser
import KilnCLI
import KilnCore

/// `convert IN -o OUT`: checkpoints in, GGUF out.
@main
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a checkpoint to GGUF.",
        discussion: "A GGUF input with no --type is rewritten through Kiln's reader and writer (byte-identical for files written by llama.cpp).")

    @Argument(help: "Input: a .gguf file.")
    var input: String

    @Option(name: .shortAndLong, help: "Output .gguf path (written to a temp file and renamed when complete).")
    var output: String

    func run() throws {
        let source = try SourceOpener.open(input)
        let summary = try GGUFRewrite.run(source: source, output: output)
        Terminal.error(summary)
    }
}
