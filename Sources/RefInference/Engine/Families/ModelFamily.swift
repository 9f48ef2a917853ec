import GGUFWriter
import KilnCore

/// One decoder family the engine runs: how its hyperparameters are read from `<arch>.*` GGUF metadata (as llama.cpp's
/// `llama_model_<arch>::load_arch_hparams` reads them) into the `GemmaConfig` values that say what differs per layer
/// (sliding-window pattern, RoPE per layer, q/k norms, soft-caps, query scale). The layer math itself is shared
/// (`Blocks/`, `GemmaEngine`, `StreamedFloatModel`). Adding a family is one file conforming to this and one line in
/// `ModelFamilies.all`.
public protocol ModelFamily: Sendable {
    /// llama.cpp's `general.architecture` name for the family (`LLM_ARCH_*`).
    static var architecture: String { get }
    /// The family's config from GGUF (or converter) metadata; bad or missing values are a `KilnError` naming the key.
    static func config(metadata: [GGUFMetadataEntry], vocabularySize: Int, file: String?) throws(KilnError) -> GemmaConfig
}

/// The families the engine runs, keyed by `general.architecture` (the shape of mlx-swift-lm's `LLMTypeRegistry`:
/// one file per architecture, one table naming them).
public enum ModelFamilies {
    public static let all: [any ModelFamily.Type] = [Gemma3Family.self, Gemma2Family.self, Gemma1Family.self]

    /// The architecture names of `all`, in order.
    public static var supported: [String] { all.map { $0.architecture } }

    /// The family named `architecture`, or an `.unsupported` error listing the supported ones.
    public static func family(for architecture: String, file: String? = nil) throws(KilnError) -> any ModelFamily.Type {
        guard let family = all.first(where: { $0.architecture == architecture }) else {
            throw KilnError(.unsupported, "architecture '\(architecture)' is not supported by the engine (supported: "
                            + supported.joined(separator: ", ") + ")", file: file)
        }
        return family
    }
}

/// Typed reads of `<arch>.*` keys shared by the family readers: sizes are checked to be positive and below 2^24 (far
/// beyond any model, so products such as heads × head size cannot overflow), floats to be finite.
struct HyperparameterReader {
    let metadata: [GGUFMetadataEntry]
    let file: String?
    let keys: GGUFKey.Model
    static let maxSize = 1 << 24

    init(_ metadata: [GGUFMetadataEntry], architecture: String, file: String?) {
        self.metadata = metadata
        self.file = file
        keys = GGUFKey.Model(architecture)
    }

    func int(_ key: String) -> Int? { metadata[key: key]?.intValue }
    func float(_ key: String) -> Float? { metadata[key: key]?.doubleValue.map { Float($0) } }

    /// A required size.
    func need(_ key: String) throws(KilnError) -> Int {
        guard let v = int(key), v > 0 else { throw KilnError(.notFound, "missing or invalid \(key)", file: file) }
        guard v <= Self.maxSize else { throw KilnError(.invalid, "\(key) = \(v) is impossibly large", file: file) }
        return v
    }

    /// An optional size: absent is nil, present must be positive (a zero head count or size would divide by zero).
    func positive(_ key: String) throws(KilnError) -> Int? {
        guard let v = int(key) else { return nil }
        guard v > 0, v <= Self.maxSize else { throw KilnError(.invalid, "\(key) = \(v) must be in 1...\(Self.maxSize)", file: file) }
        return v
    }

    /// An optional float that must be finite and positive when present (a soft-cap divides by it).
    func positiveFloat(_ key: String) throws(KilnError) -> Float? {
        guard let v = float(key) else { return nil }
        guard v.isFinite, v > 0 else { throw KilnError(.invalid, "\(key) = \(v) must be a positive finite number", file: file) }
        return v
    }

    /// `embedding_length`, `attention.head_count` and the head size (`attention.key_length`, default n_embd / n_head).
    func widths() throws(KilnError) -> (embedding: Int, heads: Int, headDim: Int) {
        let nEmbd = try need(keys.embeddingLength)
        let nHead = try need(keys.headCount)
        guard nEmbd >= nHead else {
            throw KilnError(.invalid, "\(keys.embeddingLength) \(nEmbd) is smaller than \(keys.headCount) \(nHead)", file: file)
        }
        return (nEmbd, nHead, try positive(keys.keyLength) ?? nEmbd / nHead)
    }

    /// Linear RoPE frequency scale: 1 / `rope.scaling.factor`, 1 when absent or not positive.
    var ropeScale: Float {
        let factor = float(keys.ropeScalingFactor) ?? 0
        return factor > 0 ? 1 / factor : 1
    }

    /// Throws unless the query heads are a whole multiple of the KV heads.
    func checkGrouping(_ c: GemmaConfig) throws(KilnError) {
        guard c.headCount % c.headCountKV == 0 else {
            throw KilnError(.invalid, "\(keys.headCount) \(c.headCount) is not a multiple of \(keys.headCountKV) \(c.headCountKV)", file: file)
        }
    }
}
