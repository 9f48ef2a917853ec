import Foundation
import GGUFWriter
import KilnCore
import KilnTestSupport
import RefInference
import Tokenizers
import Testing

/// The engine against llama.cpp on the real Gemma 3 270M (Q4_K_M) and on requantizations of it (made by Kiln's convert,
/// byte-identical to llama-quantize's: RequantizeTests and the goldens' recorded llama-quantize digests).
@Suite(RealModel.required("EngineGoldenTests"), .serialized) struct EngineGoldenTests {
    /// `knownFlips`: failures recorded as known issues, each named exactly by its case and greedy step (see q2_K);
    /// any other failure, and every other criterion, still fails the test.
    func check(model path: String, goldens: String, threads: Int = 2, knownFlips: [String] = []) throws {
        let g = try EngineGoldens(goldens)
        if let want = g.modelSHA256 {
            // The golden is llama.cpp's logits on one exact file; a different file (a stale cache, a changed
            // `convert`) would compare the engine with logits of other weights.
            try #require(try SHA256.hex(ofFile: path) == want, "\(path) is not the file llama.cpp ran (\(g.model), sha256 \(want))")
        }
        let file = try GGUFFile(path: path)
        let engine = try GemmaEngine(gguf: file, options: EngineOptions(threads: threads, contextLength: 256))
        let tokenizer = try SPMTokenizer(metadata: file.metadata)
        var total = EngineAgreement()
        for c in g.cases {
            #expect(tokenizer.tokenize(c.text, addBOS: true, parseSpecial: true) == c.ids, "tokenization of \(c.name)")
            let a = try EngineAgreement.measure(engine, c)
            total.merge(a)
        }
        print("[\(g.model)] \(total)")
        let isKnown = { (f: String) in knownFlips.contains { f.hasPrefix($0 + ":") } }
        for f in total.failures where isKnown(f) {
            withKnownIssue(Comment(rawValue: f)) { Issue.record(Comment(rawValue: f)) }
        }
        let failures = total.failures.filter { !isKnown($0) }
        for f in failures.prefix(10) { Issue.record(Comment(rawValue: f)) }
        #expect(failures.isEmpty)
        #expect(total.rawDeltaOver * 100 <= total.positions * 3, "raw |Δ| > 1.5 at \(total.rawDeltaOver) of \(total.positions) positions")
        #expect(total.top5Under4 * 100 <= total.positions * 3, "top-5 overlap < 4 at \(total.top5Under4) of \(total.positions) positions")
        #expect(total.argmaxAgree * 100 >= total.positions * 95, "argmax agreement \(total.argmaxAgree)/\(total.positions)")
        #expect(total.greedyChecked > 0)
    }

    @Test func q4KM() throws {
        try check(model: try RealModel.gemma270m(), goldens: "engine/goldens_q4_k_m.json")
    }

    @Test func q8_0() throws { try check(model: try RealModel.variant("gemma-3-270m-q8_0.gguf"), goldens: "engine/goldens_q8_0.json") }

    @Test func q4_0() throws { try check(model: try RealModel.variant("gemma-3-270m-q4_0.gguf"), goldens: "engine/goldens_q4_0.json") }

    @Test func f16() throws { try check(model: try RealModel.variant("gemma-3-270m-f16.gguf"), goldens: "engine/goldens_f16.json") }

    // More weight types, each on the engine's fast path, against llama.cpp's logits on the same file. The variants
    // are made by Kiln's own `convert --type T --allow-requantize` from the 270M file (scripts/prepare-real-model.sh;
    // the goldens record each file's sha256, checked above, and that llama.cpp's quantizer writes identical bytes).
    // Same criteria as the types above (see `EngineAgreement.measure`): the tolerances are set by llama.cpp's own
    // batch-size noise, which does not depend on the weight type, and the per-type kernels are checked bit-level
    // against the reference path in EngineTinyModelTests.eachWeightType.

    /// Q2_K (attn_output, ffn_down; the rest Q4_0/Q5_0/Q8_0) and Q5_1 were a recorded known issue until their kernels
    /// followed llama.cpp's: the engine's argmax differed from llama.cpp's at 9 and 6 of 112 positions (103/112 and
    /// 106/112), near ties all, while llama.cpp itself, n_batch 1 against 256, flips 4 of 112. The engine computed Q2_K
    /// and Q5_1 on its Swift reference path (Q5_1 against Q8_0 activations instead of Q8_1 with its f16 block sums), and
    /// Q4_0 in vec_dot's 8-lane order where llama.cpp runs its repacked Q4_0x8 gemm. With the kernels copying
    /// ggml-cpu's own paths (Q8_1 vec_dot for Q4_1/Q5_1; the tiled K-quant matmul for batches of 8 or more and vec_dot
    /// below for Q2_K/Q3_K; the repacked Q4_0 gemm/gemv), layer 0's products of both files equal llama.cpp's bit for
    /// bit (EngineVariantStageTests) and the agreement is 110/112 (Q2_K) and 109/112 (Q5_1).
    ///
    /// One greedy step of Q2_K stays a known issue: "raw-france" step 4, where llama.cpp's top-2 margin is 0.352 (just
    /// over the 0.3 tie margin) and the engine picks the runner-up. llama.cpp against itself (the same prompt with
    /// n_batch 1) moves that margin to 0.413 and flips step 6 (margin 0.057) instead; the engine's remaining
    /// differences are outside the matrix products (attention, RoPE: ~5e-8 relative per stage in EngineStageTests),
    /// amplified through the 18 layers of this low-bit file.
    @Test
    func q2_K() throws {
        try check(model: try RealModel.variant("gemma-3-270m-q2_k.gguf"), goldens: "engine/goldens_q2_k.json",
                  knownFlips: ["raw-france greedy step 4"])
    }

    @Test
    func q3_K_M() throws { try check(model: try RealModel.variant("gemma-3-270m-q3_k_m.gguf"), goldens: "engine/goldens_q3_k_m.json") }

    @Test
    func q5_K_M() throws { try check(model: try RealModel.variant("gemma-3-270m-q5_k_m.gguf"), goldens: "engine/goldens_q5_k_m.json") }

    @Test
    func q4_1() throws { try check(model: try RealModel.variant("gemma-3-270m-q4_1.gguf"), goldens: "engine/goldens_q4_1.json") }

    @Test
    func q5_1() throws { try check(model: try RealModel.variant("gemma-3-270m-q5_1.gguf"), goldens: "engine/goldens_q5_1.json") }

    /// BF16 computes as llama.cpp's CPU backend does (activations rounded to bf16, products in float; issue 11).
    @Test
    func bf16() throws { try check(model: try RealModel.variant("gemma-3-270m-bf16.gguf"), goldens: "engine/goldens_bf16.json") }
}
