import Foundation
import GGUFWriter
import KilnCore
import QuantCore

/// How each output tensor's bytes are made.
public enum EncodeMode: Sendable, Equatable, CustomStringConvertible {
    /// QAT int4 grid → Q4_0 with recovered scales (lossless up to fp16 scale rounding); an off-grid tensor is an error.
    case qatLossless
    /// Quantize (or convert) from the source floats with ggml's reference rounding.
    case quantize
    /// Copy the stored bytes unchanged (same type in and out, no transform).
    case passthrough

    public var description: String {
        switch self {
        case .qatLossless: "lossless"
        case .quantize: "quantize"
        case .passthrough: "copy"
        }
    }
}

/// One line of the plan: an output tensor, its GGUF type and how it is produced.
public struct PlannedTensor: Sendable, Equatable {
    public var tensor: OutputTensor
    public var type: GGMLType
    public var mode: EncodeMode

    public var byteCount: Int { type.byteCount(elements: tensor.elementCount) ?? 0 }

    public init(tensor: OutputTensor, type: GGMLType, mode: EncodeMode) {
        self.tensor = tensor
        self.type = type
        self.mode = mode
    }
}

/// The user's type request: `--type`, `--embedding-type` and `--tensor-type PATTERN=TYPE` overrides.
public struct TypeRequest: Sendable {
    public enum Base: Sendable, Equatable {
        /// QAT-grid tensors → Q4_0 losslessly, 1-D → F32; the rest as `TypeRequest.auto` decided (without a
        /// decision every 2-D tensor is expected on the grid, and one that is not is an error when it is encoded).
        case auto
        /// One ggml type for every 2-D tensor (1-D stay F32).
        case single(GGMLType)
        /// A llama-quantize preset (Q4_K_M, Q3_K_S, ...): llama.cpp's per-tensor choices, quantized from the floats.
        case mix(QuantMix)
    }

    public var base: Base = .auto
    public var embedding: GGMLType?
    /// Regex on the output tensor name → type; the first match wins.
    public var overrides: [TensorTypeOverride] = []
    /// `--type auto`'s look at the checkpoint: which tensors are on the QAT grid, the precision of the others.
    public var auto: AutoTypeDecision?

    public init(base: Base = .auto, embedding: GGMLType? = nil, overrides: [TensorTypeOverride] = []) {
        self.base = base
        self.embedding = embedding
        self.overrides = overrides
    }

}

/// The list of output tensors with their types, computed before any tensor data is read (`--dry-run` prints it).
public struct ConversionPlan: Sendable {
    public var tensors: [PlannedTensor]
    /// `general.file_type` (llama_ftype).
    public var fileType: UInt32

    /// A plan from already-decided tensors.
    public init(tensors: [PlannedTensor], fileType: UInt32) {
        self.tensors = tensors
        self.fileType = fileType
    }

    /// Plans a checkpoint → GGUF conversion. `model` feeds the layer/head rules of a llama-quantize preset.
    public init(outputs: [OutputTensor], request: TypeRequest, model: QuantModelInfo? = nil) throws {
        var mixTypes: [String: GGMLType] = [:]
        if case .mix(let mix) = request.base {
            let weights = outputs.filter { $0.ne.count > 1 && $0.role != .norm }
            guard let model else { throw KilnError(.usage, "a preset type mix needs the model's layer and head counts") }
            let types = try mix.types(for: weights.map { QuantTensor(name: $0.name, ne: $0.ne, sourceType: .f32) }, model: model)
            for (t, type) in zip(weights, types) { mixTypes[t.name] = type }
        }
        let overrides = try TensorTypeOverride.compile(request.overrides)
        var planned: [PlannedTensor] = []
        for t in outputs {
            let userType = overrides.type(for: t.name) ?? (t.role == .embedding ? request.embedding : nil)
            if t.ne.count == 1 || t.role == .norm {
                planned.append(PlannedTensor(tensor: t, type: userType ?? .f32, mode: .quantize))
                continue
            }
            if let u = userType {
                planned.append(PlannedTensor(tensor: t, type: u, mode: .quantize))
                continue
            }
            switch request.base {
            case .auto:
                if let a = request.auto, !a.onGrid.contains(t.name) {
                    planned.append(PlannedTensor(tensor: t, type: a.precision, mode: .quantize))
                } else {
                    planned.append(PlannedTensor(tensor: t, type: .q4_0, mode: .qatLossless))
                }
            case .single(let type):
                planned.append(PlannedTensor(tensor: t, type: try QuantMix.shapeFallback(type, rowLength: t.rowLength, tensor: t.name), mode: .quantize))
            case .mix:
                planned.append(PlannedTensor(tensor: t, type: mixTypes[t.name] ?? .f32, mode: .quantize))
            }
        }
        for p in planned {
            guard Quantizer.canQuantize(p.type) else {
                throw KilnError(.usage, "Kiln cannot produce \(p.type.name) tensors", tensor: p.tensor.name)
            }
            guard p.tensor.rowLength % p.type.blockSize == 0 else {
                throw KilnError(.usage, "row length \(p.tensor.rowLength) is not a multiple of \(p.type.name)'s block size \(p.type.blockSize); choose another type for it with --tensor-type",
                                tensor: p.tensor.name)
            }
        }
        tensors = planned
        switch request.base {
        case .auto:
            // Mostly Q4_0 when any tensor is on the grid (QAT checkpoints); otherwise the precision type.
            if let a = request.auto, !planned.contains(where: { $0.mode == .qatLossless }) {
                fileType = ConversionPlan.fileType(for: a.precision)
            } else {
                fileType = LlamaFileType.mostlyQ4_0.rawValue
            }
        case .single(let t): fileType = ConversionPlan.fileType(for: t)
        case .mix(let m): fileType = m.fileType
        }
    }

    /// llama_ftype for a file whose weights are mostly `type` (include/llama.h).
    public static func fileType(for type: GGMLType) -> UInt32 {
        let ftype: LlamaFileType
        switch type {
        case .f32: ftype = .allF32
        case .f16: ftype = .mostlyF16
        case .q4_0: ftype = .mostlyQ4_0
        case .q4_1: ftype = .mostlyQ4_1
        case .q8_0: ftype = .mostlyQ8_0
        case .q5_0: ftype = .mostlyQ5_0
        case .q5_1: ftype = .mostlyQ5_1
        case .q2_K: ftype = .mostlyQ2_K
        case .q3_K: ftype = .mostlyQ3_K_M
        case .q4_K: ftype = .mostlyQ4_K_M
        case .q5_K: ftype = .mostlyQ5_K_M
        case .q6_K: ftype = .mostlyQ6_K
        case .bf16: ftype = .mostlyBF16
        default: ftype = .guessed
        }
        return ftype.rawValue
    }

    /// "37 F32, 43 Q4_0": how many output tensors of each type, for summaries.
    public var typeCounts: String {
        var counts: [String: Int] = [:]
        for p in tensors { counts[p.type.name, default: 0] += 1 }
        return counts.keys.sorted().map { "\(counts[$0]!) \($0)" }.joined(separator: ", ")
    }

    /// Bytes of tensor data (unpadded).
    public var dataBytes: Int { tensors.reduce(0) { $0 + $1.byteCount } }

    /// The plan as a table, for `--dry-run`.
    public var text: String {
        var out = ""
        let w = tensors.map(\.tensor.name.count).max() ?? 10
        for p in tensors {
            let name = p.tensor.name.padding(toLength: w, withPad: " ", startingAt: 0)
            let ne = "[" + p.tensor.ne.map(String.init).joined(separator: ", ") + "]"
            out += "  \(name)  \(ne.padding(toLength: 14, withPad: " ", startingAt: 0))  \(p.type.name.padding(toLength: 5, withPad: " ", startingAt: 0))  \(p.mode)  ← \(p.tensor.source) \(p.tensor.transform)\n"
        }
        return out
    }
}
