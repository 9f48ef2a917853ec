import GGUFWriter
import KilnCore

/// The hyperparameters of a Gemma 3 text decoder, as llama.cpp reads them from GGUF metadata (`gemma3.*`).
public struct GemmaConfig: Sendable, Equatable {
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
    /// Sliding window (0: none, every layer is global).
    public var slidingWindow: Int
    /// Every `slidingWindowPattern`-th layer (1-based) is global (`attention.sliding_window_pattern`, default 6).
    public var slidingWindowPattern: Int
    /// Multiplier of q before q·kᵀ (1/sqrt(head_dim); 27B: 1/sqrt(n_embd/n_head)).
    public var attentionScale: Float
    /// `final_logit_softcapping` (nil: none).
    public var finalLogitSoftcap: Float?
    public var vocabularySize: Int
    /// `context_length` from training.
    public var trainedContext: Int

    public init(embeddingLength: Int, layerCount: Int, feedForwardLength: Int, headCount: Int, headCountKV: Int,
                headDim: Int, valueDim: Int? = nil, rmsEpsilon: Float = 1e-6, ropeBaseGlobal: Float = 1_000_000,
                ropeBaseLocal: Float = 10_000, ropeScaleGlobal: Float = 1, slidingWindow: Int = 512,
                slidingWindowPattern: Int = 6, attentionScale: Float? = nil, finalLogitSoftcap: Float? = nil,
                vocabularySize: Int, trainedContext: Int = 32768) {
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
        self.slidingWindow = slidingWindow
        self.slidingWindowPattern = slidingWindowPattern
        self.attentionScale = attentionScale ?? 1 / Float(headDim).squareRoot()
        self.finalLogitSoftcap = finalLogitSoftcap
        self.vocabularySize = vocabularySize
        self.trainedContext = trainedContext
    }

    /// The `general.architecture` this engine runs (llama.cpp's `LLM_ARCH_GEMMA3` name).
    public static let architecture = "gemma3"

    /// Reads `gemma3.*` keys (architecture must be gemma3). `vocabularySize` comes from the token list or the
    /// embedding tensor, whichever the caller knows.
    public init(metadata: [GGUFMetadataEntry], vocabularySize: Int, file: String? = nil) throws(KilnError) {
        let arch = metadata[key: GGUFKey.architecture]?.stringValue ?? Self.architecture
        guard arch == Self.architecture else {
            throw KilnError(.unsupported, "architecture '\(arch)' is not gemma3", file: file)
        }
        let k = GGUFKey.Model(Self.architecture)
        func int(_ key: String) -> Int? { metadata[key: key]?.intValue }
        func float(_ key: String) -> Float? { metadata[key: key]?.doubleValue.map { Float($0) } }
        func need(_ key: String) throws(KilnError) -> Int {
            guard let v = int(key), v > 0 else { throw KilnError(.notFound, "missing or invalid \(key)", file: file) }
            return v
        }
        let nEmbd = try need(k.embeddingLength)
        let nHead = try need(k.headCount)
        let headDim = int(k.keyLength) ?? nEmbd / nHead
        var pattern = 6
        if let p = int(k.slidingWindowPattern), p > 0 { pattern = p }
        let factor = float(k.ropeScalingFactor) ?? 0
        let layers = try need(k.blockCount)
        // llama.cpp: LLM_TYPE_27B ⇔ 62 layers for gemma3; its attention scale uses n_embd / n_head.
        let scale: Float = layers == 62 ? 1 / (Float(nEmbd / nHead)).squareRoot() : 1 / Float(headDim).squareRoot()
        let softcap = float(k.finalLogitSoftcapping)
        self.init(embeddingLength: nEmbd, layerCount: layers, feedForwardLength: try need(k.feedForwardLength),
                  headCount: nHead, headCountKV: int(k.headCountKV) ?? nHead, headDim: headDim,
                  valueDim: int(k.valueLength),
                  rmsEpsilon: float(k.layerNormRMSEpsilon) ?? 1e-6,
                  ropeBaseGlobal: float(k.ropeFreqBase) ?? 10_000, ropeBaseLocal: float(k.ropeFreqBaseSWA) ?? 10_000,
                  ropeScaleGlobal: factor > 0 ? 1 / factor : 1, slidingWindow: int(k.slidingWindow) ?? 0,
                  slidingWindowPattern: pattern, attentionScale: scale,
                  finalLogitSoftcap: (softcap ?? 0) != 0 ? softcap : nil,
                  vocabularySize: vocabularySize, trainedContext: int(k.contextLength) ?? 8192)
        guard headCount % headCountKV == 0 else {
            throw KilnError(.invalid, "head_count \(headCount) is not a multiple of head_count_kv \(headCountKV)", file: file)
        }
    }

    /// Whether layer `i` uses sliding-window attention (llama.cpp: `il % pattern < pattern - 1`).
    public func isSliding(layer i: Int) -> Bool {
        slidingWindow > 0 && i % slidingWindowPattern < slidingWindowPattern - 1
    }

    /// RoPE base and linear frequency scale of layer `i`.
    public func rope(layer i: Int) -> (base: Float, scale: Float) {
        isSliding(layer: i) ? (ropeBaseLocal, 1) : (ropeBaseGlobal, ropeScaleGlobal)
    }
}
