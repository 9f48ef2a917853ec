import GGUFWriter
import KilnCore
import QuantCore

/// GGUF → GGUF in another type mix, exactly as llama-quantize does it: same metadata (plus
/// `general.quantization_version` and `general.file_type` moved to the end), tensors in llama.cpp's loader order,
/// per-tensor types from the llama-quantize mix, unchanged tensors copied byte for byte.
public enum RequantizePlan {
    /// The plan and the metadata for requantizing `gguf` with `mix`. A tensor that is already quantized and would
    /// change type needs `allowRequantize` (llama-quantize's `--allow-requantize`); `warnings` says which ones.
    public static func make(_ gguf: GGUFFile, mix: QuantMix, allowRequantize: Bool) throws
        -> (plan: ConversionPlan, metadata: [GGUFMetadataEntry], warnings: [String]) {
        let arch = gguf.metadata[key: GGUFKey.architecture]?.stringValue ?? ""
        let k = GGUFKey.Model(arch)
        func u(_ key: String) -> Int { gguf.metadata[key: key]?.intValue ?? 0 }
        let model = QuantModelInfo(architecture: arch, layerCount: u(k.blockCount), headCount: u(k.headCount),
                                   headCountKV: u(k.headCountKV), expertCount: u(k.expertCount))
        let infos = TensorOrder.sorted(gguf.tensorInfos, name: \.name)
        let types: [GGMLType]
        do throws(KilnError) {
            types = try mix.types(for: infos.map { QuantTensor(name: $0.name, ne: $0.ne, sourceType: $0.type) }, model: model)
        } catch {
            throw error.inFile(gguf.path)
        }
        var planned: [PlannedTensor] = []
        var requantized: [String] = []
        for (info, type) in zip(infos, types) {
            let t = OutputTensor(name: info.name, ne: info.ne, source: info.name, transform: .copy(select: nil),
                                 role: info.ne.count == 1 ? .norm : .weight)
            if type == info.type {
                planned.append(PlannedTensor(tensor: t, type: type, mode: .passthrough))
                continue
            }
            guard Quantizer.canDequantize(ElementType(ggml: info.type)) else {
                throw KilnError(.unsupported, "cannot read \(info.type.name) tensors", file: gguf.path, tensor: info.name)
            }
            if info.type.isQuantized { requantized.append(info.name) }
            planned.append(PlannedTensor(tensor: t, type: type, mode: .quantize))
        }
        var warnings: [String] = []
        if !requantized.isEmpty {
            guard allowRequantize else {
                throw KilnError(.usage, "\(requantized.count) tensors are already quantized (e.g. '\(requantized[0])'); requantizing compounds the quantization error — pass --allow-requantize to do it anyway, or start from an F32/F16/BF16 file",
                                file: gguf.path)
            }
            warnings.append("warning: requantizing \(requantized.count) already-quantized tensors; quantization error compounds (start from F32/F16/BF16 for best quality)")
        }
        var metadata = gguf.metadata
        metadata.set(GGUFKey.quantizationVersion, .uint32(ggmlQuantizationVersion))
        metadata.set(GGUFKey.fileType, .uint32(mix.fileType))
        return (ConversionPlan(tensors: planned, fileType: mix.fileType), metadata, warnings)
    }
}
