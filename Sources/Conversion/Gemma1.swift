import Foundation
import GGUFWriter
import KilnCore
import QuantCore
import Tokenizers

/// Gemma 1 and CodeGemma (text decoder; 2B, 7B and smaller test configs), from Kaggle Orbax/Flax checkpoints (FLAT
/// release layout, or any layout `FlaxModelParams` maps onto it; 2B's `q_einsum` + `kv_einsum` and 7B's fused
/// `qkv_einsum`) or Hugging Face `GemmaForCausalLM` safetensors, to llama.cpp's `gemma` GGUF.
///
/// Sources: gemma-llm 1.0.0 (Google DeepMind's original Gemma 1 Flax library: `transformer.TransformerConfig.from_params`,
/// `modules.Attention` — fused `qkv_einsum` exactly when query and KV head counts agree — and `params.param_remapper`,
/// the FLAT names); llama.cpp `conversion/gemma.py` (`GemmaModel`: keys and their order, `+1` on norms, the CodeGemma
/// special tokens of which only `eot` (107) has a gguf-py writer) and `src/llama-model.cpp` (LLM_ARCH_GEMMA: no
/// window, no soft-caps, queries scaled by 1/√head_dim, RoPE base 10 000).
public struct Gemma1: Architecture {
    public static let name = "gemma"

    /// What the shapes do not say: the family's constants, or config.json's values (HF), and the size label.
    public struct Config: Sendable, Equatable {
        public var contextLength = Gemma1.contextLength
        public var rmsEpsilon: Float = 1e-6
        public var sizeLabel: String
    }

    public let layout: GemmaCheckpointLayout
    public let config: Config
    private let names: GemmaText.Names
    private let shape: GemmaText.Shape

    /// Every Gemma 1 release's `max_position_embeddings`.
    static let contextLength = 8192
    /// The end-of-turn id llama.cpp's `GemmaModel.set_vocab` writes for every `gemma` GGUF (CodeGemma's and Gemma 1
    /// instruct's `<end_of_turn>`); its prefix/suffix/middle/fsep ids (67, 69, 68, 70) have no gguf-py writer and are
    /// dropped with a warning, so they are not written here either.
    static let endOfTurnID: UInt32 = 107

    /// Known sizes: (layers, embedding) → label (gemma-llm's 2B and 7B; CodeGemma has the same shapes).
    static let sizeTable: [(layers: Int, embedding: Int, label: String)] = [(18, 2048, "2B"), (28, 3072, "7B")]

    /// A Gemma text decoder whose layer 0 has neither query/key norms (Gemma 3) nor post-FFW norms (Gemma 2).
    public static func recognizes(_ source: any TensorSource) -> Bool {
        guard let names = GemmaText.Names.detect(source) else { return false }
        let all = Set(source.tensors.map(\.name))
        return !names.hasQueryNorm(all) && !names.hasKeyNorm(all) && !names.hasPostFFWNorm(all)
    }

    /// `GemmaModel.set_vocab`: the SentencePiece vocabulary, then `eot_token_id` 107, then `add_space_prefix` false;
    /// no chat template of Kiln's own (llama.cpp copies tokenizer_config.json's, which a Flax checkpoint has not).
    public func tokenizerMetadata(_ vocabulary: GGUFVocabulary) -> [GGUFMetadataEntry] {
        var entries = vocabulary.ggufMetadata()
        let eot = GGUFMetadataEntry(GGUFKey.Tokenizer.eotID, .uint32(Gemma1.endOfTurnID))
        entries.insert(eot, at: entries.firstIndex { $0.key == GGUFKey.Tokenizer.addSpacePrefix } ?? entries.endIndex)
        return entries
    }

    /// `vocabularySize` (the tokenizer's token count) trims padded embedding rows (Kaggle's Flax embedding has 256,128
    /// rows for 256,000 tokens).
    public init(source: any TensorSource, vocabularySize: Int?) throws {
        let open = try GemmaText.Opening<HFTextConfig>(source: source, vocabularySize: vocabularySize, family: "Gemma 1", needs: "head size")
        let (names, hf, shape) = (open.names, open.hf, open.shape)
        self.names = names
        layout = names.layout
        self.shape = shape
        let outputs = GemmaText.outputTensors(shape, names: names, queryKeyNorms: false, postNorms: false)
        let known = Gemma1.sizeTable.first { $0.layers == shape.layers && $0.embedding == shape.embedding }
        let label = known?.label ?? GemmaText.sizeLabel(parameters: outputs.reduce(0) { $0 + $1.elementCount })
        var c = Config(sizeLabel: label)
        if let hf {
            c.contextLength = hf.contextLength
            c.rmsEpsilon = hf.rmsEpsilon
        }
        config = c
        try GemmaText.checkSourceShapes(outputs, source: source, family: "Gemma 1 \(label)")
    }

    public var quantModelInfo: QuantModelInfo {
        shape.quantModelInfo(architecture: Gemma1.name)
    }

    public var summary: String {
        shape.summary(architecture: Gemma1.name, sizeLabel: config.sizeLabel)
            + (shape.fusedQKV ? ", fused qkv_einsum" : "") + " (\(layout == .flax ? "Flax" : "HF") names)"
    }

    public var outputTensors: [OutputTensor] {
        GemmaText.outputTensors(shape, names: names, queryKeyNorms: false, postNorms: false)
    }

    /// The keys of llama.cpp's `GemmaModel.set_gguf_parameters`, in its order (no RoPE base: llama.cpp's default
    /// 10 000 is Gemma 1's).
    public func metadata(modelName: String) -> [GGUFMetadataEntry] {
        GemmaText.generalMetadata(architecture: Gemma1.name, basename: "gemma", modelName: modelName, sizeLabel: config.sizeLabel)
            + GemmaText.shapeMetadata(architecture: Gemma1.name, contextLength: config.contextLength, shape: shape, rmsEpsilon: config.rmsEpsilon)
    }
}

extension Gemma1 {
    /// The text hyper-parameters of an HF `GemmaForCausalLM` checkpoint, from its `config.json`, read as llama.cpp's
    /// converter reads it (through transformers' `GemmaConfig`, so an absent key takes its default).
    ///
    /// Sources: transformers `models/gemma/configuration_gemma.py` (defaults), llama.cpp `conversion/gemma.py`.
    struct HFTextConfig: Equatable, GemmaText.HFConfigReading {
        var contextLength = 8192
        var headDim = 256
        var rmsEpsilon: Float = 1e-6

        /// Nil when the directory holds no `config.json`.
        static func read(directory: String) throws(KilnError) -> HFTextConfig? {
            guard let file = try HFConfigFile.open(directory: directory) else { return nil }
            try file.checkModelType("gemma")
            var c = HFTextConfig()
            try file.readCommon(contextLength: &c.contextLength, headDim: &c.headDim, rmsEpsilon: &c.rmsEpsilon)
            try file.checkDefaultRopeBase(architecture: "gemma")
            return c
        }
    }
}
