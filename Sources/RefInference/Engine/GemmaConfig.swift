import GGUFWriter
import KilnCore

/// The hyperparameters of a Gemma text decoder (Gemma 1, 2 or 3), as llama.cpp reads them from GGUF metadata
/// (`<arch>.*`; each family's reader is in `Families/`). Everything that differs between families or between layers
/// is a value here, so the layer code of the engine and of the float path is shared.
public struct GemmaConfig: Sendable, Equatable {
    /// `general.architecture` of the family (`gemma3`, `gemma2`).
    public var architecture: String
    public var embeddingLength: Int
    public var layerCount: Int
    public var feedForwardLength: Int
    public var headCount: Int
    public var headCountKV: Int
    /// Per-head dimension of Q and K (`attention.key_length`, default n_embd / n_head).
    public var headDim: Int
    /// Per-head dimension of V (`attention.value_length`, default headDim).
    public var valueDim: Int
    public var rmsEpsilon: Float
    /// RoPE base of the global layers (`rope.freq_base`, default 10 000).
    public var ropeBaseGlobal: Float
    /// RoPE base of the sliding-window layers (`rope.freq_base_swa`, default 10 000).
    public var ropeBaseLocal: Float
    /// Linear RoPE frequency scale of the global layers (1 / `rope.scaling.factor`, 1 when absent).
    public var ropeScaleGlobal: Float
    /// Linear RoPE frequency scale of the sliding-window layers (Gemma 3: 1; Gemma 2: the global scale).
    public var ropeScaleLocal: Float
    /// Sliding window (0: none, every layer is global).
    public var slidingWindow: Int
    /// Every `slidingWindowPattern`-th layer (1-based) is global (`attention.sliding_window_pattern`, default 6).
    public var slidingWindowPattern: Int
    /// Multiplier of q before q·kᵀ (1/sqrt(head_dim); 27B: 1/sqrt(n_embd/n_head)).
    public var attentionScale: Float
    /// `final_logit_softcapping` (nil: none).
    public var finalLogitSoftcap: Float?
    /// `attn_logit_softcapping`: attention scores become `tanh(s / cap) · cap` before the softmax (nil: none; Gemma 2).
    public var attentionLogitSoftcap: Float?
    /// Whether each layer RMS-normalizes every query and key head (`attn_q_norm`, `attn_k_norm`; Gemma 3, not Gemma 2).
    public var queryKeyNorm: Bool
    /// Whether each layer RMS-normalizes the attention and feed-forward outputs before adding them to the residual
    /// (`post_attention_norm`, `post_ffw_norm`; Gemma 2 and 3, not Gemma 1).
    public var postNorms: Bool
    public var vocabularySize: Int
    /// `context_length` from training.
    public var trainedContext: Int

    public init(embeddingLength: Int, layerCount: Int, feedForwardLength: Int, headCount: Int, headCountKV: Int,
                headDim: Int, valueDim: Int? = nil, rmsEpsilon: Float = 1e-6, ropeBaseGlobal: Float = 1_000_000,
                ropeBaseLocal: Float = 10_000, ropeScaleGlobal: Float = 1, ropeScaleLocal: Float = 1,
                slidingWindow: Int = 512, slidingWindowPattern: Int = 6, attentionScale: Float? = nil,
                finalLogitSoftcap: Float? = nil, attentionLogitSoftcap: Float? = nil, queryKeyNorm: Bool = true,
                postNorms: Bool = true, vocabularySize: Int, trainedContext: Int = 32768, architecture: String = GemmaConfig.architecture) {
        self.architecture = architecture
        self.embeddingLength = embeddingLength
        self.layerCount = layerCount
        self.feedForwardLength = feedForwardLength
        self.headCount = headCount
        self.headCountKV = headCountKV
        self.headDim = headDim
        self.valueDim = valueDim ?? headDim
        self.rmsEpsilon = rmsEpsilon
        self.ropeBaseGlobal = ropeBaseGlobal
        self.ropeBaseLocal = ropeBaseLocal
        self.ropeScaleGlobal = ropeScaleGlobal
        self.ropeScaleLocal = ropeScaleLocal
        self.slidingWindow = slidingWindow
        self.slidingWindowPattern = slidingWindowPattern
        self.attentionScale = attentionScale ?? 1 / Float(headDim).squareRoot()
        self.finalLogitSoftcap = finalLogitSoftcap
        self.attentionLogitSoftcap = attentionLogitSoftcap
        self.queryKeyNorm = queryKeyNorm
        self.postNorms = postNorms
        self.vocabularySize = vocabularySize
        self.trainedContext = trainedContext
    }

    /// The `general.architecture` of the family `init(metadata:)` assumes when a file names none (Gemma 3, the family
    /// Kiln converts by default). The families the engine runs are listed in `ModelFamilies`.
    public static let architecture = Gemma3Family.architecture

    /// Reads the `<arch>.*` keys of the family named by `general.architecture` (`ModelFamilies`; Gemma 3 when the
    /// key is absent); an architecture no family runs is an error listing the supported ones. `vocabularySize` comes
    /// from the token list or the embedding tensor, whichever the caller knows.
    public init(metadata: [GGUFMetadataEntry], vocabularySize: Int, file: String? = nil) throws(KilnError) {
        let arch = metadata[key: GGUFKey.architecture]?.stringValue ?? Self.architecture
        let family = try ModelFamilies.family(for: arch, file: file)
        self = try family.config(metadata: metadata, vocabularySize: vocabularySize, file: file)
    }

    /// Whether layer `i` uses sliding-window attention (llama.cpp: `il % pattern < pattern - 1`).
    public func isSliding(layer i: Int) -> Bool {
        slidingWindow > 0 && i % slidingWindowPattern < slidingWindowPattern - 1
    }

    /// RoPE base and linear frequency scale of layer `i`.
    public func rope(layer i: Int) -> (base: Float, scale: Float) {
        isSliding(layer: i) ? (ropeBaseLocal, ropeScaleLocal) : (ropeBaseGlobal, ropeScaleGlobal)
    }
}
