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
    /// Recognition is disjoint: Gemma 3's layers have query norms, Gemma 2's have post-FFW norms and no query norm,
    /// Gemma 1's (and CodeGemma's) have neither.
    public static let all: [any Architecture.Type] = [Gemma3.self, Gemma2.self, Gemma1.self]

    /// The family whose tensors `source` holds.
    public static func family(of source: any TensorSource) throws -> any Architecture.Type {
        for a in all where a.recognizes(source) { return a }
        let sample = source.tensors.prefix(5).map(\.name).joined(separator: ", ")
        throw KilnError(.unsupported, "no supported architecture recognises these tensors (\(sample), ...); supported: "
                        + all.map { $0.name }.joined(separator: ", "), file: source.path)
    }
}
