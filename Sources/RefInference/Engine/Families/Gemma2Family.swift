import GGUFWriter
import KilnCore

/// Gemma 2 text decoders (llama.cpp `LLM_ARCH_GEMMA2`, `src/models/gemma2.cpp`, `llama_model_gemma2::load_arch_hparams`):
/// - no q/k norms (the tensors are Gemma 3's minus `attn_q_norm`/`attn_k_norm`); pre and post norms around attention
///   and the feed-forward block, embedding × sqrt(n_embd), tied output, as Gemma 3;
/// - attention scores soft-capped, `tanh(s / cap) · cap` on the scaled q·k before the mask and softmax
///   (`attn_logit_softcapping`, llama.cpp's default 50 when absent), in float32 (llama.cpp `build_attn_mha`);
/// - the final logits soft-capped (`final_logit_softcapping`, default 30; llama.cpp always applies it for gemma2);
/// - sliding-window attention on alternating layers: `load_swa_pattern(ml, 2)`, so layer i slides when `i % 2 == 0`
///   (`attention.sliding_window_pattern` may override 2), window `attention.sliding_window` (default 4096);
/// - one RoPE for every layer: the local layers take the global base and scale (`rope.freq_base`, default 10 000)
///   unless `rope.freq_base_swa` is set;
/// - q × 1/sqrt(head_dim), except the 27B (46 layers, `LLM_TYPE_27B`): 1/sqrt(n_embd / n_head);
/// - `attention.layer_norm_rms_epsilon` is required, as llama.cpp requires it.
/// A zero, negative or non-finite soft-cap or window (which would divide by zero or mask every key in llama.cpp) is an
/// error naming the key.
public enum Gemma2Family: ModelFamily {
    public static let architecture = "gemma2"

    public static func config(metadata: [GGUFMetadataEntry], vocabularySize: Int, file: String?) throws(KilnError) -> GemmaConfig {
        let r = HyperparameterReader(metadata, architecture: architecture, file: file), k = r.keys
        let (nEmbd, nHead, headDim) = try r.widths()
        let layers = try r.need(k.blockCount)
        guard let eps = try r.positiveFloat(k.layerNormRMSEpsilon) else {
            throw KilnError(.notFound, "missing \(k.layerNormRMSEpsilon)", file: file)
        }
        let window = try r.positive(k.slidingWindow) ?? 4096
        let pattern = try r.positive(k.slidingWindowPattern) ?? 2
        let base = try r.positiveFloat(k.ropeFreqBase) ?? 10_000
        let scale: Float = layers == 46 ? 1 / (Float(nEmbd / nHead)).squareRoot() : 1 / Float(headDim).squareRoot()
        let c = GemmaConfig(embeddingLength: nEmbd, layerCount: layers, feedForwardLength: try r.need(k.feedForwardLength),
                            headCount: nHead, headCountKV: try r.positive(k.headCountKV) ?? nHead, headDim: headDim,
                            valueDim: try r.positive(k.valueLength), rmsEpsilon: eps,
                            ropeBaseGlobal: base, ropeBaseLocal: try r.positiveFloat(k.ropeFreqBaseSWA) ?? base,
                            ropeScaleGlobal: r.ropeScale, ropeScaleLocal: r.ropeScale,
                            slidingWindow: window, slidingWindowPattern: pattern, attentionScale: scale,
                            finalLogitSoftcap: try r.positiveFloat(k.finalLogitSoftcapping) ?? 30,
                            attentionLogitSoftcap: try r.positiveFloat(k.attentionLogitSoftcapping) ?? 50,
                            queryKeyNorm: false, vocabularySize: vocabularySize,
                            trainedContext: r.int(k.contextLength) ?? 8192, architecture: architecture)
        try r.checkGrouping(c)
        return c
    }
}
