import Conversion
import Foundation
import GGUFWriter
import KilnCLI
import KilnCore
import KilnTestSupport
import QuantCore
import Safetensors
import Testing

/// The SigLIP vision tower → llama.cpp mmproj GGUF. The tiny Kaggle-layout vision checkpoint (real orbax) and the same
/// weights in HF Gemma3ForConditionalGeneration layout (real `safetensors`, the tensors transformers' Flax → HF
/// conversion formulas give; scripts/make_gemma3_fixtures.py) are the inputs; the HF tensors are the reference values.
/// scripts/check_mmproj.py checks the same files with gguf-py and loads them with llama.cpp's libmtmd.
@Suite struct VisionConversionTests {
    static let kaggle = Fixtures.path("gemma3/tiny-kaggle-vision")
    static let hf = Fixtures.path("gemma3/tiny-hf-vision")
    static let noProjector = Fixtures.path("gemma3/tiny-kaggle-vision-noproj")

    static func convert(_ input: String, _ configure: (inout ConvertOptions) -> Void = { _ in }) throws -> (dir: String, text: String, summary: String) {
        let dir = Fixtures.tempDirectory()
        var o = ConvertOptions(output: dir + "/tiny.gguf")
        o.progress = false
        o.modelName = "gemma3-tiny-vision"
        configure(&o)
        let summary = try ConvertJob.run(input: input, options: o)
        return (dir, o.output, summary)
    }

    static func floats(_ source: any TensorSource, _ t: TensorInfo) throws -> [Float] {
        var out = [Float](repeating: 0, count: t.elementCount)
        try source.withBytes(of: t) { bytes in try out.withUnsafeMutableBufferPointer { try Quantizer.dequantize(t.type, bytes, count: t.elementCount, into: $0) } }
        return out
    }

    /// llama.cpp mmproj name → the HF tensor with its values (gguf-py tensor_mapping.py for MODEL_ARCH.MMPROJ).
    static func hfName(_ gguf: String) -> String {
        let tower = "vision_tower.vision_model."
        let fixed = [
            "mm.input_projection.weight": "multi_modal_projector.mm_input_projection_weight",
            "mm.soft_emb_norm.weight": "multi_modal_projector.mm_soft_emb_norm.weight",
            "v.patch_embd.weight": tower + "embeddings.patch_embedding.weight",
            "v.patch_embd.bias": tower + "embeddings.patch_embedding.bias",
            "v.position_embd.weight": tower + "embeddings.position_embedding.weight",
            "v.post_ln.weight": tower + "post_layernorm.weight",
            "v.post_ln.bias": tower + "post_layernorm.bias",
        ]
        if let f = fixed[gguf] { return f }
        let parts = gguf.split(separator: ".").map(String.init)  // v, blk, j, name, weight|bias
        let map = ["attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
                   "attn_out": "self_attn.out_proj", "ln1": "layer_norm1", "ln2": "layer_norm2",
                   "ffn_up": "mlp.fc1", "ffn_down": "mlp.fc2"]
        return tower + "encoder.layers.\(parts[2]).\(map[parts[3]]!).\(parts[4])"
    }

    /// The type llama.cpp's converter gives each tensor with the default `--outtype f16` (Gemma3VisionModel).
    static func llamaCppType(_ name: String, dims: Int) -> GGMLType {
        if name.hasPrefix("mm.input_projection") { return .f16 }
        if name.hasPrefix("v.patch_embd") || name.hasPrefix("v.position_embd") { return .f32 }
        if dims <= 1 || name.hasSuffix("_norm.weight") || !name.hasSuffix(".weight") { return .f32 }
        return .f16
    }

    @Test(arguments: [kaggle, hf])
    func everyMMProjTensorHasTheReferenceValues(_ input: String) throws {
        let r = try Self.convert(input)
        defer { Fixtures.cleanup(r.dir) }
        let path = r.dir + "/mmproj-tiny.gguf"
        #expect(r.summary.contains("wrote \(path): 39 tensors (13 F16, 26 F32)"), "\(r.summary)")
        let gguf = try GGUFFile(path: path)
        let ref = try SafetensorsCheckpoint(path: Self.hf + "/model.safetensors")
        let refNames = Set(ref.tensors.map(\.name).filter { $0.hasPrefix("vision_tower.") || $0.hasPrefix("multi_modal_projector.") })
        #expect(Set(gguf.tensorInfos.map { Self.hfName($0.name) }) == refNames, "one mmproj tensor per HF vision/projector tensor")
        #expect(gguf.tensorInfos.count == 7 + 2 * 16)
        for info in gguf.tensorInfos {
            let want = try ref.tensor(named: Self.hfName(info.name))
            #expect(info.ne == want.shape.reversed(), "\(info.name): ne is the HF shape reversed")
            #expect(info.type == Self.llamaCppType(info.name, dims: want.shape.count), "\(info.name)")
            let got = try Self.floats(gguf, try gguf.tensor(named: info.name))
            var expected = try Self.floats(ref, want)
            if info.name == "mm.soft_emb_norm.weight" { expected = expected.map { $0 + 1 } }
            if info.type == .f16 { expected = expected.map { Float(Float16($0)) } }
            #expect(got.count == expected.count, "\(info.name)")
            let firstDifference = zip(got, expected).enumerated().first { $0.element.0 != $0.element.1 }
            #expect(firstDifference == nil, "\(info.name): value \(firstDifference?.offset ?? -1) is \(firstDifference?.element.0 ?? 0), want \(firstDifference?.element.1 ?? 0)")
        }
    }

    @Test func metadataIsWhatLlamaCppWrites() throws {
        let r = try Self.convert(Self.kaggle)
        defer { Fixtures.cleanup(r.dir) }
        let m = try GGUFFile(path: r.dir + "/mmproj-tiny.gguf").metadata
        let want: [(String, GGUFValue)] = [
            ("general.architecture", .string("clip")),
            ("general.type", .string("mmproj")),
            ("general.name", .string("gemma3-tiny-vision")),
            ("general.file_type", .uint32(1)),
            ("clip.has_vision_encoder", .bool(true)),
            ("clip.vision.projection_dim", .uint32(64)),
            ("clip.vision.image_size", .uint32(224)),
            ("clip.vision.patch_size", .uint32(14)),
            ("clip.vision.embedding_length", .uint32(64)),
            ("clip.vision.feed_forward_length", .uint32(128)),
            ("clip.vision.block_count", .uint32(2)),
            ("clip.vision.attention.head_count", .uint32(4)),
            ("clip.vision.image_mean", .array(.float32([0.5, 0.5, 0.5]))),
            ("clip.vision.image_std", .array(.float32([0.5, 0.5, 0.5]))),
            ("clip.projector_type", .string("gemma3")),
            ("clip.vision.attention.layer_norm_epsilon", .float32(1e-6)),
            ("clip.use_gelu", .bool(true)),
            // 16×16 patches pooled to 256 tokens: n_merge 1, written because it is not llama.cpp's default 4.
            ("clip.vision.projector.scale_factor", .uint32(1)),
            ("general.quantization_version", .uint32(2)),
        ]
        #expect(m.map(\.key) == want.map(\.0))
        for (k, v) in want { #expect(m[key: k] == v, "\(k)") }
    }

    @Test func flaxAndHuggingFaceRoutesWriteTheSameFiles() throws {
        let a = try Self.convert(Self.kaggle)
        let b = try Self.convert(Self.hf)
        defer { Fixtures.cleanup(a.dir); Fixtures.cleanup(b.dir) }
        #expect(try Data(contentsOf: URL(fileURLWithPath: a.dir + "/mmproj-tiny.gguf")) == Data(contentsOf: URL(fileURLWithPath: b.dir + "/mmproj-tiny.gguf")))
        #expect(try Data(contentsOf: URL(fileURLWithPath: a.text)) == Data(contentsOf: URL(fileURLWithPath: b.text)))
    }

    /// The text GGUF does not depend on the vision tower: same tensors and bytes as the text-only checkpoint, same
    /// metadata except the keys Gemma3 derives from "has a vision tower" for unknown sizes (4B rules: context, sliding
    /// window, RoPE scaling); and byte-identical with and without writing the mmproj.
    @Test func textModelIsUnchangedByTheVisionTower() throws {
        let vision = try Self.convert(Self.kaggle)
        let skipped = try Self.convert(Self.kaggle) { $0.noMMProj = true }
        let textOnly = try Self.convert(Fixtures.path("gemma3/tiny-kaggle"))
        defer { for d in [vision.dir, skipped.dir, textOnly.dir] { Fixtures.cleanup(d) } }
        #expect(try Data(contentsOf: URL(fileURLWithPath: vision.text)) == Data(contentsOf: URL(fileURLWithPath: skipped.text)))
        let a = try GGUFFile(path: vision.text), b = try GGUFFile(path: textOnly.text)
        #expect(a.tensorInfos.map(\.name) == b.tensorInfos.map(\.name))
        for (x, y) in zip(a.tensorInfos, b.tensorInfos) {
            #expect(x == y, "\(x.name)")
            #expect(Array(a.data(of: x)) == Array(b.data(of: y)), "\(x.name)")
        }
        let sizeRules: Set<String> = ["gemma3.context_length", "gemma3.attention.sliding_window", "gemma3.rope.scaling.type", "gemma3.rope.scaling.factor"]
        #expect(a.metadata.filter { !sizeRules.contains($0.key) } == b.metadata.filter { !sizeRules.contains($0.key) })
        #expect(!a.metadata.contains { $0.key.hasPrefix("clip.") })
    }

    @Test func missingProjectorIsReportedAndSkipped() throws {
        let r = try Self.convert(Self.noProjector)
        defer { Fixtures.cleanup(r.dir) }
        #expect(r.summary.contains("no multimodal projector: transformer/embedder/mm_input_projection.w missing"))
        #expect(r.summary.contains("gemma#189"))
        #expect(r.summary.contains("no mmproj written"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: r.dir) == ["tiny.gguf"])
        #expect(try GGUFFile(path: r.text).tensorInfos.count == 2 + 13)
    }

    @Test func noMMProjSkipsTheTower() throws {
        let r = try Self.convert(Self.kaggle) { $0.noMMProj = true }
        defer { Fixtures.cleanup(r.dir) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: r.dir) == ["tiny.gguf"])
        #expect(r.summary.contains("vision tower not converted (--no-mmproj)"))
        #expect {
            _ = try Self.convert(Self.kaggle) { $0.noMMProj = true; $0.mmproj = "/tmp/x.gguf" }
        } throws: { ($0 as? KilnError)?.kind == .usage }
    }

    @Test func mmprojPathOptionAndDefault() throws {
        #expect(ConvertJob.defaultMMProjPath(forOutput: "out/model-q4_0.gguf") == "out/mmproj-model-q4_0.gguf")
        #expect(ConvertJob.defaultMMProjPath(forOutput: "model.gguf") == "mmproj-model.gguf")
        let custom = Fixtures.tempDirectory() + "/vision/proj.gguf"
        try FileManager.default.createDirectory(atPath: (custom as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let r = try Self.convert(Self.kaggle) { $0.mmproj = custom }
        defer { Fixtures.cleanup(r.dir); Fixtures.cleanup(((custom as NSString).deletingLastPathComponent as NSString).deletingLastPathComponent) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: r.dir) == ["tiny.gguf"])
        #expect(try GGUFFile(path: custom).metadata[key: "general.architecture"] == .string("clip"))
        #expect(r.summary.contains("wrote \(custom)"))
        #expect {
            _ = try Self.convert(Self.kaggle) { $0.mmproj = $0.output }
        } throws: { ($0 as? KilnError)?.kind == .usage }
        // A text-only checkpoint has nothing to write; --mmproj is reported as ignored.
        let t = try Self.convert(Fixtures.path("gemma3/tiny-kaggle")) { $0.mmproj = custom + ".unused" }
        defer { Fixtures.cleanup(t.dir) }
        #expect(t.summary.contains("--mmproj ignored"))
        #expect(!FileManager.default.fileExists(atPath: custom + ".unused"))
    }

    /// `--type f32/bf16/q8_0` carries over to the mmproj weights (llama.cpp's --outtype choices); other types give F16.
    @Test(arguments: [("q8_0", GGMLType.q8_0, UInt32(7)), ("q4_k", .f16, 1), ("f32", .f32, 0), ("auto", .f16, 1)])
    func mmprojWeightTypeFollowsLlamaCppOuttypes(_ type: String, _ want: GGMLType, _ fileType: UInt32) throws {
        let r = try Self.convert(Self.kaggle) { $0.type = type == "auto" ? "auto" : type }
        defer { Fixtures.cleanup(r.dir) }
        let g = try GGUFFile(path: r.dir + "/mmproj-tiny.gguf")
        #expect(try g.tensorInfo(named: "v.blk.0.attn_q.weight").type == want)
        #expect(try g.tensorInfo(named: "v.blk.1.ffn_down.weight").type == want)
        #expect(try g.tensorInfo(named: "mm.input_projection.weight").type == .f16)
        #expect(try g.tensorInfo(named: "v.patch_embd.weight").type == .f32)
        #expect(try g.tensorInfo(named: "v.position_embd.weight").type == .f32)
        #expect(try g.tensorInfo(named: "v.blk.0.ln1.weight").type == .f32)
        #expect(g.metadata[key: "general.file_type"] == .uint32(fileType))
    }

    @Test func dryRunShowsTheMMProjPlan() throws {
        let dir = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir) }
        var o = ConvertOptions(output: dir + "/tiny.gguf")
        o.dryRun = true
        let plan = try ConvertJob.run(input: Self.kaggle, options: o)
        #expect(plan.contains("mmproj (clip, projector gemma3): SigLIP 2 blocks, width 64, heads 4 × 16"))
        #expect(plan.contains("SigLiPFromPatches_0/siglip_encoder/embedding.kernel permute(3,2,0,1)"))
        #expect(plan.contains("MultiHeadDotProductAttention_0/query.kernel permute(1,2,0)"))
        #expect(plan.contains("SigLiPFromPatches_0/siglip_encoder.pos_embedding reshape"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
    }

    /// A tower whose projector does not fit the text width is an error before anything is written.
    @Test func visionConfigIsDerivedFromShapes() throws {
        let source = try SourceOpener.open(Self.kaggle)
        let arch = try Gemma3(source: source, vocabularySize: 400)
        guard case .present(let p) = try arch.visionTower(source: source), let v = p as? Gemma3Vision else {
            Issue.record("no vision tower found")
            return
        }
        #expect(v.layout == .flax)
        #expect(v.config.width == 64 && v.config.depth == 2 && v.config.heads == 4 && v.config.headDim == 16)
        #expect(v.config.feedForward == 128 && v.config.patchSize == 14 && v.config.positions == 256)
        #expect(v.config.imageSize == 224 && v.config.poolFactor == 1 && v.config.projectionDim == 64)
        #expect(throws: KilnError.self) { try Gemma3Vision.detect(source: source, textEmbedding: 32) }
        #expect(try Gemma3(source: try SourceOpener.open(Fixtures.path("gemma3/tiny-kaggle")), vocabularySize: 400).visionTower(
            source: try SourceOpener.open(Fixtures.path("gemma3/tiny-kaggle"))).isAbsent)
    }
}

extension VisionTower {
    var isAbsent: Bool { if case .absent = self { true } else { false } }
}
