import Foundation
import GGUFWriter
import KilnCore
import QuantCore
import Tokenizers

/// Gemma 3 (text decoder; 270M, 1B, 4B, 12B, 27B and smaller test configs), from Kaggle Orbax/Flax FLAT checkpoints
/// or Hugging Face safetensors, to llama.cpp's `gemma3` GGUF.
///
/// Sources: gemma `_modules.py`/`_gemma.py` (Flax names, shapes, size table), llama.cpp `conversion/gemma.py` and
/// `llama-model.cpp` (GGUF names, shapes, keys); see shared/docs/gemma3-kaggle-int4.md §2, §5–7.
public struct Gemma3: Architecture {
    public static let name = "gemma3"

    /// The checkpoint naming scheme the tensors came in.
    public typealias Layout = GemmaCheckpointLayout

    /// Hyper-parameters derived from shapes, plus the values config.json (HF) or the size table (Flax) adds.
    public struct Config: Sendable, Equatable {
        public var layers: Int
        public var embedding: Int
        public var heads: Int
        public var kvHeads: Int
        public var headDim: Int
        public var feedForward: Int
        /// Rows of the output token embedding (the tokenizer's size).
        public var vocabulary: Int
        public var hasVision: Bool
        public var contextLength: Int
        public var slidingWindow: Int
        public var ropeFreqBase: Float = 1_000_000
        /// Linear RoPE scaling of global layers (4B and up), nil when unscaled.
        public var ropeScalingFactor: Float?
        public var rmsEpsilon: Float = 1e-6
        public var sizeLabel: String
        /// RoPE base of the sliding-window layers when the checkpoint states one (HF config.json), else nil.
        public var ropeFreqBaseLocal: Float?
        /// `final_logit_softcapping` when the checkpoint states one (HF config.json), else nil.
        public var finalLogitSoftcap: Float?
    }

    public let layout: Layout
    public let config: Config
    private let names: GemmaText.Names
    private let shape: GemmaText.Shape

    /// Known sizes: (layers, embedding) → (label, context, sliding window, RoPE scaling).
    static let sizeTable: [(layers: Int, embedding: Int, label: String, context: Int, window: Int, scaling: Float?)] = [
        (18, 640, "270M", 32768, 512, nil),
        (26, 1152, "1B", 32768, 512, nil),
        (34, 2560, "4B", 131072, 1024, 8),
        (48, 3840, "12B", 131072, 1024, 8),
        (62, 5376, "27B", 131072, 1024, 8),
    ]

    /// A Gemma text decoder whose layer 0 has per-head query norms (Gemma 2 and Gemma 1 have none).
    public static func recognizes(_ source: any TensorSource) -> Bool {
        guard let names = GemmaText.Names.detect(source) else { return false }
        return names.hasQueryNorm(Set(source.tensors.map(\.name)))
    }

    public func tokenizerMetadata(_ vocabulary: GGUFVocabulary) -> [GGUFMetadataEntry] {
        vocabulary.ggufMetadata(chatTemplate: GemmaChatTemplate.gemma3)
    }

    /// `vocabularySize` (the tokenizer's token count) trims padded embedding rows, as llama.cpp's converter does.
    public init(source: any TensorSource, vocabularySize: Int?) throws {
        let names = try GemmaText.Names.require(source, family: "Gemma 3")
        self.names = names
        layout = names.layout
        let headDim = try source.tensor(named: names.attnNorm(0, query: true)).shape.first ?? 0
        let shape = try GemmaText.Shape(source: source, names: names, vocabularySize: vocabularySize, headDim: headDim, family: "Gemma 3")
        self.shape = shape
        let (layers, d, heads, kvHeads, ff, vocab) = (shape.layers, shape.embedding, shape.heads, shape.kvHeads, shape.feedForward, shape.vocabulary)
        let hasVision = source.tensors.contains { names.isVision($0.name) }
        let known = Gemma3.sizeTable.first { $0.layers == layers && $0.embedding == d }
        // Unknown (test-sized) configs follow the 1B rules without a vision tower and the 4B rules with one.
        let label = known?.label ?? shape.parameterLabel
        var c = Config(layers: layers, embedding: d, heads: heads, kvHeads: kvHeads, headDim: headDim, feedForward: ff,
                       vocabulary: vocab, hasVision: hasVision,
                       contextLength: known?.context ?? (hasVision ? 131072 : 32768),
                       slidingWindow: known?.window ?? (hasVision ? 1024 : 512),
                       ropeScalingFactor: known.map { $0.scaling } ?? (hasVision ? 8 : nil),
                       sizeLabel: label)
        // HF checkpoints: config.json is the authority (as for llama.cpp's converter); the size table above only
        // stands in when there is no config.json.
        if layout == .huggingFace,
           let hf = try HFTextConfig.read(directory: GemmaText.configDirectory(source.path)) {
            c.contextLength = hf.contextLength
            c.slidingWindow = hf.slidingWindow
            c.ropeFreqBase = hf.ropeFreqBase
            c.ropeScalingFactor = hf.ropeScalingFactor
            c.rmsEpsilon = hf.rmsEpsilon
            c.ropeFreqBaseLocal = hf.ropeFreqBaseLocal
            c.finalLogitSoftcap = hf.finalLogitSoftcap
        }
        config = c

        try GemmaText.checkSourceShapes(outputTensors, source: source, family: "Gemma 3 \(label)")
    }

    public var quantModelInfo: QuantModelInfo {
        shape.quantModelInfo(architecture: Gemma3.name)
    }

    public var summary: String {
        let c = config
        return shape.summary(architecture: Gemma3.name, sizeLabel: c.sizeLabel)
            + (c.hasVision ? ", vision tower" : "") + " (\(layout == .flax ? "Flax" : "HF") names)"
    }

    public var outputTensors: [OutputTensor] {
        GemmaText.outputTensors(shape, names: names, queryKeyNorms: true)
    }

    public func metadata(modelName: String) -> [GGUFMetadataEntry] {
        let c = config
        let k = GGUFKey.Model(Gemma3.name)
        var m = GemmaText.generalMetadata(architecture: Gemma3.name, basename: "gemma-3", modelName: modelName, sizeLabel: c.sizeLabel) + [
            .init(k.contextLength, .uint32(UInt32(c.contextLength))),
            .init(k.embeddingLength, .uint32(UInt32(c.embedding))),
            .init(k.blockCount, .uint32(UInt32(c.layers))),
            .init(k.feedForwardLength, .uint32(UInt32(c.feedForward))),
            .init(k.headCount, .uint32(UInt32(c.heads))),
            .init(k.layerNormRMSEpsilon, .float32(c.rmsEpsilon)),
            .init(k.keyLength, .uint32(UInt32(c.headDim))),
            .init(k.valueLength, .uint32(UInt32(c.headDim))),
            .init(k.ropeFreqBase, .float32(c.ropeFreqBase)),
            .init(k.slidingWindow, .uint32(UInt32(c.slidingWindow))),
            .init(k.headCountKV, .uint32(UInt32(c.kvHeads))),
        ]
        if let f = c.ropeScalingFactor {
            m.append(.init(k.ropeScalingType, .string("linear")))
            m.append(.init(k.ropeScalingFactor, .float32(f)))
        }
        if let b = c.ropeFreqBaseLocal { m.append(.init("gemma3.rope.freq_base_swa", .float32(b))) }
        if let s = c.finalLogitSoftcap { m.append(.init("gemma3.final_logit_softcapping", .float32(s))) }
        return m
    }
}
