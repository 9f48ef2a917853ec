import Conversion
import Foundation
import GGUFWriter
import KilnCLI
import KilnCore
import KilnTestSupport
import QuantCore
import Testing

/// Gemma 1 / CodeGemma (llama.cpp `gemma`) conversion judged by references that do not share Kiln's understanding of
/// the format:
/// - the fixtures are written by gemma-llm 1.0.0, Google DeepMind's original Gemma 1 Flax library
///   (scripts/make_gemma1_fixtures.py): FLAT Kaggle-layout trees in both release layouts — 2B-style multi-query
///   (`q_einsum` + `kv_einsum`, float32 on the int4 grid) and 7B-style (fused `qkv_einsum`, plain float32) — each read
///   back equal, with the intended config, by the library's `load_and_format_params` + `TransformerConfig.from_params`;
/// - llama.cpp's own `convert_hf_to_gguf.py` (`GemmaModel`) ran on the same weights written as `GemmaForCausalLM` by
///   transformers (fixtures/llama-converter/gemma1-tiny-*-goldens.json): names, shapes, types, key order and values,
///   tensor digests;
/// - the library's own float32 logits on the fixtures (fixtures/verify/gemma1-tiny-*.json), for Kiln's engine and
///   `verify`'s source float path (bounds and reasons: `GemmaLibraryGoldenTests`).
@Suite struct Gemma1ConversionTests {
    static let fixtures = ["tiny-2b", "tiny-7b"]
    static func flax(_ name: String) -> String { Fixtures.path("gemma1/\(name)") }
    static func hf(_ name: String) -> String { Fixtures.path("llama-converter/gemma1-\(name)") }

    static let naming = "general.* naming: llama.cpp derives basename \"gemma1-tiny\" and finetune \"2b\"/\"7b\" from the HF twin's directory name; Kiln writes the model family (basename \"gemma\") and no finetune; llama.cpp never reads these keys"

    /// Every difference from llama.cpp's file, with its reason (`LlamaConverterGoldenTests.compare` fails on any other,
    /// and on a listed one that no longer occurs).
    static let justified: [LlamaConverterGoldenTests.Difference: String] = [
        .keyOrder: "general.file_type: Kiln writes it with general.quantization_version after the tokenizer keys (as for Gemma 2 and 3); " + LlamaConverterGoldenTests.order,
        .tensorOrder: LlamaConverterGoldenTests.order,
        .value("general.basename"): naming,
        .onlyInLlamaCpp("general.finetune"): naming,
    ]

    /// The FLAT Flax trees the library wrote and their HF twins (Kiln's HF route) against llama.cpp's converter on the
    /// HF twin: every tensor byte for byte (the fused qkv_einsum split into attn_q/k/v included), every key and value
    /// but those justified — `eot_token_id` 107 included, and none of the CodeGemma FIM ids llama.cpp's gguf-py has no
    /// writer for.
    @Test(arguments: [("tiny-2b", false), ("tiny-2b", true), ("tiny-7b", false), ("tiny-7b", true)], LlamaConverterGoldenTests.outtypes)
    func matchesLlamaCppConverter(_ input: (name: String, flax: Bool), _ outtype: String) throws {
        let path = input.flax ? Self.flax(input.name) : Self.hf(input.name)
        let (file, summary, _) = try Gemma2ConversionTests.convert(path, type: outtype, modelName: "kiln-tiny-gemma1")
        let heads = input.name == "tiny-2b" ? "2/1" : "2/2"
        #expect(summary.contains("gemma \(input.name == "tiny-2b" ? "137K" : "149K"): 3 layers, d=64, heads \(heads) kv × 32, ffn 128, vocab 400"), "\(summary)")
        #expect(summary.contains("fused qkv_einsum") == (input.name == "tiny-7b" && input.flax), "\(summary)")
        try LlamaConverterGoldenTests().compare(
            golden: try LlamaConverterGoldenTests.golden("gemma1-\(input.name)", "text", outtype, file: "gemma1-\(input.name)-goldens.json"),
            kiln: try #require(file), expected: Self.justified, label: "gemma1 \(input.name) \(input.flax ? "FLAT" : "HF") \(outtype)")
    }

    /// `--type auto` on the int4-grid 2B-style tree packs every weight matrix and the embedding losslessly as Q4_0.
    @Test func autoPacksTheGridLosslessly() throws {
        let (auto, summary, _) = try Gemma2ConversionTests.convert(Self.flax("tiny-2b"))
        #expect(summary.contains("QAT int4 grid: 22 tensors packed losslessly as Q4_0"), "\(summary)")
        let a = try #require(auto)
        for t in a.tensorInfos where t.ne.count > 1 { #expect(t.type == .q4_0, "\(t.name)") }
    }

    /// llama.cpp (llama-cpp-python 0.3.36, scripts/make_gemma1_fixtures.py --llama) ran Kiln's conversions of the
    /// library-written trees against gemma-llm's logits: the digests tie those figures to the bytes Kiln still writes.
    /// Measured: F32 max |Δlogit| 7.8e-4 (2B-style) / 6.4e-4 (7B-style), mean KL 3e-9; lossless Q4_0 (2B-style) 0.033,
    /// mean KL 1.1e-5; argmax equal at all 404 positions. Bounds as for Gemma 2 (`Gemma2ConversionTests`): llama.cpp
    /// keeps its KV cache in f16, so F32 ≤ 0.01 / KL ≤ 1e-7, and Q4_0 (fp16 block scales, q8_0 activations) ≤ 0.2 / 1e-4.
    @Test(arguments: [("tiny-2b", ["llama_cpp_f32": "f32", "llama_cpp_auto": "auto"]), ("tiny-7b", ["llama_cpp_f32": "f32"])])
    func llamaRanTheseBytes(_ name: String, _ runs: [String: String]) throws {
        let doc = try #require(try Fixtures.json("verify/gemma1-\(name).json") as? [String: Any])
        for (key, type) in runs.sorted(by: { $0.key < $1.key }) {
            let run = try #require(doc[key] as? [String: Any], "\(name): no \(key)")
            let (_, _, digest) = try Gemma2ConversionTests.convert(Self.flax(name), type: type)
            #expect(digest == run["gguf_sha256"] as? String, "\(name) \(type): not the file llama.cpp ran")
            let maxAbs = try #require(run["max_abs_logit_diff"] as? Double), kl = try #require(run["kl_mean"] as? Double)
            let argmax = try #require(run["argmax_agreement"] as? Double)
            let (boundAbs, boundKL) = type == "f32" ? (0.01, 1e-7) : (0.2, 1e-4)
            #expect(maxAbs <= boundAbs && kl <= boundKL && argmax == 1, "\(name) \(key): max |Δ| \(maxAbs), mean KL \(kl), argmax \(argmax)")
        }
    }

    // MARK: Recognition and hostile inputs

    @Test func familiesRecogniseDisjointly() throws {
        for name in Self.fixtures {
            for path in [Self.flax(name), Self.hf(name)] {
                let s = try SourceOpener.open(path)
                #expect(Gemma1.recognizes(s) && !Gemma2.recognizes(s) && !Gemma3.recognizes(s), "\(path)")
                #expect(try Architectures.family(of: s) == Gemma1.self)
            }
        }
        for other in ["gemma2/tiny-flat", "gemma3/tiny-kaggle", "llama-converter/gemma2-tiny", "gemma3/tiny-hf"] {
            #expect(!Gemma1.recognizes(try SourceOpener.open(Fixtures.path(other))), "\(other)")
        }
    }

    /// Every parameter of both layouts is required: without any one, recognition or the config fails with a typed
    /// error (never a crash, never a GGUF missing a tensor).
    @Test(arguments: fixtures) func everyMissingParameterIsAnError(_ name: String) throws {
        let source = try SourceOpener.open(Self.flax(name))
        #expect(source.tensors.count == (name == "tiny-2b" ? 23 : 20))
        for t in source.tensors {
            let s = AlteredSource(source, drop: t.name)
            #expect(throws: KilnError.self, "\(t.name)") { _ = try Gemma1(source: s, vocabularySize: 400) }
        }
    }

    @Test(arguments: [("tiny-7b", "transformer/layer_0/attn/qkv_einsum.w", [2, 2, 64, 32]),
                      ("tiny-7b", "transformer/layer_1/attn/qkv_einsum.w", [3, 2, 64, 16]),
                      ("tiny-7b", "transformer/layer_0/attn/qkv_einsum.w", [3, 2, 63, 32]),
                      ("tiny-2b", "transformer/layer_2/attn/q_einsum.w", [2, 32, 64]),
                      ("tiny-2b", "transformer/layer_0/mlp/gating_einsum.w", [3, 64, 128]),
                      ("tiny-2b", "transformer/layer_1/pre_ffw_norm.scale", [65]),
                      ("tiny-7b", "transformer/embedder.input_embedding", [400])])
    func wrongShapeIsNamed(_ name: String, _ tensor: String, _ shape: [Int]) throws {
        let s = AlteredSource(try SourceOpener.open(Self.flax(name)), reshape: (tensor, shape))
        #expect { _ = try Gemma1(source: s, vocabularySize: 400) } throws: { e in
            (e as? KilnError)?.tensor == tensor
        }
    }

    @Test func tokenizerLargerThanTheEmbeddingIsRefused() throws {
        #expect(throws: KilnError.self) { _ = try Gemma1(source: try SourceOpener.open(Self.flax("tiny-7b")), vocabularySize: 401) }
    }

    /// config.json values a gemma GGUF cannot carry are refused naming the file.
    @Test func hfConfigsLlamaCppCannotExpressAreRefused() throws {
        let hf = Self.hf("tiny-2b")
        let base = try String(contentsOfFile: hf + "/config.json", encoding: .utf8)
        for (from, to) in [("\"rope_theta\": 10000.0", "\"rope_theta\": 500000.0"), ("\"model_type\": \"gemma\"", "\"model_type\": \"gemma2\""),
                           ("\"head_dim\": 32", "\"head_dim\": -32")] {
            #expect(base.contains(from), "the fixture's config.json spells \(from)")
            let dir = Fixtures.tempDirectory()
            defer { Fixtures.cleanup(dir) }
            for f in ["model.safetensors", "tokenizer.model"] { try FileManager.default.copyItem(atPath: hf + "/" + f, toPath: dir + "/" + f) }
            try base.replacingOccurrences(of: from, with: to).write(toFile: dir + "/config.json", atomically: true, encoding: .utf8)
            #expect(performing: { _ = try Gemma2ConversionTests.convert(dir) }, throws: { e in (e as? KilnError)?.file == dir + "/config.json" })
        }
    }
}

/// Gemma 1: gemma-llm 1.0.0's own float32 logits (scripts/make_gemma1_fixtures.py) on the FLAT trees it wrote, against
/// Kiln's engine on the F32 conversion and `verify`'s source float path; the HF twins hold the same weights, so Kiln's
/// conversion of them must compute the same. Same bounds and reasons as for Gemma 2 and 3 (`GemmaLibraryGoldenTests`):
/// both sides compute in float32 from the same weights. No post norms, no soft-caps, no window, the 1/√head_dim query
/// scale, the fused and the multi-query attention are all inside these logits.
@Suite struct GemmaLibraryGemma1GoldenTests {
    @Test(arguments: Gemma1ConversionTests.fixtures)
    func tinyGemma1MatchesGemmaLlm(_ name: String) throws {
        let golden = "verify/gemma1-\(name).json"
        try GemmaLibraryGolden.check(golden, checkpoint: Gemma1ConversionTests.flax(name), via: .f32Conversion)
        try GemmaLibraryGolden.check(golden, checkpoint: Gemma1ConversionTests.flax(name), via: .sourceFloatPath)
        try GemmaLibraryGolden.check(golden, checkpoint: Gemma1ConversionTests.hf(name), via: .f32Conversion)
        // The fast path (llama.cpp's CPU numerics, as `chat` runs): within the same bounds, as llama.cpp itself is
        // (its figures on these conversions: max |Δ| ≤ 7.8e-4, mean KL 3e-9).
        try GemmaLibraryGolden.check(golden, checkpoint: Gemma1ConversionTests.flax(name), via: .f32ConversionFast)
    }
}
