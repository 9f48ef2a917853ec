import Conversion
import Foundation
import GGUFWriter
import KilnCLI
import KilnCore
import RefInference
import Tokenizers
import Verify

/// What `chat` runs: a GGUF on the engine, or a source checkpoint (Orbax/Flax, safetensors) in float32 — its tensors
/// converted in memory through the converter's own mapping (`ConvertedTensorView`), so chatting with the checkpoint
/// before converting it computes what its float32 conversion would.
public struct ChatModel {
    public let engine: GemmaEngine
    public let tokenizer: SPMTokenizer
    /// The GGUF's metadata, or the metadata the converter would write for the checkpoint (tokenizer included).
    public let metadata: [GGUFMetadataEntry]
    /// The file or directory to name as the input of outputs (`--dump-logits`).
    public let inputPath: String
    /// A source checkpoint and its architecture (nil for a GGUF), for its vision tower.
    var checkpoint: (source: any TensorSource, arch: any Architecture)?

    /// Opens `path`. A GGUF runs on `options` as given; a checkpoint always runs the plain float32 path (`.reference`,
    /// no llama.cpp rounding) and throws when its float32 weights would not fit in this machine's memory.
    /// `tokenizer` overrides the checkpoint's tokenizer.model; `step` picks a CheckpointManager step.
    public static func open(_ path: String, options: EngineOptions, tokenizer tokenizerPath: String? = nil,
                            step: Int? = nil) throws -> ChatModel {
        let source = try SourceOpener.open(path, step: step)
        var o = options
        if let file = source as? GGUFFile {
            let arch = file.metadata[key: GGUFKey.architecture]?.stringValue ?? GemmaConfig.architecture
            if let trained = file.metadata[key: GGUFKey.Model(arch).contextLength]?.intValue { o.contextLength = min(o.contextLength, trained) }
            return ChatModel(engine: try GemmaEngine(gguf: file, options: o),
                             tokenizer: try SPMTokenizer(metadata: file.metadata, file: path), metadata: file.metadata, inputPath: path)
        }
        var convert = ConvertOptions(output: "")
        convert.tokenizer = tokenizerPath
        let tokenizerModel = try ConvertJob.tokenizerPath(source, input: path, options: convert)
        let family = try Architectures.family(of: source)
        let vocabulary = try family.vocabulary(tokenizerModel: tokenizerModel)
        let arch = try family.init(source: source, vocabularySize: vocabulary.count)
        let metadata = arch.metadata(modelName: ConvertJob.defaultModelName(source, input: path)) + arch.tokenizerMetadata(vocabulary)
        let view = try ConvertedTensorView(source: source, vocabularySize: vocabulary.count)
        let config = try view.gemmaConfig()
        try checkFits(view, contextLength: min(o.contextLength, config.trainedContext), path: path)
        o = EngineOptions(threads: o.threads, contextLength: min(o.contextLength, config.trainedContext), path: .reference,
                          llamaCppNumerics: false, batchSize: o.batchSize)
        let weights = try GemmaWeights(source: view, config: config)
        return ChatModel(engine: try GemmaEngine(config: config, weights: weights, options: o),
                         tokenizer: try SPMTokenizer(metadata: metadata, file: tokenizerModel), metadata: metadata, inputPath: path,
                         checkpoint: (source, arch))
    }

    /// The vision encoder for this model: for a GGUF, the mmproj given as `mmproj`, else the one `MMProjLocator` finds
    /// beside it; for a source checkpoint, its own vision tower in float32 through the converter's mapping (on the
    /// engine's plain float path, like its text weights). Its soft tokens must have the text model's width.
    public func openVision(mmproj: String?, options: EngineOptions) throws -> any VisionEncoder {
        let vision: any VisionEncoder
        let origin: String
        if let (source, arch) = checkpoint {
            guard mmproj == nil else {
                throw KilnError(.usage, "--mmproj is for a GGUF model; a checkpoint's own vision tower is used", file: inputPath)
            }
            guard let multimodal = arch as? any VisionArchitecture, case .present(let projector) = try multimodal.visionTower(source: source) else {
                throw KilnError(.notFound, "the checkpoint has no usable vision tower for images", file: inputPath)
            }
            let view = try ConvertedTensorView(source: source, vision: projector)
            vision = try VisionEncoders.open(source: view, metadata: view.metadata, options: engine.options)
            origin = inputPath
        } else {
            origin = try MMProjLocator.require(model: inputPath, explicit: mmproj)
            vision = try VisionEncoders.open(mmproj: origin, options: options)
        }
        guard vision.outputWidth == engine.config.embeddingLength else {
            throw KilnError(.invalid, "the vision tower projects to width \(vision.outputWidth) but the model's embedding length is "
                            + "\(engine.config.embeddingLength): it belongs to another model", file: origin)
        }
        return vision
    }

    /// Throws, pointing to `verify`, when the float32 weights plus the KV cache exceed 80% of physical memory.
    static func checkFits(_ view: ConvertedTensorView, contextLength: Int, path: String,
                          physicalMemory: UInt64 = ProcessInfo.processInfo.physicalMemory) throws {
        let c = try view.gemmaConfig()
        let weights = view.tensors.reduce(0) { $0 + $1.elementCount * 4 }
        let cache = 4 * c.layerCount * contextLength * c.headCountKV * (c.headDim + c.valueDim)
        let physical = Int(clamping: physicalMemory)
        let need = weights + cache
        if Double(need) > 0.8 * Double(physical) {
            func gb(_ b: Int) -> String { String(format: "%.1f GB", Double(b) / 1e9) }
            throw KilnError(.unsupported, "this checkpoint needs \(gb(need)) in float32 (weights \(gb(weights)), KV cache \(gb(cache))) "
                            + "but the machine has \(gb(physical)) of memory; `verify \(path) CANDIDATE.gguf` checks it layer by layer "
                            + "in little memory, or convert it and chat with the GGUF", file: path)
        }
    }
}
