import Conversion
import Foundation
import GGUFWriter
import KilnCLI
import KilnTestSupport
import RefInference
import Testing

/// Google DeepMind's own `gemma` library (3.3.0) is the judge of what a Kaggle-layout checkpoint computes: it read
/// each checkpoint with `gm.ckpts.load_params` and ran its float32 forward pass, and scripts/gen_gemma_goldens.py kept
/// the log-sum-exp and top-64 logits of every position (fixtures/verify/gemma-*.json). Kiln computes the same token ids
/// two ways: `verify`'s source side (the checkpoint itself through `ConvertedTensorView`, layer-streamed by
/// `StreamedFloatModel`), and the F32 conversion on the engine's plain float32 path (no llama.cpp rounding; tiny
/// fixtures only, as that path is scalar). Agreement shows, independently of our own fixture scripts, that Kiln reads
/// the Flax layout and computes Gemma 3 the way Google's code does.
///
/// Targets (issue 9): max |Δlogit| over the stored top 64 ≤ 0.1; argmax equal wherever gemma's top-2 margin > 0.01;
/// mean KL(gemma ‖ Kiln) over the top 64 plus one tail bucket ≤ 1e-5. Both sides compute in float32 from the same
/// float32 weights; only summation order (XLA's blocked dot products vs our sequential ones) and the transcendental
/// functions differ, errors of order 1e-7 relative per operation (measured: tiny fixtures max |Δ| 2.2e-5, mean KL
/// 1e-14; real-weight 270M, 802 positions, max |Δ| 4.1e-4, mean KL 9e-11, argmax 794/794). For scale, llama.cpp on the same F32 conversion, with its f16 KV cache, is 0.006 away from the library
/// on the tiny fixtures (the goldens' `llama_cpp_f32`). 0.1 is the bound the verify issue sets for the source side;
/// a layout or formula error (a transposed head, a wrong RoPE base or query scale, a missing `1 + scale`) moves these
/// logits by far more than that.
@Suite struct GemmaLibraryGoldenTests {
    @Test(arguments: ["tiny-kaggle", "tiny-kaggle-vision"])
    func tinyKaggleFixtureMatchesGemmaLibrary(_ name: String) throws {
        try GemmaLibraryGolden.check("verify/gemma-\(name).json", checkpoint: Fixtures.path("gemma3/\(name)"), via: .f32Conversion)
        try GemmaLibraryGolden.check("verify/gemma-\(name).json", checkpoint: Fixtures.path("gemma3/\(name)"), via: .sourceFloatPath)
    }
}

/// Gemma 2: the tiny FLAT (Gemma2_2B family) and NESTED bfloat16 (Gemma2_9B family) trees the `gemma` library wrote
/// (scripts/make_gemma2_fixtures.py), with the family's 4096 window; and the FLAT weights with an 8-token window that
/// every prompt crosses, as the HF twin fixtures/llama-converter/gemma2-tiny states it (there Kiln converts the twin).
/// Same bounds and reasons as for Gemma 3: both sides compute in float32 from the same weights (the NESTED tree's
/// bfloat16 values widened exactly). The attention and final soft-caps, the alternating window and the query scale are
/// all inside these logits.
@Suite struct GemmaLibraryGemma2GoldenTests {
    @Test(arguments: [("gemma2-tiny-flat", "gemma2/tiny-flat"), ("gemma2-tiny-nested", "gemma2/tiny-nested"),
                      ("gemma2-tiny-window8", "llama-converter/gemma2-tiny")])
    func tinyGemma2MatchesGemmaLibrary(_ golden: String, _ checkpoint: String) throws {
        try GemmaLibraryGolden.check("verify/\(golden).json", checkpoint: Fixtures.path(checkpoint), via: .f32Conversion)
        try GemmaLibraryGolden.check("verify/\(golden).json", checkpoint: Fixtures.path(checkpoint), via: .sourceFloatPath)
    }
}

/// The real Gemma 3 270M weights in the Kaggle layout (scripts/make_kaggle_checkpoint.py), including a sequence longer
/// than the 512-token sliding window, on `verify`'s source side.
@Suite(RealModel.required("GemmaLibrary270mGoldenTests"))
struct GemmaLibrary270mGoldenTests {
    @Test func realWeight270mMatchesGemmaLibrary() throws {
        try GemmaLibraryGolden.check("verify/gemma-270m.json", checkpoint: try RealModel.kaggle270m(), via: .sourceFloatPath)
    }
}

enum GemmaLibraryGolden {
    static let maxAbsLogitDiff: Double = 0.1
    static let argmaxMargin: Double = 0.01
    static let maxMeanKL: Double = 1e-5

    struct Figures {
        var positions = 0
        var maxAbs: Double = 0
        var klSum: Double = 0
        var argmaxChecked = 0
        var argmaxEqual = 0
    }

    /// How Kiln computes the logits.
    /// How Kiln computes the logits (`f32ConversionFast`: the engine's fast path with llama.cpp's numerics — f16 K/V
    /// and probabilities, the f16 GELU table — what `chat` runs on a GGUF).
    enum Path { case f32Conversion, f32ConversionFast, sourceFloatPath }

    static func check(_ golden: String, checkpoint: String, via path: Path) throws {
        let doc = try Fixtures.json(golden) as! [String: Any]
        let seqs = doc["sequences"] as! [[String: Any]]
        let sequences = seqs.map { ($0["ids"] as! [Int]).map(Int32.init) }
        var f = Figures()
        func compareSequence(_ k: Int, _ logits: UnsafeBufferPointer<Float>, positions: Range<Int>, vocab: Int) {
            let s = seqs[k]
            let lse = s["lse"] as! [Double], logTail = s["log_tail"] as! [Double]
            let topIds = s["top_ids"] as! [[Int]], topLogits = s["top_logits"] as! [[Double]]
            for p in positions {
                let row = Array(logits[(p - positions.lowerBound) * vocab ..< (p - positions.lowerBound + 1) * vocab])[...]
                compare(row, lse: lse[p], logTail: logTail[p], ids: topIds[p], logits: topLogits[p], into: &f, at: "\(s["name"]!) position \(p)")
            }
        }
        switch path {
        case .f32Conversion, .f32ConversionFast:
            let dir = Fixtures.tempDirectory()
            defer { Fixtures.cleanup(dir) }
            var o = ConvertOptions(output: dir + "/model-f32.gguf")
            o.progress = false
            o.type = "f32"
            o.noMMProj = true
            _ = try ConvertJob.run(input: checkpoint, options: o)
            let file = try GGUFFile(path: o.output)
            let longest = sequences.map(\.count).max()!
            let engine = try GemmaEngine(gguf: file, options: EngineOptions(threads: 2, contextLength: longest, path: path == .f32ConversionFast ? .fast : .reference,
                                                                             llamaCppNumerics: path == .f32ConversionFast))
            let vocab = engine.config.vocabularySize
            for (k, ids) in sequences.enumerated() {
                engine.reset()
                // In blocks of positions, so a long sequence never holds all its logits at once.
                var start = 0
                while start < ids.count {
                    let end = min(ids.count, start + engine.options.batchSize)
                    let logits = try engine.evaluate(Array(ids[start ..< end]), allLogits: true)
                    logits.withUnsafeBufferPointer { compareSequence(k, $0, positions: start ..< end, vocab: vocab) }
                    start = end
                }
            }
        case .sourceFloatPath:
            let view = try ConvertedTensorView(source: try SourceOpener.open(checkpoint))
            let config = try GemmaConfig(metadata: view.metadata, vocabularySize: view.vocabularySize, file: checkpoint)
            let model = try StreamedFloatModel(source: view, config: config, options: FloatPathOptions(threads: 2))
            let hidden = try model.finalHidden(sequences, progress: nil)
            let d = config.embeddingLength, vocab = config.vocabularySize, block = 32
            var logits = [Float](repeating: 0, count: block * vocab)
            for (k, h) in hidden.enumerated() {
                var start = 0
                while start < sequences[k].count {
                    let end = min(sequences[k].count, start + block)
                    try h.withUnsafeBufferPointer { hb in
                        try logits.withUnsafeMutableBufferPointer { lb in
                            try model.logits(hidden: UnsafeBufferPointer(rebasing: hb[start * d ..< end * d]), count: end - start, into: lb)
                        }
                    }
                    logits.withUnsafeBufferPointer { compareSequence(k, $0, positions: start ..< end, vocab: vocab) }
                    start = end
                }
            }
        }
        let meanKL = f.klSum / Double(f.positions)
        print("gemma library vs Kiln (\(golden), \(path)): \(f.positions) positions, max |Δlogit| \(f.maxAbs), mean KL \(meanKL), "
            + "argmax \(f.argmaxEqual)/\(f.argmaxChecked) where margin > \(argmaxMargin)")
        #expect(f.maxAbs <= maxAbsLogitDiff, "max |Δlogit| \(f.maxAbs) over the top \(topK(seqs))")
        #expect(meanKL <= maxMeanKL, "mean KL \(meanKL)")
        #expect(f.argmaxEqual == f.argmaxChecked)
        #expect(f.positions == seqs.reduce(0) { $0 + ($1["ids"] as! [Int]).count })
    }

    static func topK(_ seqs: [[String: Any]]) -> Int { (seqs.first?["top_ids"] as? [[Int]])?.first?.count ?? 0 }

    /// One position: |Δ| over gemma's top ids, argmax, and KL(gemma ‖ Kiln) over those ids plus one bucket for the
    /// rest of the vocabulary. Gemma's side comes from its log-sum-exp and exact tail (`log_tail`), renormalized so
    /// the 7-digit rounding of the stored logits cannot leave mass unaccounted; Kiln's from its own full row.
    static func compare(_ row: ArraySlice<Float>, lse: Double, logTail: Double, ids: [Int], logits: [Double],
                        into f: inout Figures, at place: String) {
        let base = row.startIndex
        var mx = -Double.infinity, argmax = 0
        for (i, v) in row.enumerated() where Double(v) > mx { mx = Double(v); argmax = i }
        var all: Double = 0
        for v in row { all += exp(Double(v) - mx) }
        var top: Double = 0
        for id in ids { top += exp(Double(row[base + id]) - mx) }
        let ourLSE = mx + log(all)
        let qTail = max((all - top) / all, 1e-300)

        var p = logits.map { exp($0 - lse) }
        var pTail = exp(logTail)
        let z = p.reduce(pTail, +)
        p = p.map { $0 / z }
        pTail /= z
        var kl: Double = 0
        for (i, id) in ids.enumerated() {
            let ours = Double(row[base + id])
            f.maxAbs = max(f.maxAbs, abs(ours - logits[i]))
            if p[i] > 0 { kl += p[i] * (log(p[i]) - (ours - ourLSE)) }
        }
        if pTail > 0 { kl += pTail * log(pTail / qTail) }
        f.klSum += kl
        f.positions += 1
        if logits.count > 1, logits[0] - logits[1] > argmaxMargin {
            f.argmaxChecked += 1
            if argmax == ids[0] { f.argmaxEqual += 1 } else { Issue.record("\(place): Kiln's argmax \(argmax), gemma's \(ids[0])") }
        }
    }
}
