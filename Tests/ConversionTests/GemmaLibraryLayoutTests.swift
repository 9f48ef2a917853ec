import Conversion
import FlaxCheckpoint
import Foundation
import GGUFWriter
import KilnCLI
import KilnCore
import KilnTestSupport
import Testing

/// Checkpoints written by Google's `gemma` and `kauldron` libraries themselves (scripts/make_gemma_lib_checkpoints.py:
/// `gm.ckpts.save_params`'s NESTED tree, the library's STACKED layout, a Kauldron trainer's CheckpointManager with
/// optimizer state at steps 1 and 2), bfloat16 like a fine-tune. The script checked that `gm.ckpts.load_params` reads
/// each back to the saved arrays; the library's logits on them are the goldens (scripts/gen_gemma_goldens.py).
@Suite struct GemmaLibraryLayoutTests {
    static func fixture(_ name: String) -> String { Fixtures.path("gemma-lib/\(name)") }

    static func convert(_ input: String, type: String = "auto", step: Int? = nil, dryRun: Bool = false) throws -> (GGUFFile?, String) {
        let dir = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir) }
        var o = ConvertOptions(output: dir + "/out.gguf")
        o.progress = false
        o.type = type
        o.step = step
        o.dryRun = dryRun
        let summary = try ConvertJob.run(input: input, options: o)
        // GGUFFile maps the file; reading it after the directory is removed is fine on Linux (the mapping stays).
        return (dryRun ? nil : try GGUFFile(path: o.output), summary)
    }

    /// Tensor name → stored bytes.
    static func tensorBytes(_ f: GGUFFile) throws -> [String: [UInt8]] {
        var out: [String: [UInt8]] = [:]
        for t in f.tensorInfos { out[t.name] = Array(f.data(of: t)) }
        return out
    }

    @Test func layoutsAreDetectedAsTheLibraryDoes() throws {
        #expect(try OrbaxCheckpoint(path: Self.fixture("tiny-nested")).treeLayout == .nested)
        #expect(try OrbaxCheckpoint(path: Self.fixture("tiny-stacked")).treeLayout == .stacked)
        #expect(try OrbaxCheckpoint(path: Self.fixture("tiny-kauldron")).treeLayout == .kauldron)
        #expect(try OrbaxCheckpoint(path: Fixtures.path("gemma3/tiny-kaggle")).treeLayout == .flat)
    }

    @Test func nestedNamesMapOntoTheReleaseNames() {
        #expect(FlaxTreeLayout.nested.flatName("layer_3.attn.q_einsum.w") == "transformer/layer_3/attn/q_einsum.w")
        #expect(FlaxTreeLayout.nested.flatName("layer_3.mlp.linear") == "transformer/layer_3/mlp/linear.w")
        #expect(FlaxTreeLayout.nested.flatName("embedder.input_embedding") == "transformer/embedder.input_embedding")
        #expect(FlaxTreeLayout.nested.flatName("embedder.mm_input_projection.w") == "transformer/embedder/mm_input_projection.w")
        #expect(FlaxTreeLayout.nested.flatName("vision_encoder.siglip_encoder.Transformer.encoder_norm.scale")
                == "SigLiPFromPatches_0/siglip_encoder/Transformer/encoder_norm.scale")
        #expect(FlaxTreeLayout.kauldron.flatName("params.final_norm.scale") == "transformer/final_norm.scale")
        #expect(FlaxTreeLayout.kauldron.flatName("opt_state.0.mu.final_norm.scale") == nil)
        #expect(FlaxTreeLayout.nested.flatName("step") == nil)
    }

    /// `--type auto` on bfloat16 weights keeps BF16 (llama.cpp's --outtype auto rule) and says so; the values are the
    /// checkpoint's exactly (the F32 conversion widens the same bfloat16 values).
    @Test func autoKeepsBF16ExactlyAndSaysWhy() throws {
        let (auto, summary) = try Self.convert(Self.fixture("tiny-nested"))
        #expect(summary.contains("read a NESTED Flax tree: 68 parameters"), "\(summary)")
        #expect(summary.contains("→ BF16 (llama.cpp's --outtype auto rule: transformer/embedder.input_embedding is stored as bfloat16"), "\(summary)")
        let (f32, _) = try Self.convert(Self.fixture("tiny-nested"), type: "f32")
        let a = try #require(auto), b = try #require(f32)
        #expect(a.metadata[key: GGUFKey.fileType]?.intValue == Int(LlamaFileType.mostlyBF16.rawValue))
        for t in a.tensorInfos where t.ne.count > 1 {
            #expect(t.type == .bf16, "\(t.name)")
            let raw = a.data(of: t), refRaw = b.data(of: try b.tensorInfo(named: t.name))
            let wide = (0 ..< raw.count / 2).map { Float(bitPattern: UInt32(raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)) << 16) }
            let ref = (0 ..< refRaw.count / 4).map { refRaw.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self) }
            #expect(wide == ref, "\(t.name)")
        }
    }

    /// The same parameters saved as NESTED, STACKED and a Kauldron step give the same GGUF tensors; the Kauldron
    /// manager's newest step is the default and `--step` picks another.
    @Test func everyLayoutGivesTheSameTensors() throws {
        let nested = try Self.tensorBytes(try #require(try Self.convert(Self.fixture("tiny-nested")).0))
        let stacked = try Self.tensorBytes(try #require(try Self.convert(Self.fixture("tiny-stacked")).0))
        let (step1File, summary1) = try Self.convert(Self.fixture("tiny-kauldron"), step: 1)
        let step1 = try Self.tensorBytes(try #require(step1File))
        let (latestFile, summary) = try Self.convert(Self.fixture("tiny-kauldron"))
        let latest = try Self.tensorBytes(try #require(latestFile))
        #expect(stacked == nested)
        #expect(step1 == nested)
        #expect(latest != nested, "step 2 holds different weights")
        #expect(summary.contains("KAULDRON") && summary.contains("step 2") && summary.contains("138 other arrays"), "\(summary)")
        #expect(summary1.contains("step 1"), "\(summary1)")
        #expect(try latestFile?.metadata[key: GGUFKey.name]?.stringValue == "tiny-kauldron")
    }

    @Test func aMissingStepIsAClearError() throws {
        #expect {
            _ = try Self.convert(Self.fixture("tiny-kauldron"), step: 7)
        } throws: { e in
            (e as? KilnError)?.message.contains("no step 7 here (steps: 1, 2)") == true
        }
        #expect {
            _ = try Self.convert(Self.fixture("tiny-nested"), step: 1)
        } throws: { e in
            (e as? KilnError)?.message.contains("not a CheckpointManager directory") == true
        }
    }

    /// A float32 tree mixing on-grid and off-grid weights (token embedding and layer 0's attn_q on the grid): the dry
    /// run shows each tensor's decision, and the conversion packs the grid losslessly and writes the rest as F16.
    @Test func aMixedTreeIsDecidedTensorByTensor() throws {
        let input = Self.fixture("tiny-nested-mixed")
        let (_, plan) = try Self.convert(input, dryRun: true)
        #expect(plan.contains("--type auto: 2 on the QAT int4 grid → Q4_0 (lossless); 41 not on the QAT int4 grid → F16 (llama.cpp's --outtype auto rule: no 2-D tensor is stored as bfloat16 or float16: F16)"), "\(plan)")
        func line(_ name: String) -> String { plan.split(separator: "\n").first { $0.contains(" \(name) ") }.map(String.init) ?? "" }
        #expect(line("token_embd.weight").contains("Q4_0") && line("token_embd.weight").contains("lossless"))
        #expect(line("blk.0.attn_q.weight").contains("Q4_0") && line("blk.0.attn_q.weight").contains("lossless"))
        #expect(line("blk.0.attn_k.weight").contains("F16") && line("blk.0.attn_k.weight").contains("quantize"))
        #expect(line("blk.1.attn_q.weight").contains("F16"))
        let (file, summary) = try Self.convert(input)
        let f = try #require(file)
        #expect(summary.contains("QAT int4 grid: 2 tensors packed losslessly"), "\(summary)")
        #expect(f.metadata[key: GGUFKey.fileType]?.intValue == Int(LlamaFileType.mostlyQ4_0.rawValue))
        #expect(try f.tensorInfo(named: "blk.0.ffn_down.weight").type == .f16)
    }

    /// A QAT checkpoint (every 2-D weight on the grid) still plans lossless Q4_0 everywhere, with no precision line.
    @Test func qatCheckpointsStillPackLosslessly() throws {
        let (_, plan) = try Self.convert(Fixtures.path("gemma3/tiny-kaggle"), dryRun: true)
        #expect(!plan.contains("--type auto:"), "every weight is on the grid: no precision line")
        #expect(plan.contains("blk.0.attn_q.weight") && plan.contains("lossless"))
        #expect(!plan.contains("BF16") && !plan.contains(" F16 "))
    }

    /// The library's own logits on the NESTED fine-tune and on the Kauldron checkpoint's newest step, against Kiln's
    /// source side (verify's float path) and its F32 conversion.
    @Test(arguments: ["tiny-nested", "tiny-kauldron"])
    func matchesTheGemmaLibrary(_ name: String) throws {
        try GemmaLibraryGolden.check("verify/gemma-\(name).json", checkpoint: Self.fixture(name), via: .sourceFloatPath)
        try GemmaLibraryGolden.check("verify/gemma-\(name).json", checkpoint: Self.fixture(name), via: .f32Conversion)
    }
}
