import Foundation
import GGUFWriter
import KilnCore
import QuantCore
import Tokenizers

/// Gemma 3 (text decoder; 270M, 1B, 4B, 12B, 27B and smaller test configs), from Kaggle Orbax/Flax FLAT checkpoints
/// or Hugging Face safetensors, to llama.cpp's `gemma3` GGUF.
///
/// Sources: gemma `_modules.py`/`_gemma.py` (Flax names, shapes, size table), llama.cpp `conversion/gemma.py` and
/// `llama-model.cpp` (GGUF names, shapes, keys); see shared/docs/gemma3-kaggle-int4.md §2, §5–7.
public struct Gemma3: Architecture {
    public static let name = "gemma3"

    /// The checkpoint naming scheme the tensors came in.
    public enum Layout: String, Sendable { case flax, huggingFace }

    /// Hyper-parameters derived from shapes, plus the values config.json (HF) or the size table (Flax) adds.
    public struct Config: Sendable, Equatable {
        public var layers: Int
        public var embedding: Int
        public var heads: Int
        public var kvHeads: Int
        public var headDim: Int
        public var feedForward: Int
        /// Rows of the output token embedding (the tokenizer's size).
        public var vocabulary: Int
        public var hasVision: Bool
        public var contextLength: Int
        public var slidingWindow: Int
        public var ropeFreqBase: Float = 1_000_000
        /// Linear RoPE scaling of global layers (4B and up), nil when unscaled.
        public var ropeScalingFactor: Float?
        public var rmsEpsilon: Float = 1e-6
        public var sizeLabel: String
        /// RoPE base of the sliding-window layers when the checkpoint states one (HF config.json), else nil.
        public var ropeFreqBaseLocal: Float?
        /// `final_logit_softcapping` when the checkpoint states one (HF config.json), else nil.
        public var finalLogitSoftcap: Float?
    }

    public let layout: Layout
    public let config: Config
    private let names: Names

    /// Known sizes: (layers, embedding) → (label, context, sliding window, RoPE scaling).
    static let sizeTable: [(layers: Int, embedding: Int, label: String, context: Int, window: Int, scaling: Float?)] = [
        (18, 640, "270M", 32768, 512, nil),
        (26, 1152, "1B", 32768, 512, nil),
        (34, 2560, "4B", 131072, 1024, 8),
        (48, 3840, "12B", 131072, 1024, 8),
        (62, 5376, "27B", 131072, 1024, 8),
    ]

    public static func recognizes(_ source: any TensorSource) -> Bool {
        Names.detect(source) != nil
    }

    public static func vocabulary(tokenizerModel path: String) throws -> GGUFVocabulary {
        let model = try SentencePieceModel(path: path)
        do throws(KilnError) {
            return try GGUFVocabulary(sentencePiece: model)
        } catch {
            throw error.inFile(path)
        }
    }

    public func tokenizerMetadata(_ vocabulary: GGUFVocabulary) -> [GGUFMetadataEntry] {
        vocabulary.ggufMetadata(chatTemplate: GemmaChatTemplate.gemma3)
    }

    /// `vocabularySize` (the tokenizer's token count) trims padded embedding rows, as llama.cpp's converter does.
    public init(source: any TensorSource, vocabularySize: Int?) throws {
        guard let names = Names.detect(source) else {
            throw KilnError(.unsupported, "not a Gemma 3 checkpoint (no embedding and layer-0 attention tensors)", file: source.path)
        }
        self.names = names
        layout = names.layout
        func shape(_ name: String) throws -> [Int] { try source.tensor(named: name).shape }
        func expect(_ name: String, _ s: [Int], _ want: [Int]) throws {
            guard s == want else {
                throw KilnError(.invalid, "shape \(s) does not fit Gemma 3 (expected \(want))", file: source.path, tensor: name)
            }
        }

        var layers = 0
        while source.tensors.contains(where: { $0.name == names.layerNorm(layers, .preAttention) }) { layers += 1 }
        guard layers > 0 else { throw KilnError(.notFound, "no transformer layers found", file: source.path, tensor: names.layerNorm(0, .preAttention)) }

        let emb = try shape(names.embedding)
        guard emb.count == 2 else { throw KilnError(.invalid, "embedding must be 2-D, found \(emb)", file: source.path, tensor: names.embedding) }
        let d = emb[1]
        let vocab = vocabularySize ?? emb[0]
        guard vocab <= emb[0] else {
            throw KilnError(.invalid, "the tokenizer has \(vocab) tokens but the embedding only \(emb[0]) rows", file: source.path, tensor: names.embedding)
        }
        let headDim = try shape(names.attnNorm(0, query: true)).first ?? 0
        let (heads, kvHeads, ff): (Int, Int, Int)
        switch layout {
        case .flax:
            let q = try shape(names.flaxQ(0))
            guard q.count == 3, q[1] == d, q[2] == headDim else {
                throw KilnError(.invalid, "q_einsum shape \(q) does not fit (N, \(d), \(headDim))", file: source.path, tensor: names.flaxQ(0))
            }
            heads = q[0]
            let kv = try shape(names.flaxKV(0))
            guard kv.count == 4, kv[0] == 2, kv[2] == d, kv[3] == headDim else {
                throw KilnError(.invalid, "kv_einsum shape \(kv) does not fit (2, K, \(d), \(headDim))", file: source.path, tensor: names.flaxKV(0))
            }
            kvHeads = kv[1]
            let gating = try shape(names.flaxGating(0))
            guard gating.count == 3, gating[0] == 2, gating[2] == d else {
                throw KilnError(.invalid, "gating_einsum shape \(gating) does not fit (2, F, \(d))", file: source.path, tensor: names.flaxGating(0))
            }
            ff = gating[1]
        case .huggingFace:
            let q = try shape(names.hf(0, "self_attn.q_proj.weight"))
            let k = try shape(names.hf(0, "self_attn.k_proj.weight"))
            let gate = try shape(names.hf(0, "mlp.gate_proj.weight"))
            guard headDim > 0, q.count == 2, q[1] == d, q[0] % headDim == 0, k.count == 2, k[0] % headDim == 0, gate.count == 2 else {
                throw KilnError(.invalid, "attention shapes q \(q), k \(k) do not fit head dim \(headDim)", file: source.path, tensor: names.hf(0, "self_attn.q_proj.weight"))
            }
            heads = q[0] / headDim
            kvHeads = k[0] / headDim
            ff = gate[0]
        }
        guard heads > 0, kvHeads > 0, heads % kvHeads == 0 else {
            throw KilnError(.invalid, "\(heads) query heads cannot share \(kvHeads) KV heads", file: source.path)
        }
        let hasVision = source.tensors.contains { names.isVision($0.name) }
        let known = Gemma3.sizeTable.first { $0.layers == layers && $0.embedding == d }
        // Unknown (test-sized) configs follow the 1B rules without a vision tower and the 4B rules with one.
        let label = known?.label ?? Gemma3.parameterLabel(layers: layers, d: d, heads: heads, kvHeads: kvHeads, headDim: headDim, ff: ff, vocab: vocab)
        var c = Config(layers: layers, embedding: d, heads: heads, kvHeads: kvHeads, headDim: headDim, feedForward: ff,
                       vocabulary: vocab, hasVision: hasVision,
                       contextLength: known?.context ?? (hasVision ? 131072 : 32768),
                       slidingWindow: known?.window ?? (hasVision ? 1024 : 512),
                       ropeScalingFactor: known.map { $0.scaling } ?? (hasVision ? 8 : nil),
                       sizeLabel: label)
        // HF checkpoints: config.json is the authority (as for llama.cpp's converter); the size table above only
        // stands in when there is no config.json.
        if layout == .huggingFace,
           let hf = try HFTextConfig.read(directory: FileIdentity.isDirectory(source.path) ? source.path : (source.path as NSString).deletingLastPathComponent) {
            c.contextLength = hf.contextLength
            c.slidingWindow = hf.slidingWindow
            c.ropeFreqBase = hf.ropeFreqBase
            c.ropeScalingFactor = hf.ropeScalingFactor
            c.rmsEpsilon = hf.rmsEpsilon
            c.ropeFreqBaseLocal = hf.ropeFreqBaseLocal
            c.finalLogitSoftcap = hf.finalLogitSoftcap
        }
        config = c

        // Every tensor the model needs must be there with exactly the shape the config implies.
        for t in outputTensors {
            let s = try shape(t.source)
            if let want = t.sourceShape, s != want {
                throw KilnError(.invalid, "shape \(s) does not fit Gemma 3 \(config.sizeLabel) (expected \(want) for \(t.name))",
                                file: source.path, tensor: t.source)
            }
        }
    }

    static func parameterLabel(layers: Int, d: Int, heads: Int, kvHeads: Int, headDim: Int, ff: Int, vocab: Int) -> String {
        let perLayer = d * headDim * (2 * heads + 2 * kvHeads) + 3 * d * ff
        let total = Double(layers * perLayer + vocab * d)
        if total >= 1e9 { return "\(Int((total / 1e9).rounded()))B" }
        if total >= 1e6 { return "\(Int((total / 1e6).rounded()))M" }
        return "\(Int((total / 1e3).rounded()))K"
    }

    public var quantModelInfo: QuantModelInfo {
        QuantModelInfo(architecture: Gemma3.name, layerCount: config.layers, headCount: config.heads, headCountKV: config.kvHeads)
    }

    public var summary: String {
        let c = config
        return "gemma3 \(c.sizeLabel): \(c.layers) layers, d=\(c.embedding), heads \(c.heads)/\(c.kvHeads) kv × \(c.headDim), ffn \(c.feedForward), vocab \(c.vocabulary)"
            + (c.hasVision ? ", vision tower" : "") + " (\(layout == .flax ? "Flax" : "HF") names)"
    }

    public var outputTensors: [OutputTensor] {
        let c = config
        let n = names
        var out: [OutputTensor] = [
            OutputTensor(name: GGUFTensorName.outputNorm, ne: [c.embedding], source: n.finalNorm, transform: .plusOne, role: .norm,
                         sourceShape: [c.embedding]),
            OutputTensor(name: GGUFTensorName.tokenEmbedding, ne: [c.embedding, c.vocabulary], source: n.embedding,
                         transform: .leadingRows(c.vocabulary), role: .embedding),
        ]
        let qRows = c.heads * c.headDim, kvRows = c.kvHeads * c.headDim
        for i in 0 ..< c.layers {
            let b = GGUFTensorName.block(i)
            typealias B = GGUFTensorName.Block
            func norm(_ name: String, _ src: String, _ len: Int) -> OutputTensor {
                OutputTensor(name: b + name, ne: [len], source: src, transform: .plusOne, role: .norm, sourceShape: [len])
            }
            func w(_ name: String, _ ne: [Int], _ src: String, _ tr: TensorTransform, _ shape: [Int]) -> OutputTensor {
                OutputTensor(name: b + name, ne: ne, source: src, transform: tr, role: .weight, sourceShape: shape)
            }
            let (d, h, f) = (c.embedding, c.headDim, c.feedForward)
            out.append(norm(B.attnNorm, n.layerNorm(i, .preAttention), d))
            out.append(norm(B.attnQNorm, n.attnNorm(i, query: true), h))
            out.append(norm(B.attnKNorm, n.attnNorm(i, query: false), h))
            out.append(norm(B.postAttentionNorm, n.layerNorm(i, .postAttention), d))
            out.append(norm(B.ffnNorm, n.layerNorm(i, .preFFW), d))
            out.append(norm(B.postFFWNorm, n.layerNorm(i, .postFFW), d))
            switch layout {
            case .flax:
                out.append(w(B.attnQ, [d, qRows], n.flaxQ(i), .headsMajor(select: nil), [c.heads, d, h]))
                out.append(w(B.attnK, [d, kvRows], n.flaxKV(i), .headsMajor(select: 0), [2, c.kvHeads, d, h]))
                out.append(w(B.attnV, [d, kvRows], n.flaxKV(i), .headsMajor(select: 1), [2, c.kvHeads, d, h]))
                out.append(w(B.attnOutput, [qRows, d], n.flaxO(i), .transpose, [c.heads, h, d]))
                out.append(w(B.ffnGate, [d, f], n.flaxGating(i), .copy(select: 0), [2, f, d]))
                out.append(w(B.ffnUp, [d, f], n.flaxGating(i), .copy(select: 1), [2, f, d]))
                out.append(w(B.ffnDown, [f, d], n.flaxDown(i), .transpose, [f, d]))
            case .huggingFace:
                out.append(w(B.attnQ, [d, qRows], n.hf(i, "self_attn.q_proj.weight"), .copy(select: nil), [qRows, d]))
                out.append(w(B.attnK, [d, kvRows], n.hf(i, "self_attn.k_proj.weight"), .copy(select: nil), [kvRows, d]))
                out.append(w(B.attnV, [d, kvRows], n.hf(i, "self_attn.v_proj.weight"), .copy(select: nil), [kvRows, d]))
                out.append(w(B.attnOutput, [qRows, d], n.hf(i, "self_attn.o_proj.weight"), .copy(select: nil), [d, qRows]))
                out.append(w(B.ffnGate, [d, f], n.hf(i, "mlp.gate_proj.weight"), .copy(select: nil), [f, d]))
                out.append(w(B.ffnUp, [d, f], n.hf(i, "mlp.up_proj.weight"), .copy(select: nil), [f, d]))
                out.append(w(B.ffnDown, [f, d], n.hf(i, "mlp.down_proj.weight"), .copy(select: nil), [d, f]))
            }
        }
        return TensorOrder.sorted(out, name: \.name)
    }

    public func metadata(modelName: String) -> [GGUFMetadataEntry] {
        let c = config
        let k = GGUFKey.Model(Gemma3.name)
        var m: [GGUFMetadataEntry] = [
            .init(GGUFKey.architecture, .string(Gemma3.name)),
            .init(GGUFKey.type, .string("model")),
            .init(GGUFKey.name, .string(modelName)),
            .init(GGUFKey.basename, .string("gemma-3")),
            .init(GGUFKey.sizeLabel, .string(c.sizeLabel)),
            .init(k.contextLength, .uint32(UInt32(c.contextLength))),
            .init(k.embeddingLength, .uint32(UInt32(c.embedding))),
            .init(k.blockCount, .uint32(UInt32(c.layers))),
            .init(k.feedForwardLength, .uint32(UInt32(c.feedForward))),
            .init(k.headCount, .uint32(UInt32(c.heads))),
            .init(k.layerNormRMSEpsilon, .float32(c.rmsEpsilon)),
            .init(k.keyLength, .uint32(UInt32(c.headDim))),
            .init(k.valueLength, .uint32(UInt32(c.headDim))),
            .init(k.ropeFreqBase, .float32(c.ropeFreqBase)),
            .init(k.slidingWindow, .uint32(UInt32(c.slidingWindow))),
            .init(k.headCountKV, .uint32(UInt32(c.kvHeads))),
        ]
        if let f = c.ropeScalingFactor {
            m.append(.init(k.ropeScalingType, .string("linear")))
            m.append(.init(k.ropeScalingFactor, .float32(f)))
        }
        if let b = c.ropeFreqBaseLocal { m.append(.init("gemma3.rope.freq_base_swa", .float32(b))) }
        if let s = c.finalLogitSoftcap { m.append(.init("gemma3.final_logit_softcapping", .float32(s))) }
        return m
    }
}

extension Gemma3 {
    /// Source tensor names for both checkpoint layouts; the only place Flax and HF names are spelled.
    struct Names: Sendable {
        enum LayerNorm { case preAttention, postAttention, preFFW, postFFW }

        let layout: Layout
        /// HF prefix of the text model ("model.", "language_model.model." or "model.language_model.").
        let hfPrefix: String

        static let flaxEmbedding = "transformer/embedder.input_embedding"

        static func detect(_ source: any TensorSource) -> Names? {
            let all = Set(source.tensors.map(\.name))
            if all.contains(flaxEmbedding), all.contains("transformer/layer_0/attn/q_einsum.w") {
                return Names(layout: .flax, hfPrefix: "")
            }
            for p in ["model.", "language_model.model.", "model.language_model."]
            where all.contains(p + "embed_tokens.weight") && all.contains(p + "layers.0.self_attn.q_proj.weight") {
                return Names(layout: .huggingFace, hfPrefix: p)
            }
            return nil
        }

        var embedding: String { layout == .flax ? Names.flaxEmbedding : hfPrefix + "embed_tokens.weight" }
        var finalNorm: String { layout == .flax ? "transformer/final_norm.scale" : hfPrefix + "norm.weight" }

        func layerNorm(_ i: Int, _ kind: LayerNorm) -> String {
            switch (layout, kind) {
            case (.flax, .preAttention): "transformer/layer_\(i)/pre_attention_norm.scale"
            case (.flax, .postAttention): "transformer/layer_\(i)/post_attention_norm.scale"
            case (.flax, .preFFW): "transformer/layer_\(i)/pre_ffw_norm.scale"
            case (.flax, .postFFW): "transformer/layer_\(i)/post_ffw_norm.scale"
            case (.huggingFace, .preAttention): hf(i, "input_layernorm.weight")
            case (.huggingFace, .postAttention): hf(i, "post_attention_layernorm.weight")
            case (.huggingFace, .preFFW): hf(i, "pre_feedforward_layernorm.weight")
            case (.huggingFace, .postFFW): hf(i, "post_feedforward_layernorm.weight")
            }
        }

        func attnNorm(_ i: Int, query: Bool) -> String {
            layout == .flax ? "transformer/layer_\(i)/attn/\(query ? "_query_norm" : "_key_norm").scale"
                : hf(i, "self_attn.\(query ? "q_norm" : "k_norm").weight")
        }

        func flaxQ(_ i: Int) -> String { "transformer/layer_\(i)/attn/q_einsum.w" }
        func flaxKV(_ i: Int) -> String { "transformer/layer_\(i)/attn/kv_einsum.w" }
        func flaxO(_ i: Int) -> String { "transformer/layer_\(i)/attn/attn_vec_einsum.w" }
        func flaxGating(_ i: Int) -> String { "transformer/layer_\(i)/mlp/gating_einsum.w" }
        func flaxDown(_ i: Int) -> String { "transformer/layer_\(i)/mlp/linear.w" }
        func hf(_ i: Int, _ suffix: String) -> String { "\(hfPrefix)layers.\(i).\(suffix)" }

        func isVision(_ name: String) -> Bool {
            name.hasPrefix("SigLiPFromPatches_0/") || name.hasPrefix("vision_tower.") || name.hasPrefix("model.vision_tower.")
        }
    }
}
