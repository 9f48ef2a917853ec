/// GGUF metadata key names: the one place Kiln spells them, as gguf-py's `constants.py` (`class Keys`) is the one
/// vocabulary of llama.cpp's Python side. Values are copied from that file.
public enum GGUFKey {
    // Keys.General
    public static let architecture = "general.architecture"
    public static let quantizationVersion = "general.quantization_version"
    public static let alignment = "general.alignment"
    public static let fileType = "general.file_type"
    public static let type = "general.type"
    public static let name = "general.name"
    public static let basename = "general.basename"
    public static let sizeLabel = "general.size_label"

    /// `<arch>.*` keys (Keys.LLM, Keys.Attention, Keys.Rope), templated on the architecture name as gguf-py's
    /// `"{arch}.context_length"` are.
    public struct Model: Sendable, Hashable {
        public let architecture: String
        public init(_ architecture: String) { self.architecture = architecture }

        func key(_ suffix: String) -> String { "\(architecture).\(suffix)" }
        public var contextLength: String { key("context_length") }
        public var embeddingLength: String { key("embedding_length") }
        public var blockCount: String { key("block_count") }
        public var feedForwardLength: String { key("feed_forward_length") }
        public var expertCount: String { key("expert_count") }
        public var finalLogitSoftcapping: String { key("final_logit_softcapping") }
        /// Gemma 2's tanh cap on attention scores (gguf-py `LLM_KV_ATTN_LOGIT_SOFTCAPPING`).
        public var attentionLogitSoftcapping: String { key("attn_logit_softcapping") }
        public var headCount: String { key("attention.head_count") }
        public var headCountKV: String { key("attention.head_count_kv") }
        public var keyLength: String { key("attention.key_length") }
        public var valueLength: String { key("attention.value_length") }
        public var layerNormRMSEpsilon: String { key("attention.layer_norm_rms_epsilon") }
        public var slidingWindow: String { key("attention.sliding_window") }
        public var slidingWindowPattern: String { key("attention.sliding_window_pattern") }
        public var ropeFreqBase: String { key("rope.freq_base") }
        public var ropeFreqBaseSWA: String { key("rope.freq_base_swa") }
        public var ropeScalingType: String { key("rope.scaling.type") }
        public var ropeScalingFactor: String { key("rope.scaling.factor") }
    }

    /// Keys.Tokenizer.
    public enum Tokenizer {
        public static let model = "tokenizer.ggml.model"
        public static let pre = "tokenizer.ggml.pre"
        public static let tokens = "tokenizer.ggml.tokens"
        public static let scores = "tokenizer.ggml.scores"
        public static let tokenType = "tokenizer.ggml.token_type"
        public static let bosID = "tokenizer.ggml.bos_token_id"
        public static let eosID = "tokenizer.ggml.eos_token_id"
        public static let unknownID = "tokenizer.ggml.unknown_token_id"
        public static let paddingID = "tokenizer.ggml.padding_token_id"
        public static let addBOS = "tokenizer.ggml.add_bos_token"
        public static let addSEP = "tokenizer.ggml.add_sep_token"
        public static let addEOS = "tokenizer.ggml.add_eos_token"
        /// End-of-turn id (gguf-py `Keys.Tokenizer.EOT_ID`; llama.cpp's `GemmaModel` writes 107).
        public static let eotID = "tokenizer.ggml.eot_token_id"
        public static let addSpacePrefix = "tokenizer.ggml.add_space_prefix"
        public static let chatTemplate = "tokenizer.chat_template"
    }

    /// Keys.Clip / Keys.ClipVision: the mmproj (`general.architecture = clip`) keys.
    public enum Clip {
        public static let architecture = "clip"
        public static let hasVisionEncoder = "clip.has_vision_encoder"
        public static let projectorType = "clip.projector_type"
        public static let useGELU = "clip.use_gelu"

        public enum Vision {
            public static let projectionDim = "clip.vision.projection_dim"
            public static let imageSize = "clip.vision.image_size"
            public static let patchSize = "clip.vision.patch_size"
            public static let embeddingLength = "clip.vision.embedding_length"
            public static let feedForwardLength = "clip.vision.feed_forward_length"
            public static let blockCount = "clip.vision.block_count"
            public static let headCount = "clip.vision.attention.head_count"
            public static let imageMean = "clip.vision.image_mean"
            public static let imageStd = "clip.vision.image_std"
            public static let layerNormEpsilon = "clip.vision.attention.layer_norm_epsilon"
            public static let projectorScaleFactor = "clip.vision.projector.scale_factor"
        }
    }
}

/// `GGML_QUANT_VERSION` (gguf-py constants.py, ggml.h), written to `general.quantization_version`.
public let ggmlQuantizationVersion: UInt32 = 2
