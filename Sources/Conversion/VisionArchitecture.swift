import GGUFWriter
import KilnCore
import QuantCore

/// An architecture whose checkpoints may carry a vision tower, converted to a separate llama.cpp "mmproj" GGUF
/// (`general.architecture = clip`) that llama.cpp's libmtmd loads beside the text model.
public protocol VisionArchitecture: Architecture {
    /// What `source` holds of a vision tower.
    func visionTower(source: any TensorSource) throws -> VisionTower
}

/// The vision part of a checkpoint.
public enum VisionTower: Sendable {
    /// No vision tensors.
    case absent
    /// Vision tensors are there but no mmproj can be made from them; `reason` says why (nothing is written).
    case unusable(reason: String)
    case present(any VisionProjector)
}

/// A vision encoder + projector in llama.cpp's clip naming, ready to plan and write.
public protocol VisionProjector: Sendable {
    /// The mmproj tensors, in output order.
    var outputTensors: [OutputTensor] { get }
    /// Types for the mmproj tensors when the 2-D weights are `weightType`; fixed types (F32 embeddings, F16 projection)
    /// are overrides in the request.
    func typeRequest(weightType: GGMLType) -> TypeRequest
    /// All mmproj metadata, in llama.cpp's converter order (`general.file_type` from the plan).
    func metadata(modelName: String, fileType: UInt32) -> [GGUFMetadataEntry]
    /// A one-line description, for the conversion summary.
    var summary: String { get }
}

extension TypeRequest {
    /// The mmproj weight type for the text model's `--type`: llama.cpp's converter writes mmproj weights as F16 by
    /// default and offers f32, f16, bf16 and q8_0 (`convert_hf_to_gguf.py --outtype`); those are followed, anything
    /// else (auto, 4-6-bit types) gives F16, since llama.cpp does not quantize mmproj files lower.
    public static func mmprojWeightType(forTextType type: String) -> GGMLType {
        guard let t = GGMLType.named(type), [.f32, .f16, .bf16, .q8_0].contains(t) else { return .f16 }
        return t
    }
}
