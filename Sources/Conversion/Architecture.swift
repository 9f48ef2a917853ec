import GGUFWriter
import KilnCore
import QuantCore
import Tokenizers

/// A model family Kiln can convert. One conforming type per family holds all of that family's knowledge:
/// how to recognise a checkpoint from its tensor names, the config derived from shapes, the source → GGUF names and
/// layout transforms, and the GGUF metadata. Adding a family is one new file plus a line in `Architectures.all`.
public protocol Architecture: Sendable {
    /// GGUF `general.architecture`.
    static var name: String { get }
    /// Whether `source` holds this family's tensors (checked on names only, before any data is read).
    static func recognizes(_ source: any TensorSource) -> Bool
    /// Derives the configuration from the tensors' names and shapes; throws naming what is missing or inconsistent.
    /// `vocabularySize` (the tokenizer's token count) trims padded embedding rows.
    init(source: any TensorSource, vocabularySize: Int?) throws
    /// The GGUF vocabulary this family's converter writes for a SentencePiece `tokenizer.model`.
    static func vocabulary(tokenizerModel path: String) throws -> GGUFVocabulary
    /// `tokenizer.*` metadata (vocabulary plus the family's chat template).
    func tokenizerMetadata(_ vocabulary: GGUFVocabulary) -> [GGUFMetadataEntry]
    /// The text model's output tensors, in output order.
    var outputTensors: [OutputTensor] { get }
    /// `general.*` (without file type) and `<arch>.*` metadata, in llama.cpp's converter order.
    func metadata(modelName: String) -> [GGUFMetadataEntry]
    /// What llama-quantize's per-tensor rules need to know about the model (for preset type mixes).
    var quantModelInfo: QuantModelInfo { get }
    /// A one-line description of the derived configuration, for the conversion summary.
    var summary: String { get }
}

extension Architecture {
    /// The GGUF vocabulary llama.cpp's converter writes for a SentencePiece `tokenizer.model` (every Gemma family's;
    /// a family with another tokenizer overrides it).
    public static func vocabulary(tokenizerModel path: String) throws -> GGUFVocabulary {
        try GemmaText.vocabulary(tokenizerModel: path)
    }
}

/// The registry of supported families.
public enum Architectures {
    /// Recognition is disjoint: Gemma 3's layers have query norms, Gemma 2's have post-FFW norms and no query norm.
    public static let all: [any Architecture.Type] = [Gemma3.self, Gemma2.self]

    /// The family whose tensors `source` holds. A Gemma 1 or CodeGemma tree (no query norm, no post-FFW norm, or a
    /// fused `qkv_einsum`) is refused by name rather than taken for a later family.
    public static func family(of source: any TensorSource) throws -> any Architecture.Type {
        for a in all where a.recognizes(source) { return a }
        if let gemma1 = gemma1Evidence(source) {
            throw KilnError(.unsupported, "this looks like a Gemma 1 or CodeGemma checkpoint (\(gemma1)); Kiln converts Gemma 2 and "
                            + "Gemma 3 only (llama.cpp's `gemma` architecture is not supported)", file: source.path)
        }
        let sample = source.tensors.prefix(5).map(\.name).joined(separator: ", ")
        throw KilnError(.unsupported, "no supported architecture recognises these tensors (\(sample), ...); supported: "
                        + all.map { $0.name }.joined(separator: ", "), file: source.path)
    }

    /// Why `source` looks like Gemma 1 / CodeGemma, or nil: a Gemma text decoder whose layer 0 has neither a query
    /// norm nor a post-FFW norm, or a Flax layer 0 with Gemma 1 7B's fused `qkv_einsum`.
    static func gemma1Evidence(_ source: any TensorSource) -> String? {
        let all = Set(source.tensors.map(\.name))
        if all.contains(GemmaText.Names.flaxEmbedding), all.contains("transformer/layer_0/attn/qkv_einsum.w") {
            return "a fused qkv_einsum in layer 0"
        }
        guard let names = GemmaText.Names.detect(source), !names.hasQueryNorm(all), !names.hasPostFFWNorm(all) else { return nil }
        return "layer 0 has neither a post-FFW norm nor a query or key norm"
    }
}
