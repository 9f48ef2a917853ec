import Foundation
import KilnCore

extension Gemma3 {
    /// The text hyper-parameters of an HF checkpoint, from its `config.json` — the authority for HF checkpoints, as it
    /// is for llama.cpp's `convert_hf_to_gguf.py`. That converter reads `config.json` through transformers' `AutoConfig`,
    /// so a key the file leaves out takes `Gemma3TextConfig`'s default (transformers' `save_pretrained` writes only
    /// the values that differ from those defaults); Kiln does the same. The text part is `text_config` for
    /// `Gemma3ForConditionalGeneration` checkpoints and the top level for `Gemma3ForCausalLM`.
    ///
    /// Sources: transformers `models/gemma3/configuration_gemma3.py` (defaults), llama.cpp `conversion/base.py`
    /// (`TextModel.__init__`'s `rope_parameters`, `set_gguf_parameters`) and `conversion/gemma.py`
    /// (`Gemma3Model.set_gguf_parameters`). Flax checkpoints carry no config; the size table serves them.
    struct HFTextConfig: Equatable {
        var contextLength = 131_072
        var slidingWindow = 4096
        var ropeFreqBase: Float = 1_000_000
        /// `rope.freq_base_swa`: only when config.json states the local base (see `read`).
        var ropeFreqBaseLocal: Float?
        var ropeScalingFactor: Float?
        var rmsEpsilon: Float = 1e-6
        var finalLogitSoftcap: Float?

        /// Nil when the directory holds no `config.json` (then the size table's rules apply, as for Flax).
        ///
        /// `rope_local_base_freq` is written only when config.json states it: llama.cpp's converter also writes
        /// transformers' default (10 000) when the file omits it, but llama.cpp's loader uses that same 10 000 for
        /// Gemma 3 when the key is absent (`llama-hparams.h` `rope_freq_base_train_swa`), and omitting it keeps the
        /// HF route byte-identical to the Flax route, which has no config to state it.
        static func read(directory: String) throws(KilnError) -> HFTextConfig? {
            guard let file = try HFConfigFile.open(directory: directory) else { return nil }
            let (root, path) = (file.root, file.path)
            let text: [String: Any]
            if let t = root["text_config"] as? [String: Any] {
                text = t
            } else if root["model_type"] as? String == "gemma3" {
                text = [:]  // Gemma3Config without text_config: every text value is the default
            } else {
                text = root
            }
            let number = file.number
            func positive(_ key: String) throws(KilnError) -> Int? { try file.positive(text, key) }
            var c = HFTextConfig()
            if let v = try positive("max_position_embeddings") { c.contextLength = v }
            if let v = try positive("sliding_window") { c.slidingWindow = v }
            if let v = number(text, "rms_norm_eps") { c.rmsEpsilon = v.floatValue }
            if let v = number(text, "final_logit_softcapping"), v.doubleValue != 0 { c.finalLogitSoftcap = v.floatValue }
            if let v = number(text, "attn_logit_softcapping"), v.doubleValue != 0 {
                // llama.cpp's converter asserts it is absent: Gemma 3 has no attention soft-capping.
                throw KilnError(.unsupported, "attn_logit_softcapping = \(v): Gemma 3 has no attention soft-capping", file: path)
            }
            if let v = number(text, "rope_theta") { c.ropeFreqBase = v.floatValue }
            if let v = number(text, "rope_local_base_freq") { c.ropeFreqBaseLocal = v.floatValue }
            // transformers ≥ 5 states RoPE as `rope_parameters` ({full_attention: {...}, sliding_attention: {...}}
            // or one flat dict); earlier versions as `rope_scaling` (llama.cpp reads either).
            var scaling = text["rope_scaling"] as? [String: Any]
            if let p = text["rope_parameters"] as? [String: Any] {
                let full = p["full_attention"] as? [String: Any] ?? p
                scaling = full
                if let v = number(full, "rope_theta") { c.ropeFreqBase = v.floatValue }
                if let local = p["sliding_attention"] as? [String: Any], let v = number(local, "rope_theta") { c.ropeFreqBaseLocal = v.floatValue }
            }
            if let s = scaling {
                let kind = (s["rope_type"] ?? s["type"]) as? String ?? "default"
                switch kind {
                case "default":
                    break
                case "linear":
                    guard let f = number(s, "factor"), f.doubleValue > 0 else {
                        throw KilnError(.invalid, "linear RoPE scaling without a positive factor", file: path)
                    }
                    c.ropeScalingFactor = f.floatValue
                default:
                    throw KilnError(.unsupported, "RoPE scaling type '\(kind)' is not supported for Gemma 3 (linear only)", file: path)
                }
            }
            return c
        }
    }
}
