import GGUFWriter
import KilnCore

/// A vision tower that turns one image into soft tokens a text model reads in place of token embeddings — the seam
/// each model family's encoder plugs into (Gemma 3: `Gemma3SigLIP`).
public protocol VisionEncoder: Sendable {
    /// Soft tokens per image.
    var tokensPerImage: Int { get }
    /// Width of each soft token (the text model's embedding length).
    var outputWidth: Int { get }
    /// The text placed before and after an image's soft tokens (libmtmd's `img_beg` / `img_end`).
    var imageStart: String { get }
    var imageEnd: String { get }
    /// Whether the text model attends bidirectionally among the soft tokens of one image (libmtmd's
    /// `mtmd_decode_use_non_causal`), instead of causally.
    var bidirectionalImageAttention: Bool { get }
    /// `tokensPerImage × outputWidth` floats, token by token.
    func encode(_ image: RGBImage) -> [Float]
}

/// Opens an mmproj GGUF (`general.architecture = clip`) with the encoder of its `clip.projector_type`.
public enum VisionEncoders {
    public static func open(mmproj path: String, options: EngineOptions = EngineOptions()) throws(KilnError) -> any VisionEncoder {
        let file = try GGUFFile(path: path)
        let arch = file.metadata[key: GGUFKey.architecture]?.stringValue ?? "(none)"
        guard arch == GGUFKey.Clip.architecture else {
            throw KilnError(.unsupported, "general.architecture is '\(arch)', not an mmproj ('clip')", file: path)
        }
        let projector = file.metadata[key: GGUFKey.Clip.projectorType]?.stringValue ?? "(none)"
        switch projector {
        case Gemma3SigLIP.projectorType: return try Gemma3SigLIP(gguf: file, options: options)
        default: throw unsupported(projector, file: path)
        }
    }

    /// The encoder in float32 over `source`, a checkpoint's vision tower seen with mmproj names (Conversion's
    /// `ConvertedTensorView(source:vision:)`), configured by the mmproj `metadata` the converter would write.
    public static func open(source: any TensorSource, metadata: [GGUFMetadataEntry], options: EngineOptions) throws -> any VisionEncoder {
        let projector = metadata[key: GGUFKey.Clip.projectorType]?.stringValue ?? "(none)"
        switch projector {
        case Gemma3SigLIP.projectorType: return try Gemma3SigLIP(source: source, metadata: metadata, options: options)
        default: throw unsupported(projector, file: source.path)
        }
    }

    static func unsupported(_ projector: String, file: String) -> KilnError {
        KilnError(.unsupported, "clip.projector_type '\(projector)' is not one Kiln runs (gemma3)", file: file)
    }
}
