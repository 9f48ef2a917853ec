import GGUFWriter
import KilnCore

/// GGUF → GGUF with unchanged tensors: metadata and tensor order kept, data streamed from the mapping.
public enum GGUFRewrite {
    /// Rewrites `source` (which must be a GGUF file) to `output`; returns a one-line summary.
    public static func run(source: any TensorSource, output: String) throws -> String {
        guard let gguf = source as? GGUFFile else {
            throw KilnError(.unsupported, "only GGUF inputs can be converted so far", file: source.path)
        }
        let writer = try GGUFStreamWriter(path: output, metadata: gguf.metadata, tensors: gguf.tensorInfos, inputs: [gguf.path])
        let progress = ProgressBar("writing", total: gguf.tensorInfos.reduce(0) { $0 + $1.byteCount })
        for info in gguf.tensorInfos {
            try writer.write(gguf.data(of: info))
            progress.advance(info.byteCount, note: info.name)
        }
        try writer.finish()
        progress.finish()
        return "wrote \(output): \(gguf.tensorInfos.count) tensors, \(gguf.metadata.count) metadata keys"
    }
}
