import GGUFWriter
import KilnCore

/// The model hyper-parameters that llama.cpp's per-tensor type choice looks at.
public struct QuantModelInfo: Sendable, Hashable {
    /// `general.architecture` ("gemma3", "llama", "falcon", ...).
    public var architecture: String
    /// `<arch>.block_count`.
    public var layerCount: Int
    public var headCount: Int
    public var headCountKV: Int
    /// `<arch>.expert_count` (0 for dense models).
    public var expertCount: Int

    public init(architecture: String, layerCount: Int, headCount: Int, headCountKV: Int, expertCount: Int = 0) {
        self.architecture = architecture
        self.layerCount = layerCount
        self.headCount = headCount
        self.headCountKV = headCountKV
        self.expertCount = expertCount
    }

    /// `hparams.n_gqa()`: query heads per KV head (0 when there are no KV heads).
    var gqa: Int { headCountKV == 0 ? 0 : headCount / headCountKV }
    /// llama.cpp's `LLM_TYPE_70B` test, the only model-size rule in the type choice.
    var is70B: Bool { architecture == "llama" && layerCount == 80 && headCount != headCountKV }
    var isFalcon: Bool { architecture == "falcon" }
}

/// One tensor to place: its GGUF name, ggml shape (`ne[0]` is the row length) and its type in the source.
public struct QuantTensor: Sendable, Hashable {
    public var name: String
    public var ne: [Int]
    public var sourceType: GGMLType

    public init(name: String, ne: [Int], sourceType: GGMLType) {
        self.name = name
        self.ne = ne
        self.sourceType = sourceType
    }
}

/// A llama-quantize type mix ("Q4_K_M", "Q8_0", ...): its `general.file_type` and the per-tensor types
/// llama.cpp's `llama_tensor_get_type` chooses (no importance matrix), plus `--tensor-type PATTERN=TYPE` overrides.
public struct QuantMix: Sendable, Hashable {
    /// Canonical preset name, e.g. "Q4_K_M".
    public let name: String
    /// The `llama_ftype` written to `general.file_type`.
    public let fileType: UInt32
    /// The type most tensors get before the mix rules (`llama_ftype_get_default_type`).
    public let defaultType: GGMLType
    /// `--tensor-type` overrides, tried in order.
    public var overrides: [TensorTypeOverride] = []
    /// `--token-embedding-type`.
    public var tokenEmbeddingType: GGMLType?
    /// `--output-tensor-type`.
    public var outputTensorType: GGMLType?
    /// `--pure`: no mix rules, every quantizable tensor gets the default type (shape fallbacks still apply).
    public var pure = false
    /// `--leave-output-tensor` sets this to false.
    public var quantizeOutputTensor = true

    private init(_ name: String, _ fileType: LlamaFileType, _ defaultType: GGMLType) {
        self.name = name
        self.fileType = fileType.rawValue
        self.defaultType = defaultType
    }

    private static let presets: [QuantMix] = [
        QuantMix("F32", .allF32, .f32), QuantMix("F16", .mostlyF16, .f16), QuantMix("BF16", .mostlyBF16, .bf16),
        QuantMix("Q4_0", .mostlyQ4_0, .q4_0), QuantMix("Q4_1", .mostlyQ4_1, .q4_1),
        QuantMix("Q5_0", .mostlyQ5_0, .q5_0), QuantMix("Q5_1", .mostlyQ5_1, .q5_1),
        QuantMix("Q8_0", .mostlyQ8_0, .q8_0), QuantMix("Q2_K", .mostlyQ2_K, .q2_K),
        QuantMix("Q3_K_S", .mostlyQ3_K_S, .q3_K), QuantMix("Q3_K_M", .mostlyQ3_K_M, .q3_K),
        QuantMix("Q3_K_L", .mostlyQ3_K_L, .q3_K),
        QuantMix("Q4_K_S", .mostlyQ4_K_S, .q4_K), QuantMix("Q4_K_M", .mostlyQ4_K_M, .q4_K),
        QuantMix("Q5_K_S", .mostlyQ5_K_S, .q5_K), QuantMix("Q5_K_M", .mostlyQ5_K_M, .q5_K),
        QuantMix("Q6_K", .mostlyQ6_K, .q6_K),
    ]
    private static let aliases = ["Q3_K": "Q3_K_M", "Q4_K": "Q4_K_M", "Q5_K": "Q5_K_M"]

    /// Names `preset(named:)` accepts (llama-quantize's spellings; "Q3_K"/"Q4_K"/"Q5_K" are aliases of the _M mixes).
    public static var presetNames: [String] { presets.map(\.name) }

    /// The preset with this llama-quantize name (case-insensitive), or nil.
    public static func preset(named name: String) -> QuantMix? {
        let upper = name.uppercased()
        let canonical = aliases[upper] ?? upper
        return presets.first { $0.name == canonical }
    }

    /// The preset for a `general.file_type` value, or nil.
    public static func preset(fileType: UInt32) -> QuantMix? { presets.first { $0.fileType == fileType } }

    /// Adds a `PATTERN=TYPE` override (TYPE is a ggml type name such as q8_0 or Q6_K).
    public mutating func addOverride(_ spec: String) throws(KilnError) {
        overrides.append(try TensorTypeOverride(parsing: spec))
    }

    /// The type of every tensor, in the order given, as llama-quantize would choose it.
    /// Counters (attn_v / ffn_down indices) advance in llama.cpp's processing order, so pass the whole model.
    /// Tensors that are not quantized (norms, 1-D tensors, ...) keep their source type.
    public func types(for tensors: [QuantTensor], model: QuantModelInfo) throws(KilnError) -> [GGMLType] {
        let compiled = try TensorTypeOverride.compile(overrides)
        var state = State()
        state.nAttentionV = tensors.reduce(0) { $0 + (Self.category($1.name).isAttnV ? 1 : 0) }
        state.tiedEmbeddings = !tensors.contains { $0.name == GGUFTensorName.output }
        var result = tensors.map(\.sourceType)
        for index in TensorOrder.indices(tensors.map(\.name)) {
            result[index] = try type(for: tensors[index], model: model, state: &state, overrides: compiled)
        }
        return result
    }

    /// The type of one tensor, for models with one attn_v and one ffn_down per layer (then the counters llama.cpp
    /// keeps equal the layer number, and this agrees with `types(for:model:)`). `tiedEmbeddings`: no output.weight.
    public func type(for name: String, ne: [Int], sourceType: GGMLType = .f32, model: QuantModelInfo,
                     tiedEmbeddings: Bool) throws(KilnError) -> GGMLType {
        let compiled = try TensorTypeOverride.compile(overrides)
        let layer = TensorOrder.layer(of: name) ?? 0
        var state = State()
        state.nAttentionV = model.layerCount
        state.tiedEmbeddings = tiedEmbeddings
        state.iAttentionV = layer
        state.iFFNDown = layer
        state.iFFNGate = layer
        state.iFFNUp = layer
        return try type(for: QuantTensor(name: name, ne: ne, sourceType: sourceType), model: model, state: &state,
                        overrides: compiled)
    }

    // MARK: - llama.cpp's rules

    private struct State {
        var nAttentionV = 0
        var iAttentionV = 0
        var iFFNDown = 0
        var iFFNGate = 0
        var iFFNUp = 0
        var tiedEmbeddings = true
    }

    enum Category {
        case tokenEmbd, attnQ, attnV, attnK, attnQKV, attnKVB, attnOutput, ffnUp, ffnGate, ffnDown, output, other
        var isAttnV: Bool { self == .attnV || self == .attnQKV || self == .attnKVB }
    }

    static func category(_ name: String) -> Category {
        if name == GGUFTensorName.output { return .output }
        if name == GGUFTensorName.tokenEmbedding || name == "per_layer_token_embd.weight" { return .tokenEmbd }
        if name.contains("attn_qkv.weight") { return .attnQKV }
        if name.contains("attn_kv_b.weight") { return .attnKVB }
        if name.contains("attn_v.weight") { return .attnV }
        if name.contains("attn_k.weight") { return .attnK }
        if name.contains("attn_q.weight") { return .attnQ }
        if name.contains("attn_output.weight") { return .attnOutput }
        if name.contains("ffn_up") { return .ffnUp }
        if name.contains("ffn_gate") { return .ffnGate }
        if name.contains("ffn_down") { return .ffnDown }
        return .other
    }

    /// `tensor_allows_quantization`: 2-D+ tensors named "*weight" except norms and a list of small special tensors.
    func allowsQuantization(_ t: QuantTensor) -> Bool {
        var dims = t.ne.count
        while dims > 1 && t.ne[dims - 1] == 1 { dims -= 1 }
        guard dims >= 2 else { return false }
        let name = t.name
        guard name.hasSuffix("weight"), !name.contains("_norm.weight") else { return false }
        if !quantizeOutputTensor && name == GGUFTensorName.output { return false }
        if name == "position_embd.weight" || name == "token_types.weight" { return false }
        let excluded = [
            "ffn_gate_inp.weight", "ffn_gate_tid2eid.weight", "altup", "laurel", "per_layer_model_proj",
            "ssm_conv1d", "shortconv.conv.weight", "indexer.k_proj.weight", "indexer.q_proj.weight",
            "time_mix_first.weight", "time_mix_w0.weight", "time_mix_w1.weight", "time_mix_w2.weight",
            "time_mix_v0.weight", "time_mix_v1.weight", "time_mix_v2.weight", "time_mix_a0.weight",
            "time_mix_a1.weight", "time_mix_a2.weight", "time_mix_g1.weight", "time_mix_g2.weight",
            "time_mix_decay_w1.weight", "time_mix_decay_w2.weight", "time_mix_lerp_fused.weight",
            "attn_rel_b.weight", ".position_embd", "sam.pos_embd", "sam.neck.", "sam.net_", ".rel_pos",
            ".patch_embd", ".patch_merger", "a.rvq.codebook", "mm.a.code_embd",
        ]
        return !excluded.contains { name.contains($0) }
    }

    private func type(for t: QuantTensor, model: QuantModelInfo, state: inout State,
                      overrides: TensorTypeOverride.Compiled) throws(KilnError) -> GGMLType {
        guard allowsQuantization(t) else { return t.sourceType }
        let cat = Self.category(t.name)
        if let tokenEmbeddingType, cat == .tokenEmbd { return tokenEmbeddingType }
        if let outputTensorType, cat == .output { return outputTensorType }
        var newType = defaultType
        guard defaultType.isQuantized else { return newType }
        var manual = false
        if let type = overrides.type(for: t.name) {
            newType = type
            manual = true
        }
        if !manual && !pure {
            newType = mixRule(newType, t, cat, model, &state)
        }
        return try Self.shapeFallback(newType, rowLength: t.ne.first ?? 0, tensor: t.name)
    }

    /// `tensor_type_fallback`: a type whose block does not divide the row length is replaced.
    public static func shapeFallback(_ type: GGMLType, rowLength: Int, tensor: String) throws(KilnError) -> GGMLType {
        guard rowLength % type.blockSize != 0 else { return type }
        let fallback: GGMLType
        switch type {
        case .iq1_s, .iq1_m, .iq2_xxs, .iq2_xs, .iq2_s, .iq3_xxs, .iq3_s, .iq4_xs: fallback = .iq4_nl
        case .q2_K, .q3_K, .tq1_0, .tq2_0: fallback = .q4_0
        case .q4_K: fallback = .q5_0
        case .q5_K: fallback = .q5_1
        case .q6_K: fallback = .q8_0
        default:
            throw KilnError(.unsupported, "no fallback type for \(type.name) with rows of \(rowLength)", tensor: tensor)
        }
        return rowLength % fallback.blockSize == 0 ? fallback : .f16
    }

    private static func useMoreBits(_ i: Int, _ n: Int) -> Bool {
        i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2
    }

    /// `llama_tensor_get_type_impl` for the non-IQ file types.
    private func mixRule(_ start: GGMLType, _ t: QuantTensor, _ cat: Category, _ model: QuantModelInfo,
                         _ s: inout State) -> GGMLType {
        var newType = start
        let ft = name
        func layer(_ counter: Int) -> (Int, Int) {
            if model.expertCount > 1, let l = TensorOrder.layer(of: t.name) { return (l, model.layerCount) }
            return (counter, model.layerCount)
        }
        if cat == .output || (s.tiedEmbeddings && cat == .tokenEmbd) {
            if let outputTensorType {
                newType = outputTensorType
            } else if model.isFalcon || (t.ne.first ?? 0) % newType.blockSize != 0 {
                newType = .q8_0
            } else if newType != .q8_0 {
                newType = .q6_K
            }
        } else if cat == .tokenEmbd {
            // only IQ/TQ file types change untied token embeddings
        } else if cat.isAttnV {
            if ft == "Q2_K" {
                newType = model.gqa >= 4 ? .q4_K : .q3_K
            } else if ft == "Q3_K_M" {
                newType = s.iAttentionV < 2 ? .q5_K : .q4_K
            } else if ft == "Q3_K_L" {
                newType = .q5_K
            } else if (ft == "Q4_K_M" || ft == "Q5_K_M") && Self.useMoreBits(s.iAttentionV, s.nAttentionV) {
                newType = .q6_K
            } else if ft == "Q4_K_S" && s.iAttentionV < 4 {
                newType = .q5_K
            }
            if model.is70B && (newType == .q3_K || newType == .q4_K) { newType = .q5_K }
            if model.expertCount == 8 { newType = .q8_0 }
            s.iAttentionV += 1
        } else if cat == .attnK {
            if model.expertCount == 8 { newType = .q8_0 }
        } else if cat == .ffnDown {
            let (i, n) = layer(s.iFFNDown)
            if ft == "Q2_K" {
                newType = .q3_K
            } else if ft == "Q3_K_M" {
                newType = i < n / 16 ? .q5_K : (!model.isFalcon || Self.useMoreBits(i, n)) ? .q4_K : .q3_K
            } else if ft == "Q3_K_L" {
                newType = model.isFalcon ? .q4_K : .q5_K
            } else if ft == "Q4_K_M" {
                if model.isFalcon {
                    newType = i < n / 16 ? .q6_K : Self.useMoreBits(i, n) ? .q5_K : .q4_K
                } else if Self.useMoreBits(i, n) {
                    newType = .q6_K
                }
            } else if ft == "Q5_K_M" && Self.useMoreBits(i, n) {
                newType = .q6_K
            } else if ft == "Q4_K_S" && !model.isFalcon && i < n / 8 {
                newType = .q5_K
            }
            s.iFFNDown += 1
        } else if cat == .attnOutput {
            if !model.isFalcon {
                if model.expertCount == 8 {
                    if ["Q2_K", "Q3_K_S", "Q3_K_M", "Q4_K_S", "Q4_K_M"].contains(ft) { newType = .q5_K }
                } else if ft == "Q2_K" {
                    newType = .q3_K
                } else if ft == "Q3_K_M" {
                    newType = .q4_K
                } else if ft == "Q3_K_L" {
                    newType = .q5_K
                }
            } else if ft == "Q3_K_L" {
                newType = .q4_K
            }
        } else if cat == .attnQKV {
            if ft == "Q3_K_M" || ft == "Q3_K_L" {
                newType = .q4_K
            } else if ft == "Q4_K_M" {
                newType = .q5_K
            } else if ft == "Q5_K_M" {
                newType = .q6_K
            }
        } else if cat == .ffnGate {
            s.iFFNGate += 1
        } else if cat == .ffnUp {
            s.iFFNUp += 1
        }
        return newType
    }
}
