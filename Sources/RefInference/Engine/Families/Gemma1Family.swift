import GGUFWriter
import KilnCore

/// Gemma 1 and CodeGemma text decoders (llama.cpp `LLM_ARCH_GEMMA`, `src/models/gemma.cpp`,
/// `llama_model_gemma::load_arch_hparams`):
/// - only a pre-attention norm (`attn_norm`) and a pre-FFW norm (`ffn_norm`) per layer: no post-attention or
///   post-FFW norms, no q/k norms; embedding × sqrt(n_embd), tied output, gated tanh-GELU feed-forward, as Gemma 2/3;
/// - no soft-caps and no sliding window: every layer attends to every earlier position;
/// - one RoPE for every layer (`rope.freq_base`, default 10 000; linear scale from `rope.scaling.factor`);
/// - q × 1/sqrt(head_dim) (`attention.key_length`, default n_embd / n_head);
/// - `attention.layer_norm_rms_epsilon` is required, as llama.cpp requires it.
/// The reference forward pass is gemma-llm 1.0.0's `transformer.Transformer` (Google DeepMind's Gemma 1 library).
public enum Gemma1Family: ModelFamily {
    public static let architecture = "gemma"

    public static func config(metadata: [GGUFMetadataEntry], vocabularySize: Int, file: String?) throws(KilnError) -> GemmaConfig {
        let r = HyperparameterReader(metadata, architecture: architecture, file: file), k = r.keys
        let (nEmbd, nHead, headDim) = try r.widths()
        guard let eps = try r.positiveFloat(k.layerNormRMSEpsilon) else {
            throw KilnError(.notFound, "missing \(k.layerNormRMSEpsilon)", file: file)
        }
        let base = try r.positiveFloat(k.ropeFreqBase) ?? 10_000
        let c = GemmaConfig(embeddingLength: nEmbd, layerCount: try r.need(k.blockCount), feedForwardLength: try r.need(k.feedForwardLength),
                            headCount: nHead, headCountKV: try r.positive(k.headCountKV) ?? nHead, headDim: headDim,
                            valueDim: try r.positive(k.valueLength), rmsEpsilon: eps,
                            ropeBaseGlobal: base, ropeBaseLocal: base, ropeScaleGlobal: r.ropeScale, ropeScaleLocal: r.ropeScale,
                            slidingWindow: 0, attentionScale: 1 / Float(headDim).squareRoot(),
                            queryKeyNorm: false, postNorms: false, vocabularySize: vocabularySize,
                            trainedContext: r.int(k.contextLength) ?? 8192, architecture: architecture)
        try r.checkGrouping(c)
        return c
    }
}
