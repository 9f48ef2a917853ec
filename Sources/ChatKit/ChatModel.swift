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

    /// Opens `path`. A GGUF runs on `options` as given; a checkpoint always runs the plain float32 path (`.reference`,
    /// no llama.cpp rounding) and throws when its float32 weights would not fit in this machine's memory.
    /// `tokenizer` overrides the checkpoint's tokenizer.model.
    public static func open(_ path: String, options: EngineOptions, tokenizer tokenizerPath: String? = nil) throws -> ChatModel {
        let source = try SourceOpener.open(path)
        var o = options
        if let file = source as? GGUFFile {
            if let trained = file.metadata[key: GGUFKey.Model(GemmaConfig.architecture).contextLength]?.intValue { o.contextLength = min(o.contextLength, trained) }
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
                         tokenizer: try SPMTokenizer(metadata: metadata, file: tokenizerModel), metadata: metadata, inputPath: path)
    }

    /// The vision encoder for the model at `path`: the mmproj given as `mmproj`, else the one `MMProjLocator` finds
    /// beside a GGUF. Its soft tokens must have the text model's width. A source checkpoint is refused (images on the
    /// float path are not implemented yet).
    public func openVision(mmproj: String?, options: EngineOptions) throws -> any VisionEncoder {
        guard inputPath.lowercased().hasSuffix(".gguf") || mmproj != nil else {
            throw KilnError(.unsupported, "images need a GGUF and its mmproj (chat on a source checkpoint is text only for now)",
                            file: inputPath)
        }
        let path = try MMProjLocator.require(model: inputPath, explicit: mmproj)
        let vision = try VisionEncoders.open(mmproj: path, options: options)
        guard vision.outputWidth == engine.config.embeddingLength else {
            throw KilnError(.invalid, "the mmproj projects to width \(vision.outputWidth) but the model's embedding length is "
                            + "\(engine.config.embeddingLength): it belongs to another model", file: path)
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
