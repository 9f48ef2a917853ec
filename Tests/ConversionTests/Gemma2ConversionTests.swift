import Conversion
import Foundation
import GGUFWriter
import KilnCLI
import KilnCore
import KilnTestSupport
import QuantCore
import Tokenizers
import Testing

/// Gemma 2 conversion judged by references that do not share Kiln's understanding of the format:
/// - the fixtures are written by Google's `gemma` library (scripts/make_gemma2_fixtures.py): a FLAT Kaggle-layout tree
///   (float32 on the int4 grid, Gemma2_2B's `(2, D, F)` gating order) and a NESTED bfloat16 tree from
///   `gm.ckpts.save_params` (the 9B/27B `(2, F, D)` order), each read back equal by `gm.ckpts.load_params`;
/// - llama.cpp's own `convert_hf_to_gguf.py` ran on the same weights written as `Gemma2ForCausalLM` by transformers
///   (fixtures/llama-converter/gemma2-goldens.json): names, shapes, types, key order and values, tensor digests;
/// - llama.cpp (llama-cpp-python) ran Kiln's conversions against the library's logits (fixtures/verify/gemma2-tiny-*.json,
///   scripts/gen_gemma_goldens.py); `lamaRanTheseBytes` ties those figures to the bytes Kiln still writes.
@Suite struct Gemma2ConversionTests {
    static let flat = Fixtures.path("gemma2/tiny-flat")
    static let nested = Fixtures.path("gemma2/tiny-nested")
    static let hf = Fixtures.path("llama-converter/gemma2-tiny")
    static let goldens = "gemma2-goldens.json"

    static func convert(_ input: String, type: String = "auto", modelName: String? = nil, dryRun: Bool = false) throws -> (GGUFFile?, String, String) {
        let dir = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir) }
        var o = ConvertOptions(output: dir + "/out.gguf")
        o.progress = false
        o.type = type
        o.modelName = modelName
        o.dryRun = dryRun
        o.noMMProj = true
        let summary = try ConvertJob.run(input: input, options: o)
        let digest = dryRun ? "" : try SHA256.hex(ofFile: o.output)
        // GGUFFile maps the file; reading it after the directory is removed is fine on Linux (the mapping stays).
        return (dryRun ? nil : try GGUFFile(path: o.output), summary, digest)
    }

    // MARK: llama.cpp's converter

    static let order = LlamaConverterGoldenTests.order
    static let naming = "Kiln writes the model family (general.basename \"gemma-2\"); llama.cpp derives naming from the directory name and finds none in \"gemma2-tiny\"; llama.cpp never reads these keys"
    static let chatTemplate = "Kiln adds Gemma 2's chat template (google/gemma-2-2b-it's, byte for byte); llama.cpp's converter copies tokenizer_config.json's, which this tiny checkpoint does not have"
    static let window = "a Flax tree records no sliding window: Kiln writes the Gemma 2 family's 4096 (the gemma library's Gemma2 configs); the HF twin's config.json says 8"

    /// Every difference from llama.cpp's file, with its reason (`LlamaConverterGoldenTests.compare` fails on any other,
    /// and on a listed one that no longer occurs).
    static func justified(flax: Bool) -> [LlamaConverterGoldenTests.Difference: String] {
        var d: [LlamaConverterGoldenTests.Difference: String] = [
            .keyOrder: "general.file_type: Kiln writes it with general.quantization_version after the tokenizer keys (as for Gemma 3); " + order,
            .tensorOrder: order,
            .onlyInKiln("general.basename"): naming,
            .onlyInKiln("tokenizer.chat_template"): chatTemplate,
        ]
        if flax { d[.value("gemma2.attention.sliding_window")] = window }
        return d
    }

    /// The HF twin (Kiln's HF route, config.json's window 8) and the FLAT Kaggle-layout tree the library wrote (the
    /// family's window 4096) against llama.cpp's converter on the HF twin: every tensor byte for byte (the gating einsum
    /// in Gemma2_2B's (2, D, F) order included), every key and value but those justified.
    @Test(arguments: [(hf, "window 8, soft-caps 50/30 (HF names)", false), (flat, "window 4096, soft-caps 50/30 (Flax names)", true)],
          LlamaConverterGoldenTests.outtypes)
    func matchesLlamaCppConverter(_ input: (path: String, config: String, flax: Bool), _ outtype: String) throws {
        let (file, summary, _) = try Self.convert(input.path, type: outtype, modelName: "kiln-tiny-gemma2")
        #expect(summary.hasPrefix("gemma2 174K: 4 layers, d=64, heads 2/1 kv × 32, ffn 128, vocab 400, " + input.config), "\(summary)")
        try LlamaConverterGoldenTests().compare(golden: try LlamaConverterGoldenTests.golden("gemma2-tiny", "text", outtype, file: Self.goldens),
                                                kiln: try #require(file), expected: Self.justified(flax: input.flax),
                                                label: "gemma2 \(input.flax ? "FLAT" : "HF") \(outtype)")
    }

    /// The NESTED bfloat16 fine-tune (the (2, F, D) gating order): `--type auto` keeps BF16 and says so, and its
    /// tensors are the FLAT tree's rounded to bfloat16 (round to nearest even) — the two gating orders give the same
    /// GGUF tensors.
    @Test func nestedFineTuneIsTheFlatTreeInBF16() throws {
        let (auto, summary, _) = try Self.convert(Self.nested)
        #expect(summary.contains("read a NESTED Flax tree: 38 parameters"), "\(summary)")
        #expect(summary.contains("→ BF16 (llama.cpp's --outtype auto rule"), "\(summary)")
        #expect(summary.contains("gemma2 174K"), "\(summary)")
        let (flatFile, _, _) = try Self.convert(Self.flat, type: "f32")
        let a = try #require(auto), f = try #require(flatFile)
        #expect(a.metadata[key: GGUFKey.fileType]?.intValue == Int(LlamaFileType.mostlyBF16.rawValue))
        var checked = 0
        for t in a.tensorInfos where t.ne.count > 1 {
            #expect(t.type == .bf16, "\(t.name)")
            let raw = a.data(of: t), ref = f.data(of: try f.tensorInfo(named: t.name))
            let ours = (0 ..< raw.count / 2).map { raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self) }
            let want = (0 ..< ref.count / 4).map { Self.bf16(ref.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self)) }
            #expect(ours == want, "\(t.name)")
            checked += 1
        }
        #expect(checked == 29)
        // The same shapes give the same keys and values as the FLAT tree's (whose keys llama.cpp's converter judged),
        // but the file type and the name taken from the directory.
        let differing = Set(a.metadata.map(\.key)).union(f.metadata.map(\.key)).filter { k in
            a.metadata.first { $0.key == k }?.value != f.metadata.first { $0.key == k }?.value
        }
        #expect(differing == [GGUFKey.fileType, GGUFKey.name], "\(differing.sorted())")
    }

    /// float32 → bfloat16, round to nearest even (what jax's astype(bfloat16) does; no NaNs here).
    static func bf16(_ x: Float) -> UInt16 {
        let b = x.bitPattern
        return UInt16((b + 0x7FFF + ((b >> 16) & 1)) >> 16)
    }

    /// `--type auto` on the int4-grid tree: every weight matrix and the embedding packed losslessly as Q4_0; the
    /// dequantized values are the checkpoint's within the fp16 rounding of each block's scale.
    @Test func autoPacksTheGridLosslessly() throws {
        let (auto, summary, _) = try Self.convert(Self.flat)
        #expect(summary.contains("QAT int4 grid: 29 tensors packed losslessly as Q4_0"), "\(summary)")
        let (f32File, _, _) = try Self.convert(Self.flat, type: "f32")
        let a = try #require(auto), f = try #require(f32File)
        for t in a.tensorInfos where t.ne.count > 1 {
            #expect(t.type == .q4_0, "\(t.name)")
            let ref = f.data(of: try f.tensorInfo(named: t.name))
            let want = (0 ..< ref.count / 4).map { ref.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self) }
            var got = [Float](repeating: 0, count: want.count)
            try got.withUnsafeMutableBufferPointer { try Quantizer.dequantize(.ggml(.q4_0), a.data(of: t), count: want.count, into: $0) }
            for b in stride(from: 0, to: want.count, by: 32) {
                let block = want[b ..< b + 32], amax = block.map(abs).max()!
                // The scale amax/7 stored in fp16: relative error ≤ 2^-11, times |code| ≤ 8.
                let bound = amax / 7 * 8 * 0x1p-11
                #expect(zip(got[b ..< b + 32], block).allSatisfy { abs($0 - $1) <= bound + 1e-12 }, "\(t.name) block \(b / 32)")
            }
        }
    }

    /// `--dry-run` names the family, the config and every tensor's source and transform.
    @Test func dryRunShowsThePlan() throws {
        let (_, text, _) = try Self.convert(Self.flat, dryRun: true)
        #expect(text.contains("gemma2 174K: 4 layers"))
        #expect(text.contains("blk.0.ffn_gate.weight") && text.contains("gating_einsum.w select[0],permute(1,0)"))
        #expect(!text.contains("attn_q_norm"))
    }

    /// A preset applies as for Gemma 3 (llama-quantize's gemma2 rules via the shared QuantMix).
    @Test func presetsApply() throws {
        let (file, summary, _) = try Self.convert(Self.flat, type: "Q4_K_M")
        #expect(summary.contains("wrote "), "\(summary)")
        #expect(try #require(file).metadata[key: GGUFKey.fileType]?.intValue == Int(LlamaFileType.mostlyQ4_K_M.rawValue))
    }

    // MARK: The files llama.cpp ran

    /// scripts/gen_gemma_goldens.py --llama converted the fixtures with Kiln and let llama.cpp run them against the
    /// gemma library's logits; the recorded figures hold for the bytes Kiln writes today only if these digests still
    /// match (a regression lock tying the golden to the bytes; the evidence is llama.cpp's agreement with the library).
    ///
    /// The recorded figures must meet these bounds. F32: both sides compute in float32 from the same weights; llama.cpp
    /// keeps its KV cache in f16 and sums in another order (recorded: max |Δlogit| 0.0023–0.0025, mean KL ≤ 4e-9);
    /// bound 0.01. auto (lossless Q4_0): the weights differ by the fp16 rounding of each block's scale (≤ 0.00042
    /// here) and llama.cpp rounds the activations to Q8_0 for Q4_0 products (recorded: 0.094–0.099, mean KL 7e-6);
    /// bound 0.2 and mean KL ≤ 1e-4. Argmax equal everywhere in both (the library's smallest top-2 margin is 0.95).
    /// The window-8 golden's prompts all cross the window (its logits differ from the 4096-window ones by up to 1.25
    /// in log-sum-exp), so llama.cpp's agreement there shows the alternating window written as 8 is applied as 8.
    @Test(arguments: [("gemma2-tiny-flat", flat, ["llama_cpp_f32": "f32", "llama_cpp_auto": "auto"]),
                      ("gemma2-tiny-nested", nested, ["llama_cpp_f32": "f32"]),
                      ("gemma2-tiny-window8", hf, ["llama_cpp_f32": "f32", "llama_cpp_auto": "auto"])])
    func llamaRanTheseBytes(_ golden: String, _ input: String, _ runs: [String: String]) throws {
        let doc = try #require(try Fixtures.json("verify/\(golden).json") as? [String: Any])
        for (key, type) in runs.sorted(by: { $0.key < $1.key }) {
            let run = try #require(doc[key] as? [String: Any], "\(golden): no \(key)")
            let (_, _, digest) = try Self.convert(input, type: type)
            #expect(digest == run["gguf_sha256"] as? String, "\(golden) \(type): not the file llama.cpp ran")
            let maxAbs = try #require(run["max_abs_logit_diff"] as? Double), kl = try #require(run["kl_mean"] as? Double)
            let argmax = try #require(run["argmax_agreement"] as? Double)
            let (boundAbs, boundKL) = type == "f32" ? (0.01, 1e-7) : (0.2, 1e-4)
            #expect(maxAbs <= boundAbs && kl <= boundKL && argmax == 1, "\(golden) \(key): max |Δ| \(maxAbs), mean KL \(kl), argmax \(argmax)")
        }
    }

    /// llama.cpp's llama-quantize made Q4_K_M from Kiln's F32 conversion (scripts/gen_gemma_goldens.py recorded its
    /// sha256); Kiln's direct `--type Q4_K_M` conversion of the checkpoint must be that file, byte for byte.
    @Test(arguments: [("gemma2-tiny-flat", flat), ("gemma2-tiny-nested", nested), ("gemma2-tiny-window8", hf)])
    func presetIsWhatLlamaQuantizeWrites(_ golden: String, _ input: String) throws {
        let doc = try #require(try Fixtures.json("verify/\(golden).json") as? [String: Any])
        let record = try #require(doc["llama_quantize"] as? [String: Any])
        let preset = try #require(record["preset"] as? String)
        let (_, _, digest) = try Self.convert(input, type: preset)
        #expect(digest == record["sha256"] as? String, "\(golden) \(preset)")
    }

    // MARK: Recognition

    @Test func familiesRecogniseDisjointly() throws {
        let g2 = try SourceOpener.open(Self.flat), g3 = try SourceOpener.open(Fixtures.path("gemma3/tiny-kaggle"))
        #expect(Gemma2.recognizes(g2) && !Gemma3.recognizes(g2))
        #expect(Gemma3.recognizes(g3) && !Gemma2.recognizes(g3))
        #expect(try Architectures.family(of: g2) == Gemma2.self)
        #expect(try Architectures.family(of: try SourceOpener.open(Self.nested)) == Gemma2.self)
        #expect(try Architectures.family(of: try SourceOpener.open(Self.hf)) == Gemma2.self)
        #expect(try Architectures.family(of: try SourceOpener.open(Fixtures.path("gemma3/tiny-hf"))) == Gemma3.self)
    }

    /// A Gemma 2 tree without its post-attention and post-FFW norms has Gemma 1's layer: Gemma 1 claims it, not Gemma 2
    /// or 3 (Gemma1ConversionTests converts real Gemma 1 trees).
    @Test func withoutPostNormsItIsGemma1() throws {
        let g2 = try SourceOpener.open(Self.flat)
        let noPostNorms = FilteredSource(g2) { !$0.contains("post_attention_norm") && !$0.contains("post_ffw_norm") }
        #expect(!Gemma2.recognizes(noPostNorms) && !Gemma3.recognizes(noPostNorms))
        #expect(try Architectures.family(of: noPostNorms) == Gemma1.self)
        // A Gemma 3 tree that lost only its query norms still has key norms: no family claims it.
        let g3 = FilteredSource(try SourceOpener.open(Fixtures.path("gemma3/tiny-kaggle"))) { !$0.contains("_query_norm") }
        #expect(!Gemma2.recognizes(g3) && !Gemma3.recognizes(g3) && !Gemma1.recognizes(g3))
        #expect(throws: KilnError.self) { _ = try Architectures.family(of: g3) }
    }

    // MARK: Hostile inputs

    @Test func missingTensorIsNamed() throws {
        let s = AlteredSource(try SourceOpener.open(Self.flat), drop: "transformer/layer_3/post_ffw_norm.scale")
        #expect { _ = try Gemma2(source: s, vocabularySize: 400) } throws: { e in
            (e as? KilnError)?.tensor == "transformer/layer_3/post_ffw_norm.scale" && (e as? KilnError)?.kind == .notFound
        }
    }

    @Test(arguments: [("transformer/layer_2/attn/q_einsum.w", [2, 32, 64]), ("transformer/layer_0/mlp/gating_einsum.w", [3, 64, 128]),
                      ("transformer/layer_1/mlp/gating_einsum.w", [2, 128, 64]), ("transformer/layer_0/attn/kv_einsum.w", [2, 1, 64]),
                      ("transformer/embedder.input_embedding", [400]), ("transformer/final_norm.scale", [65])])
    func wrongShapeIsNamed(_ tensor: String, _ shape: [Int]) throws {
        let s = AlteredSource(try SourceOpener.open(Self.flat), reshape: (tensor, shape))
        #expect { _ = try Gemma2(source: s, vocabularySize: 400) } throws: { e in
            (e as? KilnError)?.tensor == tensor
        }
    }

    /// Every parameter is required: without any one of them, recognition or the config fails with a typed error
    /// (never a crash, never a GGUF missing a tensor).
    @Test func everyMissingParameterIsAnError() throws {
        let source = try SourceOpener.open(Self.flat)
        #expect(source.tensors.count == 38)
        for t in source.tensors {
            let s = AlteredSource(source, drop: t.name)
            #expect(throws: KilnError.self, "\(t.name)") { _ = try Gemma2(source: s, vocabularySize: 400) }
        }
    }

    @Test func hfWithoutConfigIsRefused() throws {
        let dir = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir) }
        for f in ["model.safetensors", "tokenizer.model"] { try FileManager.default.copyItem(atPath: Self.hf + "/" + f, toPath: dir + "/" + f) }
        #expect(performing: { _ = try Self.convert(dir) }, throws: { e in
            (e as? KilnError)?.kind == .notFound && (e as? KilnError)?.message.contains("config.json") == true
        })
    }

    @Test func tokenizerLargerThanTheEmbeddingIsRefused() throws {
        #expect(throws: KilnError.self) { _ = try Gemma2(source: try SourceOpener.open(Self.flat), vocabularySize: 401) }
    }

    /// config.json values a gemma2 GGUF cannot carry are refused naming the file, not silently changed.
    @Test func hfConfigsLlamaCppCannotExpressAreRefused() throws {
        let base = try String(contentsOfFile: Self.hf + "/config.json", encoding: .utf8)
        for (from, to) in [("\"query_pre_attn_scalar\": 32", "\"query_pre_attn_scalar\": 144"),
                           ("\"final_logit_softcapping\": 30.0", "\"final_logit_softcapping\": null"),
                           ("\"rope_theta\": 10000.0", "\"rope_theta\": 500000.0"),
                           ("\"model_type\": \"gemma2\"", "\"model_type\": \"gemma3\""),
                           ("\"sliding_window\": 8", "\"sliding_window\": -8")] {
            #expect(base.contains(from), "the fixture's config.json spells \(from)")
            let dir = Fixtures.tempDirectory()
            defer { Fixtures.cleanup(dir) }
            for f in ["model.safetensors", "tokenizer.model"] { try FileManager.default.copyItem(atPath: Self.hf + "/" + f, toPath: dir + "/" + f) }
            try base.replacingOccurrences(of: from, with: to).write(toFile: dir + "/config.json", atomically: true, encoding: .utf8)
            #expect(performing: { _ = try Self.convert(dir) }, throws: { e in (e as? KilnError)?.file == dir + "/config.json" })
        }
    }

    @Test func chatTemplateIsGoogles() {
        // sha256 of llama.cpp's vendored models/templates/google-gemma-2-2b-it.jinja (591 bytes), the chat_template of
        // google/gemma-2-2b-it's tokenizer_config.json.
        #expect(GemmaChatTemplate.gemma2.utf8.count == 591)
        #expect(Array(GemmaChatTemplate.gemma2.utf8).withUnsafeBytes { SHA256.hex($0) } == "ecd6ae513fe103f0eb62e8ab5bfa8d0fe45c1074fa398b089c93a7e70c15cfd6")
    }
}

/// A source with some tensors hidden (`keep` false) or one renamed, for recognition tests.
final class FilteredSource: TensorSource, @unchecked Sendable {
    let base: any TensorSource
    let tensors: [TensorInfo]
    var path: String { base.path }
    var formatName: String { base.formatName }

    init(_ base: any TensorSource, rename: (String, String)? = nil, keep: (String) -> Bool = { _ in true }) {
        self.base = base
        tensors = base.tensors.compactMap { t in
            guard keep(t.name) else { return nil }
            var c = t
            if let (from, to) = rename, t.name == from { c.name = to }
            return c
        }
    }

    func withBytes<R>(of tensor: TensorInfo, rows: Range<Int>, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try base.withBytes(of: tensor, rows: rows, body)
    }
}
