import CKernels
import Foundation
import GGUFWriter
import KilnCore
import KilnTestSupport
import RefInference
import Testing

/// Gemma 2 on the engine, against the two reference implementations (scripts/make_tiny_gemma2_gguf.py): a tiny random
/// `Gemma2ForCausalLM` made by transformers 4.57.6, converted by llama.cpp's own `convert_hf_to_gguf.py` (llama-cpp-python
/// 0.3.36's tree) to F32 and Q8_0; llama.cpp's logits on each GGUF and transformers' float32 logits (eager attention,
/// the implementation that applies the attention soft-cap). 4 layers, d=64, 2 heads / 1 KV head of 32, window 8 on
/// layers 0 and 2, attention soft-cap 50, final soft-cap 30; two prompts of 24 and 40 tokens.
@Suite struct Gemma2EngineTests {
    static let f32 = Fixtures.path("gemma2/tiny-gemma2-f32.gguf")
    static let q8 = Fixtures.path("gemma2/tiny-gemma2-q8_0.gguf")

    static func prompts() throws -> [[Int32]] {
        let doc = try #require(try Fixtures.json("gemma2/tiny-gemma2.json") as? [String: Any])
        let raw = try #require(doc["prompts"] as? [[NSNumber]])
        return raw.map { $0.map { Int32($0.intValue) } }
    }

    /// `gemma2/NAME.npy`: `[Σ T, vocab]` logits, the prompts concatenated.
    static func golden(_ name: String) throws -> [Float] {
        try NpyFile(path: Fixtures.path("gemma2/\(name).npy")).floats
    }

    static func maxAbs(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count)
        return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    /// Every prompt's logits at every position, each prompt from position 0.
    static func engineLogits(_ engine: GemmaEngine, _ prompts: [[Int32]]) throws -> [Float] {
        var out: [Float] = []
        for p in prompts {
            engine.reset()
            out += try engine.evaluate(p, allLogits: true)
        }
        return out
    }

    /// The streamed float path's logits for every prompt (one `finalHidden` call, logits in blocks of 16 positions).
    static func streamedLogits(_ model: StreamedFloatModel, _ prompts: [[Int32]]) throws -> [Float] {
        let hidden = try model.finalHidden(prompts, progress: nil)
        let d = model.config.embeddingLength, vocab = model.config.vocabularySize
        var out: [Float] = []
        for (tokens, h) in zip(prompts, hidden) {
            var rows = [Float](repeating: 0, count: tokens.count * vocab)
            var p = 0
            while p < tokens.count {
                let n = min(16, tokens.count - p)
                try h.withUnsafeBufferPointer { hb in
                    try rows.withUnsafeMutableBufferPointer { ob in
                        try model.logits(hidden: UnsafeBufferPointer(rebasing: hb[p * d ..< (p + n) * d]), count: n,
                                         into: UnsafeMutableBufferPointer(rebasing: ob[p * vocab ..< (p + n) * vocab]))
                    }
                }
                p += n
            }
            out += rows
        }
        return out
    }

    static func config(_ file: GGUFFile) throws -> GemmaConfig {
        let embd = try file.tensorInfo(named: GGUFTensorName.tokenEmbedding)
        return try GemmaConfig(metadata: file.metadata, vocabularySize: embd.ne[1], file: file.path)
    }

    /// What the gemma2 reader makes of llama.cpp's converted metadata: the family's rules, not Gemma 3's.
    @Test func configFromLlamaCppMetadata() throws {
        let c = try Self.config(try GGUFFile(path: Self.f32))
        #expect(c.architecture == "gemma2" && !c.queryKeyNorm)
        #expect(c.attentionLogitSoftcap == 50 && c.finalLogitSoftcap == 30)
        #expect(c.slidingWindow == 8 && c.slidingWindowPattern == 2)
        #expect(c.isSliding(layer: 0) && !c.isSliding(layer: 1) && c.isSliding(layer: 2) && !c.isSliding(layer: 3))
        #expect(c.rope(layer: 0) == c.rope(layer: 1) && c.ropeBaseGlobal == 10_000)
        #expect(c.attentionScale == 1 / Float(32).squareRoot() && c.headCountKV == 1 && c.vocabularySize == 420)
        // Both prompts are longer than the window, so the sliding layers mask keys.
        #expect(try Self.prompts().allSatisfy { $0.count > 2 * c.slidingWindow })
    }

    /// llama.cpp on each GGUF against the fast path (llama.cpp's CPU numerics: f16 q/K/V and probabilities, Q8_0
    /// activations for Q8_0 weights, the f16 GELU table, soft-caps in float32).
    ///
    /// On AVX2 the 24-token prompt is bit-exact on the Q8_0 file (measured max |Δ| 0): every Gemma 2 step — the
    /// score soft-cap before the mask, the alternating window, the final cap, no q/k norms — computes what llama.cpp
    /// computes. What is left is one pre-existing difference of the shared attention block, not of Gemma 2: ggml's
    /// CPU softmax (`ggml_vec_soft_max_f32`) takes exp with its vectorized `ggml_v_expf` on blocks of 8 keys and adds
    /// them in float lanes, where `attend` uses libm's `expf` and a double sum. An ulp in a probability can flip its
    /// f16 rounding; this model's deliberately sharp attention (scores up to ~60, so that the cap at 50 matters) then
    /// amplifies it. Teacher-forced on llama.cpp's own stage inputs, layer 1's attention output of the 40-token
    /// prompt differs by 3e-4 while every other stage is exact. Measured on the whole logits: F32 0.00095 (its
    /// products also sum in another order than llama.cpp's F32 gemm: ~1e-6 per projection), Q8_0 0.31 on a few
    /// positions of the 40-token prompt (a flipped Q8 activation rounding on top), of logits up to 29.6. Bounds: 0.01
    /// for F32 and 0.6 for Q8_0 (2% of the largest logit; a real error — a missing cap, the window on the wrong
    /// layers, a q/k norm — moves logits by 1.5 to 46, see `windowAndSoftCapsMatter`), every position's argmax equal.
    @Test(arguments: [("f32", 0.01 as Float), ("q8_0", 0.6 as Float)])
    func fastPathMatchesLlamaCpp(_ type: String, _ bound: Float) throws {
        let engine = try GemmaEngine(path: Fixtures.path("gemma2/tiny-gemma2-\(type).gguf"),
                                     options: EngineOptions(threads: 2, contextLength: 64))
        let prompts = try Self.prompts()
        let ours = try Self.engineLogits(engine, prompts)
        let llama = try Self.golden("tiny-gemma2-llama-\(type)")
        let d = Self.maxAbs(ours, llama)
        print("[gemma2 \(type)] fast vs llama.cpp: max |Δ| \(d) (max |logit| \(llama.map { abs($0) }.max()!))")
        #expect(d <= bound)
        let vocab = engine.config.vocabularySize
        for r in 0 ..< ours.count / vocab {
            let row = r * vocab ..< (r + 1) * vocab
            #expect(Sampler.argmax(Array(ours[row])) == Sampler.argmax(Array(llama[row])), "position \(r)")
        }
        if type == "q8_0" && ck_uses_avx2() != 0 {
            let first = prompts[0].count * vocab
            #expect(Array(ours[..<first]) == Array(llama[..<first]), "AVX2: the 24-token prompt bit-exact")
        }
    }

    /// transformers' float32 logits against Kiln's two float32 paths on the F32 GGUF (llama.cpp's converter writes
    /// the same float32 weights, the norms with transformers' `1 + w` folded in): the streamed float path
    /// (`StreamedFloatModel`, what verify runs on the source) and the engine's plain reference path on float weights
    /// (`GemmaWeights(source:)`, what `chat CKPT` runs). Only summation order (torch's blocked reductions and matmuls
    /// against ours, sums of squares in double here) and the soft-caps' `x · (1/cap)` against transformers' `x / cap`
    /// differ: float32 roundings of ~1e-7 relative, which the 4 layers and attention scores up to ~60 amplify to the
    /// 1e-5 range on logits of magnitude 30. Bound: 1e-4.
    @Test func floatPathsMatchTransformers() throws {
        let file = try GGUFFile(path: Self.f32)
        let config = try Self.config(file)
        let prompts = try Self.prompts()
        let hf = try Self.golden("tiny-gemma2-hf")
        let streamed = try Self.streamedLogits(StreamedFloatModel(source: file, config: config, options: FloatPathOptions(threads: 2)), prompts)
        let ds = Self.maxAbs(streamed, hf)
        let engine = try GemmaEngine(config: config, weights: try GemmaWeights(source: file, config: config),
                                     options: EngineOptions(threads: 2, contextLength: 64, path: .reference, llamaCppNumerics: false))
        let de = Self.maxAbs(try Self.engineLogits(engine, prompts), hf)
        print("[gemma2] streamed float path vs transformers: max |Δ| \(ds); engine plain reference: \(de)")
        #expect(ds <= 1e-4)
        #expect(de <= 1e-4)
    }

    /// The sliding window and both soft-caps are exercised by the goldens: dropping any one of them from the config
    /// moves the plain float path's logits away from transformers' by far more than the 1e-4 agreement above.
    @Test(arguments: ["window", "attention soft-cap", "final soft-cap"])
    func windowAndSoftCapsMatter(_ feature: String) throws {
        let file = try GGUFFile(path: Self.f32)
        var config = try Self.config(file)
        switch feature {
        case "window": config.slidingWindow = 0
        case "attention soft-cap": config.attentionLogitSoftcap = nil
        default: config.finalLogitSoftcap = nil
        }
        let model = try StreamedFloatModel(source: file, config: config, options: FloatPathOptions(threads: 2))
        let d = Self.maxAbs(try Self.streamedLogits(model, try Self.prompts()), try Self.golden("tiny-gemma2-hf"))
        print("[gemma2] without the \(feature): max |Δ| \(d) from transformers")
        #expect(d > 0.1)
    }

    // MARK: Hostile metadata

    static func metadata() throws -> [GGUFMetadataEntry] { try GGUFFile(path: Self.f32).metadata }

    static func replacing(_ meta: [GGUFMetadataEntry], _ key: String, with value: GGUFValue?) -> [GGUFMetadataEntry] {
        var m = meta.filter { $0.key != key }
        if let value { m.append(GGUFMetadataEntry(key, value)) }
        return m
    }

    /// Missing required keys, and zero, negative or non-finite values where llama.cpp would divide by zero or mask
    /// every key, are typed errors naming the key — never a crash or a NaN model.
    @Test(arguments: [
        ("gemma2.embedding_length", nil), ("gemma2.block_count", nil), ("gemma2.attention.head_count", nil),
        ("gemma2.feed_forward_length", nil), ("gemma2.attention.layer_norm_rms_epsilon", nil),
        ("gemma2.attention.layer_norm_rms_epsilon", GGUFValue.float32(0)),
        ("gemma2.attn_logit_softcapping", GGUFValue.float32(0)), ("gemma2.attn_logit_softcapping", GGUFValue.float32(-50)),
        ("gemma2.final_logit_softcapping", GGUFValue.float32(0)), ("gemma2.final_logit_softcapping", GGUFValue.float32(.nan)),
        ("gemma2.final_logit_softcapping", GGUFValue.float32(.infinity)),
        ("gemma2.attention.sliding_window", GGUFValue.uint32(0)), ("gemma2.attention.sliding_window_pattern", GGUFValue.uint32(0)),
        ("gemma2.attention.head_count_kv", GGUFValue.uint32(0)), ("gemma2.attention.head_count_kv", GGUFValue.uint32(3)),
        ("gemma2.attention.key_length", GGUFValue.uint32(0)), ("gemma2.embedding_length", GGUFValue.uint64(1 << 40)),
        ("gemma2.rope.freq_base", GGUFValue.float32(0)),
    ] as [(String, GGUFValue?)])
    func badGemma2Metadata(_ key: String, _ value: GGUFValue?) throws {
        let meta = try Self.metadata()
        #expect((try? GemmaConfig(metadata: meta, vocabularySize: 420, file: "x.gguf")) != nil)
        let error = #expect(throws: KilnError.self) {
            try GemmaConfig(metadata: Self.replacing(meta, key, with: value), vocabularySize: 420, file: "x.gguf")
        }
        #expect(error?.description.contains(key) == true, "\(error.map { "\($0)" } ?? "")")
    }

    /// Absent soft-cap and window keys take llama.cpp's gemma2 defaults (llama-hparams.h: 50 and 30; gemma2.cpp: 4096).
    @Test func absentOptionalKeysTakeLlamaCppDefaults() throws {
        var meta = try Self.metadata()
        for key in ["gemma2.attn_logit_softcapping", "gemma2.final_logit_softcapping", "gemma2.attention.sliding_window"] {
            meta = Self.replacing(meta, key, with: nil)
        }
        let c = try GemmaConfig(metadata: meta, vocabularySize: 420)
        #expect(c.attentionLogitSoftcap == 50 && c.finalLogitSoftcap == 30 && c.slidingWindow == 4096)
    }

    /// An architecture no family runs is an error that lists the supported ones.
    @Test func unknownArchitectureListsTheSupportedOnes() throws {
        let meta = Self.replacing(try Self.metadata(), GGUFKey.architecture, with: .string("llama"))
        let error = #expect(throws: KilnError.self) { try GemmaConfig(metadata: meta, vocabularySize: 420, file: "x.gguf") }
        let text = error.map { "\($0)" } ?? ""
        #expect(text.contains("llama") && text.contains("gemma3") && text.contains("gemma2"), "\(text)")
        #expect(ModelFamilies.supported == ["gemma3", "gemma2", "gemma"])
    }
}
