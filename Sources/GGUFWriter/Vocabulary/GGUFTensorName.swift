/// GGUF tensor names llama.cpp loads: the one place Kiln spells them, as gguf-py's `constants.py`
/// (`TENSOR_NAMES`, `MODEL_TENSOR`) spells them for llama.cpp's converters. Names carry the `.weight`/`.bias` suffix.
public enum GGUFTensorName {
    public static let tokenEmbedding = "token_embd.weight"
    public static let outputNorm = "output_norm.weight"
    public static let output = "output.weight"

    /// The `blk.N.` prefix of a text-model layer's tensors.
    public static let blockPrefix = "blk."
    public static func block(_ n: Int) -> String { "\(blockPrefix)\(n)." }

    /// Names inside a `blk.N.` layer (append to `block(n)`).
    public enum Block {
        public static let attnNorm = "attn_norm.weight"
        public static let attnQ = "attn_q.weight"
        public static let attnK = "attn_k.weight"
        public static let attnV = "attn_v.weight"
        public static let attnQNorm = "attn_q_norm.weight"
        public static let attnKNorm = "attn_k_norm.weight"
        public static let attnOutput = "attn_output.weight"
        public static let postAttentionNorm = "post_attention_norm.weight"
        public static let ffnNorm = "ffn_norm.weight"
        public static let ffnGate = "ffn_gate.weight"
        public static let ffnUp = "ffn_up.weight"
        public static let ffnDown = "ffn_down.weight"
        public static let postFFWNorm = "post_ffw_norm.weight"
    }

    /// The mmproj (clip) names: `v.*` vision encoder, `mm.*` projector (gguf-py `V_*` / `V_MM_*` tensors).
    public enum Vision {
        public static let mmInputProjection = "mm.input_projection.weight"
        public static let mmSoftEmbeddingNorm = "mm.soft_emb_norm.weight"
        public static let patchEmbedding = "v.patch_embd.weight"
        public static let patchEmbeddingBias = "v.patch_embd.bias"
        public static let positionEmbedding = "v.position_embd.weight"
        public static let postNorm = "v.post_ln.weight"
        public static let postNormBias = "v.post_ln.bias"

        /// The `v.blk.N.` prefix of an encoder block's tensors.
        public static let blockPrefix = "v.blk."
        public static func block(_ n: Int) -> String { "\(blockPrefix)\(n)." }

        /// Stems inside a `v.blk.N.` block; add ".weight" or ".bias".
        public enum Block {
            public static let ln1 = "ln1"
            public static let ln2 = "ln2"
            public static let attnQ = "attn_q"
            public static let attnK = "attn_k"
            public static let attnV = "attn_v"
            public static let attnOutput = "attn_out"
            public static let ffnUp = "ffn_up"
            public static let ffnDown = "ffn_down"
        }
    }
}
