import Conversion
import GGUFWriter
import KilnCore

/// GGUF → GGUF with unchanged tensors: metadata and tensor order kept, every tensor copied byte for byte through the
/// same streaming executor as any other conversion (a plan of pass-through tensors).
public enum GGUFRewrite {
    /// Rewrites `gguf` to `output`; returns a one-line summary.
    public static func run(source gguf: GGUFFile, output: String, threads: Int = 1, progress: Bool = Terminal.stderrIsTTY) throws -> String {
        let tensors = gguf.tensorInfos.map { info in
            PlannedTensor(tensor: OutputTensor(name: info.name, ne: info.ne, source: info.name, transform: .copy(select: nil),
                                               role: info.ne.count == 1 ? .norm : .weight),
                          type: info.type, mode: .passthrough)
        }
        let fileType = UInt32(gguf.metadata[key: GGUFKey.fileType]?.intValue ?? 0)
        let plan = ConversionPlan(tensors: tensors, fileType: fileType)
        let bar = ProgressBar("writing", total: tensors.reduce(0) { $0 + $1.tensor.elementCount }, enabled: progress)
        _ = try PlanExecutor(threads: threads, progress: bar)
            .write(plan: plan, source: gguf, metadata: gguf.metadata, to: output, inputs: [gguf.path])
        return "wrote \(output): \(tensors.count) tensors, \(gguf.metadata.count) metadata keys"
    }
}
