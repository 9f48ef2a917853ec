import Foundation
import GGUFWriter
import KilnCore
import QuantCore
import Tokenizers

/// The checkpoint naming scheme a Gemma text decoder's tensors came in.
public enum GemmaCheckpointLayout: String, Sendable { case flax, huggingFace }

/// What the Gemma 1, 2 and 3 text decoders share, in one place: their Flax and HF tensor names, the shapes derived
/// from them, the GGUF tensors they become (Gemma 3 adds the per-head query/key norms), the SentencePiece vocabulary
/// and the parameter-count label. Each family file (`Gemma2.swift`, `Gemma3.swift`) adds only what differs: its
/// recognition rule, size table, hyper-parameters and metadata (`Gemma1.swift` too).
///
/// Sources: gemma `_modules.py` (Flax names and shapes, both `gating_einsum` orders), transformers
/// `modeling_gemma2.py`/`modeling_gemma3.py` (HF names), llama.cpp `conversion/gemma.py` (GGUF names, `+1` on norms).
enum GemmaText {
    /// Shapes of a Gemma text decoder, derived from its tensors.
    struct Shape: Sendable, Equatable {
        var layers: Int
        var embedding: Int
        var heads: Int
        var kvHeads: Int
        var headDim: Int
        var feedForward: Int
        /// Rows of the output token embedding (the tokenizer's size).
        var vocabulary: Int
        /// Flax `gating_einsum` stored `(2, D, F)` (`transpose_gating_einsum=False`, the Gemma 2 2B release) rather
        /// than `(2, F, D)` (Gemma 2 9B/27B, every Gemma 3).
        var gatingInputMajor = false
        /// Flax attention in one `qkv_einsum` of shape `(3, N, D, H)` (Gemma 1 7B, which has as many KV heads as query
        /// heads) rather than `q_einsum` + `kv_einsum`.
        var fusedQKV = false

        /// Derives the shapes. `headDim`, when the family knows it from another tensor (Gemma 3's query norm) or from
        /// config.json (HF Gemma 2), is checked against the Flax query einsum; otherwise the einsum gives it. An HF
        /// checkpoint needs it (its projections fuse heads). `family` names the model in errors ("Gemma 2").
        init(source: any TensorSource, names: Names, vocabularySize: Int?, headDim hint: Int?, family: String) throws {
            func shape(_ name: String) throws -> [Int] { try source.tensor(named: name).shape }
            // The layer count is the highest layer index any tensor names, plus one; every layer below it must then be
            // complete (checkSourceShapes), so a missing tensor is an error, never a model cut short at that layer.
            var top = -1
            for t in source.tensors {
                guard let i = names.layerIndex(t.name) else { continue }
                guard i < source.tensors.count else {
                    throw KilnError(.invalid, "layer index \(i) but only \(source.tensors.count) tensors", file: source.path, tensor: t.name)
                }
                top = max(top, i)
            }
            guard top >= 0 else { throw KilnError(.notFound, "no transformer layers found", file: source.path, tensor: names.layerNorm(0, .preAttention)) }
            layers = top + 1

            let emb = try shape(names.embedding)
            guard emb.count == 2 else { throw KilnError(.invalid, "embedding must be 2-D, found \(emb)", file: source.path, tensor: names.embedding) }
            let d = emb[1]
            embedding = d
            vocabulary = vocabularySize ?? emb[0]
            guard vocabulary <= emb[0] else {
                throw KilnError(.invalid, "the tokenizer has \(vocabulary) tokens but the embedding only \(emb[0]) rows", file: source.path, tensor: names.embedding)
            }
            /// The FFN width and whether the gating is `(2, D, F)`, from layer 0's `gating_einsum`.
            func flaxFFN() throws -> (width: Int, inputMajor: Bool) {
                let gating = try shape(names.flaxGating(0))
                guard gating.count == 3, gating[0] == 2, gating[1] == d || gating[2] == d else {
                    throw KilnError(.invalid, "gating_einsum shape \(gating) does not fit (2, F, \(d)) or (2, \(d), F)", file: source.path, tensor: names.flaxGating(0))
                }
                // (2, D, F) only when the last axis is not D: the orders coincide only if F = D, which no Gemma has.
                return gating[2] != d ? (gating[2], true) : (gating[1], false)
            }
            switch names.layout {
            case .flax where names.fusedQKV:
                let qkv = try shape(names.flaxQKV(0))
                let h = hint ?? (qkv.count == 4 ? qkv[3] : 0)
                guard qkv.count == 4, qkv[0] == 3, qkv[2] == d, qkv[3] == h else {
                    throw KilnError(.invalid, "qkv_einsum shape \(qkv) does not fit (3, N, \(d), \(h))", file: source.path, tensor: names.flaxQKV(0))
                }
                fusedQKV = true
                headDim = h
                heads = qkv[1]
                kvHeads = qkv[1]
                (feedForward, gatingInputMajor) = try flaxFFN()
            case .flax:
                let q = try shape(names.flaxQ(0))
                let h = hint ?? (q.count == 3 ? q[2] : 0)
                guard q.count == 3, q[1] == d, q[2] == h else {
                    throw KilnError(.invalid, "q_einsum shape \(q) does not fit (N, \(d), \(h))", file: source.path, tensor: names.flaxQ(0))
                }
                headDim = h
                heads = q[0]
                let kv = try shape(names.flaxKV(0))
                guard kv.count == 4, kv[0] == 2, kv[2] == d, kv[3] == h else {
                    throw KilnError(.invalid, "kv_einsum shape \(kv) does not fit (2, K, \(d), \(h))", file: source.path, tensor: names.flaxKV(0))
                }
                kvHeads = kv[1]
                (feedForward, gatingInputMajor) = try flaxFFN()
            case .huggingFace:
                let q = try shape(names.hf(0, "self_attn.q_proj.weight"))
                let k = try shape(names.hf(0, "self_attn.k_proj.weight"))
                let gate = try shape(names.hf(0, "mlp.gate_proj.weight"))
                let h = hint ?? 0
                guard h > 0, q.count == 2, q[1] == d, q[0] % h == 0, k.count == 2, k[0] % h == 0, gate.count == 2 else {
                    throw KilnError(.invalid, "attention shapes q \(q), k \(k) do not fit head dim \(h)", file: source.path, tensor: names.hf(0, "self_attn.q_proj.weight"))
                }
                headDim = h
                heads = q[0] / h
                kvHeads = k[0] / h
                feedForward = gate[0]
            }
            try Checked.modelDimensions(["layers": layers, "embedding width": d, "vocabulary": vocabulary, "head size": headDim,
                                         "heads": heads, "KV heads": kvHeads, "feed-forward width": feedForward], file: source.path)
            guard heads > 0, kvHeads > 0, heads % kvHeads == 0 else {
                throw KilnError(.invalid, "\(heads) query heads cannot share \(kvHeads) KV heads", file: source.path)
            }
        }

        /// The conversion summary's description of the shapes: "gemma2 174K: 4 layers, d=64, heads 2/1 kv × 32, ...".
        func summary(architecture: String, sizeLabel: String) -> String {
            "\(architecture) \(sizeLabel): \(layers) layers, d=\(embedding), heads \(heads)/\(kvHeads) kv × \(headDim), ffn \(feedForward), vocab \(vocabulary)"
        }

        /// What llama-quantize's per-tensor rules need to know about the model.
        func quantModelInfo(architecture: String) -> QuantModelInfo {
            QuantModelInfo(architecture: architecture, layerCount: layers, headCount: heads, headCountKV: kvHeads)
        }

        /// A size label from the weight matrices' and embedding's parameter count ("1B", "3M", "95K") for sizes no
        /// table names: Gemma 3's rule, pinned by the tiny Gemma 3 goldens' file digests. (llama.cpp counts every
        /// tensor and keeps two digits: `sizeLabel(parameters:)`, Gemma 2's rule.)
        var parameterLabel: String {
            let perLayer = embedding * headDim * (2 * heads + 2 * kvHeads) + 3 * embedding * feedForward
            let total = Double(layers * perLayer + vocabulary * embedding)
            if total >= 1e9 { return "\(Int((total / 1e9).rounded()))B" }
            if total >= 1e6 { return "\(Int((total / 1e6).rounded()))M" }
            return "\(Int((total / 1e3).rounded()))K"
        }
    }

    /// gguf-py's `size_label` for a model of `parameters` values (`model_weight_count_rounded_notation` with two
    /// significant digits: "174K", "2.6B"), as llama.cpp's converter writes `general.size_label` when the model's
    /// name states no size. Python rounds halves to even, as `.toNearestOrEven` and `%f` do.
    static func sizeLabel(parameters n: Int) -> String {
        let x = Double(n)
        let (scaled, suffix): (Double, String) = x > 1e12 ? (x * 1e-12, "T") : x > 1e9 ? (x * 1e-9, "B") : x > 1e6 ? (x * 1e-6, "M") : (x * 1e-3, "K")
        let digits = String(Int(scaled.rounded(.toNearestOrEven))).drop { $0 == "0" }.count
        return String(format: "%.\(max(2 - digits, 0))f", scaled) + suffix
    }

    /// The GGUF text tensors of a Gemma 1/2/3 decoder, in llama.cpp's order. `queryKeyNorms`: Gemma 3's per-head
    /// `attn_q_norm`/`attn_k_norm` (Gemma 2 has none). `postNorms`: Gemma 2/3's post-attention and post-FFW norms;
    /// without them (Gemma 1) the layer has only `attn_norm` and `ffn_norm`, and HF names the latter
    /// `post_attention_layernorm` (transformers `modeling_gemma.py`; llama.cpp `GemmaModel` maps it to `ffn_norm`).
    static func outputTensors(_ c: Shape, names n: Names, queryKeyNorms: Bool, postNorms: Bool = true) -> [OutputTensor] {
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
            if queryKeyNorms {
                out.append(norm(B.attnQNorm, n.attnNorm(i, query: true), h))
                out.append(norm(B.attnKNorm, n.attnNorm(i, query: false), h))
            }
            if postNorms {
                out.append(norm(B.postAttentionNorm, n.layerNorm(i, .postAttention), d))
                out.append(norm(B.ffnNorm, n.layerNorm(i, .preFFW), d))
                out.append(norm(B.postFFWNorm, n.layerNorm(i, .postFFW), d))
            } else {
                out.append(norm(B.ffnNorm, n.layout == .flax ? n.layerNorm(i, .preFFW) : n.layerNorm(i, .postAttention), d))
            }
            switch n.layout {
            case .flax where c.fusedQKV:
                let qkv = [3, c.heads, d, h]
                out.append(w(B.attnQ, [d, qRows], n.flaxQKV(i), .headsMajor(select: 0), qkv))
                out.append(w(B.attnK, [d, kvRows], n.flaxQKV(i), .headsMajor(select: 1), qkv))
                out.append(w(B.attnV, [d, kvRows], n.flaxQKV(i), .headsMajor(select: 2), qkv))
            case .flax:
                out.append(w(B.attnQ, [d, qRows], n.flaxQ(i), .headsMajor(select: nil), [c.heads, d, h]))
                out.append(w(B.attnK, [d, kvRows], n.flaxKV(i), .headsMajor(select: 0), [2, c.kvHeads, d, h]))
                out.append(w(B.attnV, [d, kvRows], n.flaxKV(i), .headsMajor(select: 1), [2, c.kvHeads, d, h]))
            case .huggingFace:
                out.append(w(B.attnQ, [d, qRows], n.hf(i, "self_attn.q_proj.weight"), .copy(select: nil), [qRows, d]))
                out.append(w(B.attnK, [d, kvRows], n.hf(i, "self_attn.k_proj.weight"), .copy(select: nil), [kvRows, d]))
                out.append(w(B.attnV, [d, kvRows], n.hf(i, "self_attn.v_proj.weight"), .copy(select: nil), [kvRows, d]))
            }
            switch n.layout {
            case .flax:
                out.append(w(B.attnOutput, [qRows, d], n.flaxO(i), .transpose, [c.heads, h, d]))
                if c.gatingInputMajor {
                    out.append(w(B.ffnGate, [d, f], n.flaxGating(i), .permute([1, 0], select: 0), [2, d, f]))
                    out.append(w(B.ffnUp, [d, f], n.flaxGating(i), .permute([1, 0], select: 1), [2, d, f]))
                } else {
                    out.append(w(B.ffnGate, [d, f], n.flaxGating(i), .copy(select: 0), [2, f, d]))
                    out.append(w(B.ffnUp, [d, f], n.flaxGating(i), .copy(select: 1), [2, f, d]))
                }
                out.append(w(B.ffnDown, [f, d], n.flaxDown(i), .transpose, [f, d]))
            case .huggingFace:
                out.append(w(B.attnOutput, [qRows, d], n.hf(i, "self_attn.o_proj.weight"), .copy(select: nil), [d, qRows]))
                out.append(w(B.ffnGate, [d, f], n.hf(i, "mlp.gate_proj.weight"), .copy(select: nil), [f, d]))
                out.append(w(B.ffnUp, [d, f], n.hf(i, "mlp.up_proj.weight"), .copy(select: nil), [f, d]))
                out.append(w(B.ffnDown, [f, d], n.hf(i, "mlp.down_proj.weight"), .copy(select: nil), [d, f]))
            }
        }
        return TensorOrder.sorted(out, name: \.name)
    }

    /// Every tensor the model needs must be there with exactly the shape the config implies; throws naming the first
    /// that is missing or misshapen.
    static func checkSourceShapes(_ outputs: [OutputTensor], source: any TensorSource, family: String) throws {
        for t in outputs {
            let s = try source.tensor(named: t.source).shape
            if let want = t.sourceShape, s != want {
                throw KilnError(.invalid, "shape \(s) does not fit \(family) (expected \(want) for \(t.name))", file: source.path, tensor: t.source)
            }
        }
    }

    /// The GGUF vocabulary llama.cpp's converter writes for a Gemma `tokenizer.model` (`_set_vocab_sentencepiece`,
    /// then `add_space_prefix = false`; the same for Gemma 2 and Gemma 3).
    static func vocabulary(tokenizerModel path: String) throws -> GGUFVocabulary {
        let model = try SentencePieceModel(path: path)
        do throws(KilnError) {
            return try GGUFVocabulary(sentencePiece: model)
        } catch {
            throw error.inFile(path)
        }
    }

    /// The `general.*` keys llama.cpp's converter writes first (file type and quantization version come last).
    static func generalMetadata(architecture: String, basename: String, modelName: String, sizeLabel: String) -> [GGUFMetadataEntry] {
        [
            .init(GGUFKey.architecture, .string(architecture)),
            .init(GGUFKey.type, .string("model")),
            .init(GGUFKey.name, .string(modelName)),
            .init(GGUFKey.basename, .string(basename)),
            .init(GGUFKey.sizeLabel, .string(sizeLabel)),
        ]
    }

    /// The `<arch>.*` keys every llama.cpp Gemma converter (`GemmaModel`, `Gemma2Model`) writes first, in its order:
    /// context, widths, block count, heads, RMS epsilon, key and value lengths.
    static func shapeMetadata(architecture: String, contextLength: Int, shape c: Shape, rmsEpsilon: Float) -> [GGUFMetadataEntry] {
        let k = GGUFKey.Model(architecture)
        return [
            .init(k.contextLength, .uint32(UInt32(contextLength))),
            .init(k.embeddingLength, .uint32(UInt32(c.embedding))),
            .init(k.blockCount, .uint32(UInt32(c.layers))),
            .init(k.feedForwardLength, .uint32(UInt32(c.feedForward))),
            .init(k.headCount, .uint32(UInt32(c.heads))),
            .init(k.headCountKV, .uint32(UInt32(c.kvHeads))),
            .init(k.layerNormRMSEpsilon, .float32(rmsEpsilon)),
            .init(k.keyLength, .uint32(UInt32(c.headDim))),
            .init(k.valueLength, .uint32(UInt32(c.headDim))),
        ]
    }

    /// The directory whose `config.json` describes an HF checkpoint at `path` (a file or a directory).
    static func configDirectory(_ path: String) -> String {
        FileIdentity.isDirectory(path) ? path : (path as NSString).deletingLastPathComponent
    }

    /// What a family's HF `config.json` reader must provide for `open`.
    protocol HFConfigReading {
        var headDim: Int { get }
        /// Nil when the directory holds no `config.json`.
        static func read(directory: String) throws(KilnError) -> Self?
    }

    /// The start every Gemma 1 / Gemma 2 converter shares: the source's names, its HF config (required for an HF
    /// layout, whose head size only `config.json` gives; `needs` says what else the family takes from it) and the
    /// shape read from the tensors.
    struct Opening<HF: HFConfigReading> {
        let names: Names
        let configDirectory: String
        let hf: HF?
        let shape: Shape

        init(source: any TensorSource, vocabularySize: Int?, family: String, needs: String) throws {
            names = try Names.require(source, family: family)
            configDirectory = GemmaText.configDirectory(source.path)
            hf = names.layout == .huggingFace ? try HF.read(directory: configDirectory) : nil
            if names.layout == .huggingFace && hf == nil {
                throw KilnError(.notFound, "an HF \(family) checkpoint needs its config.json (\(needs))", file: source.path)
            }
            shape = try Shape(source: source, names: names, vocabularySize: vocabularySize, headDim: hf?.headDim, family: family)
        }
    }

    /// Source tensor names for both checkpoint layouts; the only place Gemma's Flax and HF text names are spelled.
    struct Names: Sendable {
        enum LayerNorm { case preAttention, postAttention, preFFW, postFFW }

        let layout: GemmaCheckpointLayout
        /// Flax layer 0 holds Gemma 1 7B's fused `qkv_einsum` instead of `q_einsum` + `kv_einsum`.
        var fusedQKV = false
        /// HF prefix of the text model ("model.", "language_model.model." or "model.language_model.").
        let hfPrefix: String

        static let flaxEmbedding = "transformer/embedder.input_embedding"

        /// The names of a Gemma text decoder (embedding and layer 0's query projection present), of any family.
        static func detect(_ source: any TensorSource) -> Names? {
            let all = Set(source.tensors.map(\.name))
            if all.contains(flaxEmbedding), all.contains("transformer/layer_0/attn/q_einsum.w") {
                return Names(layout: .flax, hfPrefix: "")
            }
            if all.contains(flaxEmbedding), all.contains("transformer/layer_0/attn/qkv_einsum.w") {
                return Names(layout: .flax, fusedQKV: true, hfPrefix: "")
            }
            for p in ["model.", "language_model.model.", "model.language_model."]
            where all.contains(p + "embed_tokens.weight") && all.contains(p + "layers.0.self_attn.q_proj.weight") {
                return Names(layout: .huggingFace, hfPrefix: p)
            }
            return nil
        }

        /// `detect`, or an error naming `family` ("Gemma 2") when the source holds no Gemma text decoder.
        static func require(_ source: any TensorSource, family: String) throws -> Names {
            guard let names = detect(source) else {
                throw KilnError(.unsupported, "not a \(family) checkpoint (no embedding and layer-0 attention tensors)", file: source.path)
            }
            return names
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
        func flaxQKV(_ i: Int) -> String { "transformer/layer_\(i)/attn/qkv_einsum.w" }
        func flaxO(_ i: Int) -> String { "transformer/layer_\(i)/attn/attn_vec_einsum.w" }
        func flaxGating(_ i: Int) -> String { "transformer/layer_\(i)/mlp/gating_einsum.w" }
        func flaxDown(_ i: Int) -> String { "transformer/layer_\(i)/mlp/linear.w" }
        func hf(_ i: Int, _ suffix: String) -> String { "\(hfPrefix)layers.\(i).\(suffix)" }

        /// The text layer a tensor name belongs to (`transformer/layer_N/...`, `<prefix>layers.N.`), nil for others.
        func layerIndex(_ name: String) -> Int? {
            let prefix = layout == .flax ? "transformer/layer_" : hfPrefix + "layers."
            guard name.hasPrefix(prefix) else { return nil }
            let digits = name.dropFirst(prefix.count).prefix(while: \.isNumber)
            return digits.count < 10 ? Int(digits) : Int.max
        }

        func isVision(_ name: String) -> Bool {
            name.hasPrefix("SigLiPFromPatches_0/") || name.hasPrefix("vision_tower.") || name.hasPrefix("model.vision_tower.")
        }

        /// The family markers of layer 0 (read from names only): Gemma 3 has per-head query norms; Gemma 2 has no
        /// query norm but post-FFW norms; Gemma 1 (and CodeGemma) has neither.
        func hasQueryNorm(_ names: Set<String>) -> Bool { names.contains(attnNorm(0, query: true)) }
        func hasKeyNorm(_ names: Set<String>) -> Bool { names.contains(attnNorm(0, query: false)) }
        func hasPostFFWNorm(_ names: Set<String>) -> Bool { names.contains(layerNorm(0, .postFFW)) }
    }
}
