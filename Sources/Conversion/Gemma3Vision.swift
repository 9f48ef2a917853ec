import Foundation
import GGUFWriter
import KilnCore
import QuantCore

/// The SigLIP vision tower (So400m/14 in Gemma 3 4B/12B/27B, any size in test checkpoints) and Gemma 3's multimodal
/// projector, from Kaggle Flax or HF Gemma3ForConditionalGeneration names, to llama.cpp's mmproj with projector type
/// `gemma3`.
///
/// Sources (see shared/docs/gemma3-kaggle-int4.md §2.3, §4.4 and gguf-ggml-llamacpp.md A.4):
/// - Flax names/shapes: gemma `_vision_utils.py`; Flax → HF layouts: transformers' Gemma 3 conversion and gau-nernst
///   `convert_siglip` (conv `kernel.transpose(3,2,0,1)`, q/k/v `flatten(w,1,2).T` + `bias.reshape(-1)`,
///   out `flatten(w,0,1).T`, Dense `kernel.T`, `pos_embedding.squeeze(0)`).
/// - GGUF names: gguf-py `tensor_mapping.py` for MODEL_ARCH.MMPROJ (`fc1` → `ffn_up`, `fc2` → `ffn_down`; the old
///   `gemma3_convert_encoder_to_gguf.py` swapped them and clip.cpp still accepts both).
/// - Types and metadata: llama.cpp `conversion/gemma.py` `Gemma3VisionModel` and `conversion/base.py` `MmprojModel`
///   (`.embeddings.` → F32, `input_projection` → F16, 1-D and `_norm.weight` → F32, soft_emb_norm + 1, the
///   `clip.vision.projector.scale_factor` written only when it is not 4).
public struct Gemma3Vision: VisionProjector, Equatable {
    public enum Layout: String, Sendable { case flax, huggingFace }

    public struct Config: Sendable, Equatable {
        public var width: Int
        public var depth: Int
        public var heads: Int
        public var feedForward: Int
        public var patchSize: Int
        /// Learned position embeddings = patches per image (a square).
        public var positions: Int
        /// Text model embedding length (`clip.vision.projection_dim`, the projector's output width).
        public var projectionDim: Int
        public var layerNormEpsilon: Float = 1e-6
        /// Soft tokens per image after pooling (Gemma 3: 256).
        public var tokensPerImage = 256
        public var imageMean: [Float] = [0.5, 0.5, 0.5]
        public var imageStd: [Float] = [0.5, 0.5, 0.5]

        public var headDim: Int { width / heads }
        public var patchesPerSide: Int { Gemma3Vision.squareRoot(positions) ?? 0 }
        public var imageSize: Int { patchesPerSide * patchSize }
        /// Average-pooling window per side (llama.cpp's n_merge; 4 for 896 px / 64×64 patches → 16×16 tokens).
        public var poolFactor: Int { patchesPerSide / max(Gemma3Vision.squareRoot(tokensPerImage) ?? 1, 1) }
    }

    public let layout: Layout
    public let config: Config
    let names: Names

    static func squareRoot(_ n: Int) -> Int? {
        guard n > 0 else { return nil }
        let r = Int(Double(n).squareRoot().rounded())
        return r * r == n ? r : nil
    }

    /// The vision tower in `source`, for a text model of width `textEmbedding`.
    public static func detect(source: any TensorSource, textEmbedding: Int) throws -> VisionTower {
        guard let names = Names.detect(source) else { return .absent }
        let all = Set(source.tensors.map(\.name))
        let missing = [names.projection, names.softNorm].filter { !all.contains($0) }
        if !missing.isEmpty {
            let defect = names.layout == .flax && missing.contains(names.projection)
                ? " (a known defect of the gemma3-4b-it-int4 Kaggle release, google-deepmind/gemma#189)" : ""
            return .unusable(reason: "the checkpoint has a SigLIP vision tower but no multimodal projector: "
                             + missing.joined(separator: ", ") + " missing\(defect); no mmproj written")
        }
        return .present(try Gemma3Vision(source: source, names: names, textEmbedding: textEmbedding))
    }

    init(source: any TensorSource, names: Names, textEmbedding: Int) throws {
        self.names = names
        layout = names.layout
        func shape(_ name: String) throws -> [Int] { try source.tensor(named: name).shape }
        func bad(_ name: String, _ s: [Int], _ want: String) -> KilnError {
            KilnError(.invalid, "shape \(s) does not fit a SigLIP vision tower (expected \(want))", file: source.path, tensor: name)
        }

        var depth = 0
        while source.tensors.contains(where: { $0.name == names.layerNorm(depth, 1, bias: false) }) { depth += 1 }
        guard depth > 0 else {
            throw KilnError(.notFound, "the vision tower has no encoder blocks", file: source.path, tensor: names.layerNorm(0, 1, bias: false))
        }
        let kernel = try shape(names.patchKernel)
        let pos = try shape(names.positions)
        let width: Int, patch: Int, positions: Int, heads: Int, ff: Int
        var config = HFConfig()
        switch layout {
        case .flax:
            guard kernel.count == 4, kernel[0] == kernel[1], kernel[2] == 3 else { throw bad(names.patchKernel, kernel, "(p, p, 3, width)") }
            (patch, width) = (kernel[0], kernel[3])
            guard pos.count == 3, pos[0] == 1, pos[2] == width else { throw bad(names.positions, pos, "(1, patches, \(width))") }
            positions = pos[1]
            let q = try shape(names.attention(0, "q", bias: false))
            guard q.count == 3, q[0] == width, q[1] * q[2] == width else { throw bad(names.attention(0, "q", bias: false), q, "(\(width), heads, head_dim)") }
            heads = q[1]
            let up = try shape(names.mlp(0, up: true, bias: false))
            guard up.count == 2, up[0] == width else { throw bad(names.mlp(0, up: true, bias: false), up, "(\(width), mlp)") }
            ff = up[1]
        case .huggingFace:
            guard kernel.count == 4, kernel[1] == 3, kernel[2] == kernel[3] else { throw bad(names.patchKernel, kernel, "(width, 3, p, p)") }
            (patch, width) = (kernel[2], kernel[0])
            guard pos.count == 2, pos[1] == width else { throw bad(names.positions, pos, "(patches, \(width))") }
            positions = pos[0]
            let fc1 = try shape(names.mlp(0, up: true, bias: false))
            guard fc1.count == 2, fc1[1] == width else { throw bad(names.mlp(0, up: true, bias: false), fc1, "(mlp, \(width))") }
            ff = fc1[0]
            // q_proj is (width, width): the head count is only in config.json.
            config = HFConfig(directory: FileIdentity.isDirectory(source.path) ? source.path : (source.path as NSString).deletingLastPathComponent)
            guard let h = config.heads ?? (width == 1152 ? 16 : nil) else {
                throw KilnError(.notFound, "the vision head count is not in config.json (vision_config.num_attention_heads) and cannot be derived from shapes",
                                file: source.path)
            }
            heads = h
        }
        guard heads > 0, width % heads == 0 else {
            throw KilnError(.invalid, "\(heads) heads do not divide the vision width \(width)", file: source.path)
        }
        guard Gemma3Vision.squareRoot(positions) != nil else {
            throw bad(names.positions, pos, "a square number of patches")
        }
        var c = Config(width: width, depth: depth, heads: heads, feedForward: ff, patchSize: patch, positions: positions,
                       projectionDim: textEmbedding)
        if let e = config.layerNormEpsilon { c.layerNormEpsilon = e }
        if let t = config.tokensPerImage { c.tokensPerImage = t }
        if let m = config.imageMean, m.count == 3 { c.imageMean = m }
        if let s = config.imageStd, s.count == 3 { c.imageStd = s }
        guard let side = Gemma3Vision.squareRoot(c.tokensPerImage), c.patchesPerSide % side == 0 else {
            throw KilnError(.invalid, "\(c.tokensPerImage) tokens per image do not pool evenly from \(c.patchesPerSide)×\(c.patchesPerSide) patches",
                            file: source.path)
        }
        self.config = c

        for t in outputTensors {
            let s = try shape(t.source)
            if let want = t.sourceShape, s != want {
                throw KilnError(.invalid, "shape \(s) does not fit the vision tower (expected \(want) for \(t.name); text width \(textEmbedding))",
                                file: source.path, tensor: t.source)
            }
        }
    }

    public var summary: String {
        let c = config
        return "mmproj (clip, projector gemma3): SigLIP \(c.depth) blocks, width \(c.width), heads \(c.heads) × \(c.headDim), ffn \(c.feedForward), "
            + "patch \(c.patchSize), \(c.imageSize) px (\(c.patchesPerSide)×\(c.patchesPerSide) patches → \(c.tokensPerImage) tokens), "
            + "projection \(c.width) → \(c.projectionDim) (\(layout == .flax ? "Flax" : "HF") names)"
    }

    public func typeRequest(weightType: GGMLType) -> TypeRequest {
        TypeRequest(base: .single(weightType), overrides: [
            TensorTypeOverride(pattern: "^v\\.(patch|position)_embd\\.", type: .f32),  // HF names containing ".embeddings."
            TensorTypeOverride(pattern: "^mm\\.input_projection\\.", type: .f16),
        ])
    }

    public var outputTensors: [OutputTensor] {
        let c = config
        let n = names
        let (w, hd, ff, p) = (c.width, c.headDim, c.feedForward, c.patchSize)
        let flax = layout == .flax
        func t(_ name: String, _ ne: [Int], _ src: String, _ tr: TensorTransform, _ role: OutputTensor.Role, _ shape: [Int]) -> OutputTensor {
            OutputTensor(name: name, ne: ne, source: src, transform: tr, role: role, sourceShape: shape)
        }
        let copy = TensorTransform.copy(select: nil)
        typealias V = GGUFTensorName.Vision
        typealias B = GGUFTensorName.Vision.Block
        var out: [OutputTensor] = [
            t(V.mmInputProjection, [c.projectionDim, w], n.projection, copy, .weight, [w, c.projectionDim]),
            t(V.mmSoftEmbeddingNorm, [w], n.softNorm, .plusOne, .norm, [w]),
            // ggml conv weight ne = [kw, kh, in, out], i.e. PyTorch's (out, in, kh, kw) row-major; Flax stores HWIO.
            t(V.patchEmbedding, [p, p, 3, w], n.patchKernel, flax ? .permute([3, 2, 0, 1], select: nil) : copy, .other,
              flax ? [p, p, 3, w] : [w, 3, p, p]),
            t(V.patchEmbeddingBias, [w], n.patchBias, copy, .other, [w]),
            t(V.positionEmbedding, [w, c.positions], n.positions, flax ? .permute([0, 1, 2], select: nil) : copy, .other,
              flax ? [1, c.positions, w] : [c.positions, w]),
            t(V.postNorm, [w], n.postNorm(bias: false), copy, .norm, [w]),
            t(V.postNormBias, [w], n.postNorm(bias: true), copy, .other, [w]),
        ]
        for j in 0 ..< c.depth {
            let b = V.block(j)
            for (ln, k) in [(B.ln1, 1), (B.ln2, 2)] {
                out.append(t(b + ln + ".weight", [w], n.layerNorm(j, k, bias: false), copy, .norm, [w]))
                out.append(t(b + ln + ".bias", [w], n.layerNorm(j, k, bias: true), copy, .other, [w]))
            }
            for (gguf, proj) in [(B.attnQ, "q"), (B.attnK, "k"), (B.attnV, "v")] {
                // Flax (W, heads, hd) → HF (heads·hd, W); bias (heads, hd) → (heads·hd).
                out.append(t(b + gguf + ".weight", [w, w], n.attention(j, proj, bias: false),
                             flax ? .permute([1, 2, 0], select: nil) : copy, .weight, flax ? [w, c.heads, hd] : [w, w]))
                out.append(t(b + gguf + ".bias", [w], n.attention(j, proj, bias: true),
                             flax ? .permute([0, 1], select: nil) : copy, .other, flax ? [c.heads, hd] : [w]))
            }
            // Flax out (heads, hd, W) → HF (W, heads·hd).
            out.append(t(b + B.attnOutput + ".weight", [w, w], n.attention(j, "out", bias: false), flax ? .transpose : copy, .weight,
                         flax ? [c.heads, hd, w] : [w, w]))
            out.append(t(b + B.attnOutput + ".bias", [w], n.attention(j, "out", bias: true), copy, .other, [w]))
            // fc1 (Dense_0) → ffn_up, fc2 (Dense_1) → ffn_down; Flax Dense kernels are (in, out), HF (out, in).
            out.append(t(b + B.ffnUp + ".weight", [w, ff], n.mlp(j, up: true, bias: false), flax ? .transpose : copy, .weight,
                         flax ? [w, ff] : [ff, w]))
            out.append(t(b + B.ffnUp + ".bias", [ff], n.mlp(j, up: true, bias: true), copy, .other, [ff]))
            out.append(t(b + B.ffnDown + ".weight", [ff, w], n.mlp(j, up: false, bias: false), flax ? .transpose : copy, .weight,
                         flax ? [ff, w] : [w, ff]))
            out.append(t(b + B.ffnDown + ".bias", [w], n.mlp(j, up: false, bias: true), copy, .other, [w]))
        }
        // Tensors outside `v.blk.N.` first, by name, then by block number and by name.
        return TensorOrder.sorted(out, layerPrefix: V.blockPrefix, name: \.name)
    }

    /// In the order llama.cpp's `convert_hf_to_gguf.py --mmproj` writes them: the writer's architecture, `set_type`,
    /// the general metadata, `MmprojModel.set_gguf_parameters`, `Gemma3VisionModel.set_gguf_parameters`, and the
    /// quantization version.
    public func metadata(modelName: String, fileType: UInt32) -> [GGUFMetadataEntry] {
        let c = config
        typealias Clip = GGUFKey.Clip
        typealias V = GGUFKey.Clip.Vision
        var m: [GGUFMetadataEntry] = [
            .init(GGUFKey.architecture, .string(Clip.architecture)),
            .init(GGUFKey.type, .string("mmproj")),
            .init(GGUFKey.name, .string(modelName)),
            .init(GGUFKey.fileType, .uint32(fileType)),
            .init(Clip.hasVisionEncoder, .bool(true)),
            .init(V.projectionDim, .uint32(UInt32(c.projectionDim))),
            .init(V.imageSize, .uint32(UInt32(c.imageSize))),
            .init(V.patchSize, .uint32(UInt32(c.patchSize))),
            .init(V.embeddingLength, .uint32(UInt32(c.width))),
            .init(V.feedForwardLength, .uint32(UInt32(c.feedForward))),
            .init(V.blockCount, .uint32(UInt32(c.depth))),
            .init(V.headCount, .uint32(UInt32(c.heads))),
            .init(V.imageMean, .array(.float32(c.imageMean))),
            .init(V.imageStd, .array(.float32(c.imageStd))),
            .init(Clip.projectorType, .string("gemma3")),
            .init(V.layerNormEpsilon, .float32(c.layerNormEpsilon)),
            .init(Clip.useGELU, .bool(true)),
        ]
        // llama.cpp's loader defaults n_merge to 4 for gemma3 and reads this key only when present.
        if c.poolFactor > 0 && c.poolFactor != 4 {
            m.append(.init(V.projectorScaleFactor, .uint32(UInt32(c.poolFactor))))
        }
        m.append(.init(GGUFKey.quantizationVersion, .uint32(ggmlQuantizationVersion)))
        return m
    }
}

extension Gemma3Vision {
    /// Source names of the vision tower and projector in both layouts; the only place they are spelled.
    struct Names: Sendable, Equatable {
        let layout: Layout
        /// HF prefixes: "vision_tower.vision_model." + "multi_modal_projector." (Hub files) or the same under "model."
        /// (transformers ≥ 4.52).
        let tower: String
        let projector: String

        static let flaxTower = "SigLiPFromPatches_0/siglip_encoder"

        static func detect(_ source: any TensorSource) -> Names? {
            let all = Set(source.tensors.map(\.name))
            if all.contains(flaxTower + "/embedding.kernel") {
                return Names(layout: .flax, tower: flaxTower, projector: "transformer/embedder/")
            }
            for p in ["", "model."] where all.contains(p + "vision_tower.vision_model.embeddings.patch_embedding.weight") {
                return Names(layout: .huggingFace, tower: p + "vision_tower.vision_model.", projector: p + "multi_modal_projector.")
            }
            return nil
        }

        private var flax: Bool { layout == .flax }
        private func suffix(_ bias: Bool) -> String { flax ? (bias ? ".bias" : ".kernel") : (bias ? ".bias" : ".weight") }

        var patchKernel: String { flax ? tower + "/embedding.kernel" : tower + "embeddings.patch_embedding.weight" }
        var patchBias: String { flax ? tower + "/embedding.bias" : tower + "embeddings.patch_embedding.bias" }
        var positions: String { flax ? tower + ".pos_embedding" : tower + "embeddings.position_embedding.weight" }
        var projection: String { flax ? projector + "mm_input_projection.w" : projector + "mm_input_projection_weight" }
        var softNorm: String { flax ? projector + "mm_soft_embedding_norm.scale" : projector + "mm_soft_emb_norm.weight" }

        func postNorm(bias: Bool) -> String {
            flax ? tower + "/Transformer/encoder_norm" + (bias ? ".bias" : ".scale") : tower + "post_layernorm" + (bias ? ".bias" : ".weight")
        }

        /// `k` = 1 (before attention) or 2 (before the MLP).
        func layerNorm(_ j: Int, _ k: Int, bias: Bool) -> String {
            flax ? block(j) + "/LayerNorm_\(k - 1)" + (bias ? ".bias" : ".scale")
                : block(j) + "layer_norm\(k)" + (bias ? ".bias" : ".weight")
        }

        /// `proj` = "q", "k", "v" or "out".
        func attention(_ j: Int, _ proj: String, bias: Bool) -> String {
            if flax {
                let f = ["q": "query", "k": "key", "v": "value", "out": "out"][proj]!
                return block(j) + "/MultiHeadDotProductAttention_0/" + f + suffix(bias)
            }
            return block(j) + "self_attn.\(proj)_proj" + suffix(bias)
        }

        /// `up`: the first MLP layer (Dense_0, fc1), else the second (Dense_1, fc2).
        func mlp(_ j: Int, up: Bool, bias: Bool) -> String {
            flax ? block(j) + "/MlpBlock_0/Dense_\(up ? 0 : 1)" + suffix(bias) : block(j) + "mlp.fc\(up ? 1 : 2)" + suffix(bias)
        }

        private func block(_ j: Int) -> String {
            flax ? tower + "/Transformer/encoderblock_\(j)" : tower + "encoder.layers.\(j)."
        }
    }

    /// What an HF checkpoint's config.json / preprocessor_config.json add (absent files or keys leave nils).
    struct HFConfig {
        var heads: Int?
        var layerNormEpsilon: Float?
        var tokensPerImage: Int?
        var imageMean: [Float]?
        var imageStd: [Float]?

        init() {}

        init(directory: String) {
            func json(_ file: String) -> [String: Any]? {
                guard let d = FileManager.default.contents(atPath: directory + "/" + file) else { return nil }
                return (try? JSONSerialization.jsonObject(with: d)) as? [String: Any]
            }
            let config = json("config.json")
            let vision = config?["vision_config"] as? [String: Any]
            heads = (vision?["num_attention_heads"] as? NSNumber)?.intValue
            layerNormEpsilon = (vision?["layer_norm_eps"] as? NSNumber)?.floatValue
            let pre = json("preprocessor_config.json")
            // llama.cpp reads image_seq_length from preprocessor_config.json (default 256).
            tokensPerImage = (pre?["image_seq_length"] as? NSNumber)?.intValue ?? (config?["mm_tokens_per_image"] as? NSNumber)?.intValue
            imageMean = (pre?["image_mean"] as? [NSNumber])?.map(\.floatValue)
            imageStd = (pre?["image_std"] as? [NSNumber])?.map(\.floatValue)
        }
    }
}

extension Gemma3: VisionArchitecture {
    public func visionTower(source: any TensorSource) throws -> VisionTower {
        try Gemma3Vision.detect(source: source, textEmbedding: config.embedding)
    }
}
