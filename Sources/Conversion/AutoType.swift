import GGUFWriter
import KilnCore
import QuantCore

/// What `--type auto` does with each 2-D weight of a checkpoint: QAT int4-grid tensors become lossless Q4_0; every
/// other one keeps the source's precision as llama.cpp's `convert_hf_to_gguf.py --outtype auto` decides it
/// (`conversion/base.py`: the first 2-D tensor stored as bfloat16 or float16 sets BF16 or F16; none → F16).
public struct AutoTypeDecision: Sendable, Equatable {
    /// Output tensors found on the int4 grid (packed losslessly as Q4_0).
    public var onGrid: Set<String>
    /// The type of every other 2-D tensor.
    public var precision: GGMLType
    /// Why `precision` (for the summary).
    public var precisionReason: String

    /// How many output rows of a row-streamed tensor are checked: a float tensor that is not QAT-trained misses
    /// the grid in its first block already (a block holds 32 values that must share one scale and ≤ 16 codes).
    static let sampledRows = 16

    /// Inspects `outputs`' sources: stored dtypes for the precision rule, and the values of tensors stored in any other
    /// type (float32 QAT releases, fine-tunes saved in float32).
    ///
    /// Checking values costs a read, so the token embedding and layer 0's weights are checked first: when they agree
    /// (all on the grid — a QAT release — or all off it — a fine-tune) the other layers are taken to follow, and a
    /// tensor that does not is an error naming it when it is encoded; only a tree whose sample disagrees (a mixed
    /// tree) has every tensor checked.
    public static func decide(outputs: [OutputTensor], source: any TensorSource) throws -> AutoTypeDecision {
        var precision: GGMLType?
        var reason = "no 2-D tensor is stored as bfloat16 or float16: F16"
        var probed: [OutputTensor] = []
        for t in outputs where t.ne.count > 1 && t.role != .norm {
            let info = try source.tensor(named: t.source)
            if precision == nil, info.shape.count >= 2 {
                switch info.type {
                case .bfloat16: precision = .bf16; reason = "\(info.name) is stored as bfloat16: BF16"
                case .float16: precision = .f16; reason = "\(info.name) is stored as float16: F16"
                default: break
                }
            }
            if info.type != .bfloat16, info.type != .float16, t.rowLength % 32 == 0 { probed.append(t) }
        }
        let sample = probed.filter { $0.role == .embedding || $0.name.hasPrefix(GGUFTensorName.block(0)) }
        var onGrid = Set<String>()
        for t in sample where try onQATGrid(t, source: source) { onGrid.insert(t.name) }
        if onGrid.count == sample.count {
            onGrid.formUnion(probed.map(\.name))          // a QAT release: every weight is expected on the grid
        } else if !onGrid.isEmpty {
            for t in probed where !sample.contains(t) {    // a mixed tree: decide tensor by tensor
                if try onQATGrid(t, source: source) { onGrid.insert(t.name) }
            }
        }
        return AutoTypeDecision(onGrid: onGrid, precision: precision ?? .f16, precisionReason: reason)
    }

    static func onQATGrid(_ t: OutputTensor, source: any TensorSource) throws -> Bool {
        let producer = try RowProducer(source: source, tensor: t)
        let values: [Float]
        if producer.streams {
            let rows = min(t.rowCount, sampledRows)
            var v = [Float](repeating: 0, count: rows * t.rowLength)
            try v.withUnsafeMutableBufferPointer { try producer.rows(0 ..< rows, into: $0) }
            values = v
        } else {
            values = try producer.all()
        }
        var scratch = [UInt8](repeating: 0, count: values.count / 32 * 18)
        return values.withUnsafeBufferPointer { src in
            scratch.withUnsafeMutableBytes { dst in
                if case .success = QATGrid.packQ4_0(src, into: dst) { return true }
                return false
            }
        }
    }

    /// The summary line: which rule applied to how many of `weights` 2-D tensors; nil when every one is on the grid
    /// (a QAT checkpoint, which the lossless-packing line already describes).
    public func summary(weights: Int) -> String? {
        let off = weights - onGrid.count
        guard off > 0 else { return nil }
        var parts: [String] = []
        if !onGrid.isEmpty { parts.append("\(onGrid.count) on the QAT int4 grid → Q4_0 (lossless)") }
        if off > 0 { parts.append("\(off) not on the QAT int4 grid → \(precision.name) (llama.cpp's --outtype auto rule: \(precisionReason))") }
        return "--type auto: " + parts.joined(separator: "; ")
    }
}
