import GGUFWriter
import KilnCore

/// Gemma 3 text decoders (llama.cpp `LLM_ARCH_GEMMA3`, `src/models/gemma3.cpp`): per-head q/k RMSNorm; sliding-window
/// attention on five of every six layers (`attention.sliding_window_pattern`, default 6: layer i is global when
/// `i % 6 == 5`), the local layers with RoPE base `rope.freq_base_swa` (10 000) and no scaling, the global ones with
/// `rope.freq_base` and linear `rope.scaling.factor`; no attention soft-cap; a final soft-cap only when the file sets
/// one; q × 1/sqrt(head_dim), except the 27B (62 layers): 1/sqrt(n_embd / n_head).
public enum Gemma3Family: ModelFamily {
    public static let architecture = "gemma3"

    public static func config(metadata: [GGUFMetadataEntry], vocabularySize: Int, file: String?) throws(KilnError) -> GemmaConfig {
        let r = HyperparameterReader(metadata, architecture: architecture, file: file), k = r.keys
        let (nEmbd, nHead, headDim) = try r.widths()
        var pattern = 6
        if let p = r.int(k.slidingWindowPattern), p > 0 { pattern = p }
        let layers = try r.need(k.blockCount)
        // llama.cpp: LLM_TYPE_27B ⇔ 62 layers for gemma3; its attention scale uses n_embd / n_head.
        let scale: Float = layers == 62 ? 1 / (Float(nEmbd / nHead)).squareRoot() : 1 / Float(headDim).squareRoot()
        let softcap = r.float(k.finalLogitSoftcapping)
        let c = GemmaConfig(embeddingLength: nEmbd, layerCount: layers, feedForwardLength: try r.need(k.feedForwardLength),
                            headCount: nHead, headCountKV: try r.positive(k.headCountKV) ?? nHead, headDim: headDim,
                            valueDim: try r.positive(k.valueLength),
                            rmsEpsilon: r.float(k.layerNormRMSEpsilon) ?? 1e-6,
                            ropeBaseGlobal: r.float(k.ropeFreqBase) ?? 10_000, ropeBaseLocal: r.float(k.ropeFreqBaseSWA) ?? 10_000,
                            ropeScaleGlobal: r.ropeScale, ropeScaleLocal: 1, slidingWindow: r.int(k.slidingWindow) ?? 0,
                            slidingWindowPattern: pattern, attentionScale: scale,
                            finalLogitSoftcap: (softcap ?? 0) != 0 ? softcap : nil, attentionLogitSoftcap: nil,
                            queryKeyNorm: true, vocabularySize: vocabularySize, trainedContext: r.int(k.contextLength) ?? 8192,
                            architecture: architecture)
        try r.checkGrouping(c)
        return c
    }
}
