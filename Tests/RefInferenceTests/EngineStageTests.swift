import Foundation
import GGUFWriter
import KilnCore
import KilnTestSupport
import RefInference
import Testing

/// Teacher-forced, stage by stage: each stage of the recorded layers (0: sliding, 5: global) and the output norm runs from
/// llama.cpp's own input to that stage (dumped by scripts/llama_stages.py for scripts/gen_engine_goldens.py) and must
/// match llama.cpp's output of the stage to a relative error (‖ours − theirs‖₂ / ‖theirs‖₂) of at most 1e-4.
@Suite struct EngineStageTests {
    static func load(_ key: String) throws -> [Float] {
        try NpyFile(path: Fixtures.path("engine/stages/" + key.replacingOccurrences(of: "#", with: "_") + ".npy")).floats
    }

    static func relativeError(_ a: [Float], _ b: [Float]) -> Double {
        precondition(a.count == b.count, "\(a.count) vs \(b.count)")
        var num = 0.0, den = 0.0
        for i in a.indices { let d = Double(a[i]) - Double(b[i]); num += d * d; den += Double(b[i]) * Double(b[i]) }
        return (num / max(den, 1e-30)).squareRoot()
    }

    @Test(RealModel.required("EngineStageTests")) func stagesMatchLlamaCpp() throws {
        let meta = try #require(try Fixtures.json("engine/stages/stages.json") as? [String: Any])
        let ids = (meta["ids"] as! [NSNumber]).map { Int32($0.intValue) }
        let engine = try GemmaEngine(path: try RealModel.gemma270m(), options: EngineOptions(threads: 2, contextLength: 64))
        let T = ids.count, pos = 0 ..< T
        var worst: [(String, Double)] = []
        func check(_ name: String, _ ours: [Float], limit: Double = 1e-4) throws {
            let e = Self.relativeError(ours, try Self.load(name))
            worst.append((name, e))
            #expect(e <= limit, "\(name): relative error \(e)")
        }
        try check("inp_scaled", engine.embed(ids))
        for il in (meta["layers"] as! [NSNumber]).map(\.intValue) {
            let L = engine.weights.layers[il]
            let lIn = try Self.load(il == 0 ? "inp_scaled" : "l_out-\(il - 1)")
            try check("attn_norm-\(il)", engine.rmsNorm(lIn, weight: L.attnNorm))
            let an = try Self.load("attn_norm-\(il)")
            try check("Qcur-\(il)", engine.matmul(L.q, an))
            try check("Kcur-\(il)", engine.matmul(L.k, an))
            try check("Vcur-\(il)", engine.matmul(L.v, an))
            try check("Qcur_normed-\(il)", engine.rmsNorm(try Self.load("Qcur-\(il)"), weight: try #require(L.qNorm)))
            try check("Kcur_normed-\(il)", engine.rmsNorm(try Self.load("Kcur-\(il)"), weight: try #require(L.kNorm)))
            var q = try Self.load("Qcur_normed-\(il)"), k = try Self.load("Kcur_normed-\(il)")
            engine.rope(&q, layer: il, positions: pos)
            engine.rope(&k, layer: il, positions: pos)
            try check("Qcur-\(il)#3", q)
            try check("Kcur-\(il)#3", k)
            var qs = try Self.load("Qcur-\(il)#3").map { $0 * engine.config.attentionScale }
            var ks = try Self.load("Kcur-\(il)#3"), vs = try Self.load("Vcur-\(il)")
            GemmaNumerics.roundToHalf(&qs, count: qs.count)
            GemmaNumerics.roundToHalf(&ks, count: ks.count)
            GemmaNumerics.roundToHalf(&vs, count: vs.count)
            try check("kqv_out-\(il)", engine.attention(il, q: qs, k: ks, v: vs, positions: pos))
            try check("attn_post_norm-\(il)", engine.attentionOutput(il, try Self.load("kqv_out-\(il)")))
            try check("sa_out-\(il)", zip(try Self.load("attn_post_norm-\(il)"), lIn).map { $0 + $1 })
            try check("ffn_norm-\(il)", engine.rmsNorm(try Self.load("sa_out-\(il)"), weight: L.ffnNorm))
            try check("ffn_out-\(il)", engine.feedForward(il, normed: try Self.load("ffn_norm-\(il)")))
            try check("ffn_post_norm-\(il)", engine.rmsNorm(try Self.load("ffn_out-\(il)"), weight: L.postFFWNorm))
            try check("l_out-\(il)", zip(try Self.load("ffn_post_norm-\(il)"), try Self.load("sa_out-\(il)")).map { $0 + $1 })
            // The whole layer from its input (errors compound through the chain but stay small).
            engine.reset()
            try check("l_out-\(il)", engine.layer(il, lIn, positions: pos), limit: 1e-3)
        }
        try check("result_norm", engine.rmsNorm(try Self.load("l_out-17"), weight: engine.weights.outputNorm))
        print("[stages] " + worst.map { "\($0.0) \(String(format: "%.2e", $0.1))" }.joined(separator: ", "))
    }
}

/// The Q2_K and Q5_1 kernels against llama.cpp's own products on the real weights: layer 0 of the Q2_K variant
/// (attn_output and ffn_down Q2_K × Q8_K, gate/up Q4_0/Q5_0) and of the Q5_1 variant (all Q5_1 × Q8_1), run from
/// llama.cpp's inputs to the attention output projection (kqv_out-0) and the feed-forward block (ffn_norm-0), against its
/// outputs (attn_post_norm-0, ffn_out-0); 16 tokens, dumped by scripts/gen_engine_goldens.py (ONLY=variant-stages).
/// The limit is the stage tests' 1e-4 relative; the measured figures are printed (a kernel that rounds like ggml's
/// leaves only the RMSNorm's and GELU's float differences).
@Suite(RealModel.required("EngineVariantStageTests"), .serialized) struct EngineVariantStageTests {
    @Test(arguments: ["q2_k", "q5_1"])
    func layer0ProductsMatchLlamaCpp(_ variant: String) throws {
        let dir = "engine/stages_\(variant)/"
        let meta = try #require(try Fixtures.json(dir + "stages.json") as? [String: Any])
        let path = try RealModel.variant(try #require(meta["model"] as? String))
        let want = try #require(meta["model_sha256"] as? String)
        try #require(try SHA256.hex(ofFile: path) == want, "\(path) is not the file llama.cpp ran (sha256 \(want))")
        func load(_ key: String) throws -> [Float] { try NpyFile(path: Fixtures.path(dir + key + ".npy")).floats }
        let engine = try GemmaEngine(path: path, options: EngineOptions(threads: 2, contextLength: 64))
        let attn = EngineStageTests.relativeError(engine.attentionOutput(0, try load("kqv_out-0")), try load("attn_post_norm-0"))
        let ffn = EngineStageTests.relativeError(engine.feedForward(0, normed: try load("ffn_norm-0")), try load("ffn_out-0"))
        print("[stages \(variant)] attn_post_norm-0 \(String(format: "%.2e", attn)), ffn_out-0 \(String(format: "%.2e", ffn))")
        #expect(attn <= 1e-4, "attn_post_norm-0: relative error \(attn)")
        #expect(ffn <= 1e-4, "ffn_out-0: relative error \(ffn)")
    }
}
