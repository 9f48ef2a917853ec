import Foundation
import GGUFWriter
import KilnCore
import QuantCore
import Tokenizers

/// Gemma 2 (text decoder; 2B, 9B, 27B and smaller test configs), from Kaggle Orbax/Flax checkpoints (FLAT release
/// layout, or any layout `FlaxModelParams` maps onto it) or Hugging Face `Gemma2ForCausalLM` safetensors, to
/// llama.cpp's `gemma2` GGUF.
///
/// Sources: gemma `_gemma.py` (`Gemma2_2B`/`9B`/`27B` configs: the size table below), `_modules.py` (Flax names and
/// both `gating_einsum` orders); llama.cpp `conversion/gemma.py` (`Gemma2Model`: keys and their order, no vocabulary
/// trimming, `+1` on norms) and `src/models/gemma2.cpp` (what its loader reads: the query scaling is not a key — it is
/// 1/√(d/heads) for a 46-layer model and 1/√head_dim otherwise; the window pattern is fixed at local/global).
public struct Gemma2: Architecture {
    public static let name = "gemma2"

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
        public var contextLength: Int
        public var slidingWindow: Int
        public var attentionLogitSoftcap: Float
        public var finalLogitSoftcap: Float
        public var rmsEpsilon: Float = 1e-6
        /// The query is multiplied by `queryPreAttentionScalar^-½` (gemma `query_pre_attn_scalar`).
        public var queryPreAttentionScalar: Int
        public var sizeLabel: String
    }

    public let layout: GemmaCheckpointLayout
    public let config: Config
    private let names: GemmaText.Names
    private let shape: GemmaText.Shape

    /// The family's constants, shared by every released size and used for sizes not in the table (gemma's Gemma2
    /// configs; `max_position_embeddings` of the HF releases).
    static let contextLength = 8192
    static let slidingWindow = 4096
    static let attentionLogitSoftcap: Float = 50
    static let finalLogitSoftcap: Float = 30

    /// Known sizes: (layers, embedding) → (label, query_pre_attn_scalar). 27B scales queries by d/heads (144), not its
    /// head dim (128) — the rule llama.cpp applies to a 46-layer gemma2.
    static let sizeTable: [(layers: Int, embedding: Int, label: String, queryScalar: Int)] = [
        (26, 2304, "2B", 256),
        (42, 3584, "9B", 256),
        (46, 4608, "27B", 144),
    ]

    /// A Gemma text decoder whose layer 0 has post-FFW norms and no query or key norm (Gemma 3 has both; Gemma 1
    /// has neither kind).
    public static func recognizes(_ source: any TensorSource) -> Bool {
        guard let names = GemmaText.Names.detect(source) else { return false }
        let all = Set(source.tensors.map(\.name))
        return !names.hasQueryNorm(all) && !names.hasKeyNorm(all) && names.hasPostFFWNorm(all)
    }

    /// llama.cpp's converter copies the HF release's `tokenizer_config.json` template; Kiln adds that of
    /// `google/gemma-2-2b-it` (the same for 9B/27B), as it adds Gemma 3's for Gemma 3.
    public func tokenizerMetadata(_ vocabulary: GGUFVocabulary) -> [GGUFMetadataEntry] {
        vocabulary.ggufMetadata(chatTemplate: GemmaChatTemplate.gemma2)
    }

    /// `vocabularySize` (the tokenizer's token count) trims padded embedding rows: Kaggle's Flax embedding has 256,128
    /// rows for 256,000 tokens, and the HF release (what llama.cpp's converter reads) stores only the 256,000.
    public init(source: any TensorSource, vocabularySize: Int?) throws {
        let open = try GemmaText.Opening<HFTextConfig>(source: source, vocabularySize: vocabularySize, family: "Gemma 2",
                                                       needs: "head size, window, soft-caps")
        let (names, hf, shape, configDirectory) = (open.names, open.hf, open.shape, open.configDirectory)
        self.names = names
        layout = names.layout
        self.shape = shape
        let known = Gemma2.sizeTable.first { $0.layers == shape.layers && $0.embedding == shape.embedding }
        let outputs = GemmaText.outputTensors(shape, names: names, queryKeyNorms: false)
        let label = known?.label ?? GemmaText.sizeLabel(parameters: outputs.reduce(0) { $0 + $1.elementCount })
        var c = Config(layers: shape.layers, embedding: shape.embedding, heads: shape.heads, kvHeads: shape.kvHeads,
                       headDim: shape.headDim, feedForward: shape.feedForward, vocabulary: shape.vocabulary,
                       contextLength: Gemma2.contextLength, slidingWindow: Gemma2.slidingWindow,
                       attentionLogitSoftcap: Gemma2.attentionLogitSoftcap, finalLogitSoftcap: Gemma2.finalLogitSoftcap,
                       queryPreAttentionScalar: known?.queryScalar ?? shape.headDim, sizeLabel: label)
        if let hf {
            c.contextLength = hf.contextLength
            c.slidingWindow = hf.slidingWindow
            c.attentionLogitSoftcap = hf.attentionLogitSoftcap
            c.finalLogitSoftcap = hf.finalLogitSoftcap
            c.rmsEpsilon = hf.rmsEpsilon
            c.queryPreAttentionScalar = hf.queryPreAttentionScalar
        }
        // llama.cpp has no key for the query scaling; a GGUF can only carry the one its loader derives.
        let llamaScalar = shape.layers == 46 ? shape.embedding / shape.heads : shape.headDim
        guard c.queryPreAttentionScalar == llamaScalar else {
            throw KilnError(.unsupported, "query_pre_attn_scalar \(c.queryPreAttentionScalar) cannot be expressed in a gemma2 GGUF: "
                            + "llama.cpp scales queries by 1/√\(llamaScalar) for this model", file: hf == nil ? source.path : configDirectory + "/config.json")
        }
        config = c
        try GemmaText.checkSourceShapes(outputs, source: source, family: "Gemma 2 \(label)")
    }

    public var quantModelInfo: QuantModelInfo {
        shape.quantModelInfo(architecture: Gemma2.name)
    }

    public var summary: String {
        let c = config
        return shape.summary(architecture: Gemma2.name, sizeLabel: c.sizeLabel)
            + ", window \(c.slidingWindow), soft-caps \(Self.format(c.attentionLogitSoftcap))/\(Self.format(c.finalLogitSoftcap)) (\(layout == .flax ? "Flax" : "HF") names)"
    }

    private static func format(_ x: Float) -> String { x == x.rounded() ? String(Int(x)) : String(x) }

    public var outputTensors: [OutputTensor] {
        GemmaText.outputTensors(shape, names: names, queryKeyNorms: false)
    }

    /// The keys of llama.cpp's `Gemma2Model.set_gguf_parameters`, in its order (no RoPE base: llama.cpp's default
    /// 10 000 is Gemma 2's).
    public func metadata(modelName: String) -> [GGUFMetadataEntry] {
        let c = config
        let k = GGUFKey.Model(Gemma2.name)
        return GemmaText.generalMetadata(architecture: Gemma2.name, basename: "gemma-2", modelName: modelName, sizeLabel: c.sizeLabel)
            + GemmaText.shapeMetadata(architecture: Gemma2.name, contextLength: c.contextLength, shape: shape, rmsEpsilon: c.rmsEpsilon) + [
            .init(k.attentionLogitSoftcapping, .float32(c.attentionLogitSoftcap)),
            .init(k.finalLogitSoftcapping, .float32(c.finalLogitSoftcap)),
            .init(k.slidingWindow, .uint32(UInt32(c.slidingWindow))),
        ]
    }
}

extension Gemma2 {
    /// The text hyper-parameters of an HF `Gemma2ForCausalLM` checkpoint, from its `config.json`, read as llama.cpp's
    /// converter reads it (through transformers' `Gemma2Config`, so an absent key takes its default).
    ///
    /// Sources: transformers `models/gemma2/configuration_gemma2.py` (defaults), llama.cpp `conversion/gemma.py`
    /// (`Gemma2Model.set_gguf_parameters`).
    struct HFTextConfig: Equatable, GemmaText.HFConfigReading {
        var contextLength = 8192
        var slidingWindow = 4096
        var headDim = 256
        var queryPreAttentionScalar = 256
        var attentionLogitSoftcap: Float = 50
        var finalLogitSoftcap: Float = 30
        var rmsEpsilon: Float = 1e-6

        /// Nil when the directory holds no `config.json`.
        static func read(directory: String) throws(KilnError) -> HFTextConfig? {
            guard let file = try HFConfigFile.open(directory: directory) else { return nil }
            let (text, path) = (file.root, file.path)
            try file.checkModelType("gemma2")
            var c = HFTextConfig()
            try file.readCommon(contextLength: &c.contextLength, headDim: &c.headDim, rmsEpsilon: &c.rmsEpsilon)
            if let v = try file.positive(text, "sliding_window") { c.slidingWindow = v }
            if let v = try file.positive(text, "query_pre_attn_scalar") { c.queryPreAttentionScalar = v }
            // llama.cpp's converter writes both caps unconditionally; a null cap (no capping) has no GGUF spelling.
            for (key, target) in [("attn_logit_softcapping", \HFTextConfig.attentionLogitSoftcap),
                                  ("final_logit_softcapping", \HFTextConfig.finalLogitSoftcap)] where text.keys.contains(key) {
                guard let v = file.number(text, key), v.doubleValue > 0 else {
                    throw KilnError(.unsupported, "\(key) = \(text[key] ?? "null"): a gemma2 GGUF always soft-caps", file: path)
                }
                c[keyPath: target] = v.floatValue
            }
            try file.checkDefaultRopeBase(architecture: "gemma2")
            return c
        }
    }
}
