import ArgumentParser
import KilnCLI
import KilnCore

/// `inspect PATH`: metadata and tensor tables of GGUF, safetensors and Orbax checkpoints.
@main
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show the metadata and tensors of a GGUF file, a safetensors file/directory or an Orbax checkpoint.",
        discussion: "With --tensor NAME, --stats prints min/max/mean/std/NaN/Inf of its values and --npy writes them as a NumPy file.")

    @Argument(help: "A .gguf file, a .safetensors file or directory, or an Orbax checkpoint directory.")
    var path: String

    @Flag(help: "Print one JSON document instead of tables (keys documented in the README).")
    var json = false

    @Option(help: "Select one tensor by name (for --stats / --npy).")
    var tensor: String?

    @Flag(help: "With --tensor: summary statistics of the tensor's values (dequantized for quantized types).")
    var stats = false

    @Option(help: "With --tensor: write the values to this .npy file (float32 for quantized types, native dtype otherwise).")
    var npy: String?

    @Flag(help: "Check PATH against PATH.sha256 (written by `convert --checksum`, sha256sum format); exit 1 on a mismatch.")
    var verifyChecksum = false

    func validate() throws {
        if (stats || npy != nil) && tensor == nil { throw ValidationError("--stats and --npy need --tensor NAME") }
    }

    func run() throws {
        if verifyChecksum {
            let v = try ChecksumFile.verify(path)
            guard v.matches else {
                throw KilnError(.checksum, "checksum mismatch: the file hashes to \(v.actual), \(ChecksumFile.path(for: path)) records \(v.expected)", file: path)
            }
            print("\(path): OK (sha256 \(v.actual))")
            return
        }
        let source = try SourceOpener.openStored(path)
        let report = InspectReport(source: source)
        guard let name = tensor else {
            print(json ? report.json.serialized() : report.text, terminator: json ? "\n" : "")
            return
        }
        let t = try source.tensor(named: name)
        var fields: [(String, JSONValue)] = [("tensor", report.tensorJSON(t))]
        if stats { fields.append(("stats", try TensorStats.of(source, t).json)) }
        if let npy {
            try NpyExport.write(source, t, to: npy)
            fields.append(("npy", .string(npy)))
        }
        if json {
            print(JSONValue.object(fields).serialized())
        } else {
            for (k, v) in fields { print("\(k): \(v.serialized(pretty: false))") }
        }
    }
}
