import Foundation
import GGUFWriter
import KilnTestSupport
import RefInference
import Tokenizers
import Testing

/// The engine against llama.cpp on the real Gemma 3 270M (Q4_K_M) and on requantizations of it (made by Kiln's convert,
/// byte-identical to llama-quantize's: RequantizeTests).
@Suite(RealModel.required("EngineGoldenTests"), .serialized) struct EngineGoldenTests {
    func check(model path: String, goldens: String, threads: Int = 2) throws {
        let g = try EngineGoldens(goldens)
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
        for f in total.failures.prefix(10) { Issue.record(Comment(rawValue: f)) }
        #expect(total.failures.isEmpty)
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
}
