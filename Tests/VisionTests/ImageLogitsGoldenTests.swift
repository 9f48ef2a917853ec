import Foundation
import GGUFWriter
import KilnCore
import KilnTestSupport
import RefInference
import Testing

/// The text model's logits after images: Kiln's engine fed the same chunks as llama.cpp (text ids as libmtmd's
/// `mtmd_tokenize` cut them, each image as Kiln's own SigLIP soft tokens with bidirectional attention) against
/// llama.cpp's logits recorded by scripts/gen_vision_goldens.py (fixtures/gemma3/vision-logits.json, llama-cpp-python
/// 0.3.36: libmtmd's encoder and non-causal image decode, then llama_decode of the text).
///
/// Tolerance: the text-only agreement of the same tiny model (ConversionTests' TinyEngineAgreementTests): max
/// |Δlogit| ≤ 0.3, about 1% of the logit range, and equal argmax wherever llama.cpp's top-2 margin exceeds 0.05.
/// The image soft tokens add their own difference (libmtmd's flash attention accumulates V in f16; Kiln's encoder
/// agrees with it to cosine 0.9999998) on top of the Q4_0 text model's rounding.
@Suite struct ImageLogitsGoldenTests {
    @Test func logitsAfterImagesMatchLlamaCpp() throws {
        let golden = try #require(try Fixtures.json("gemma3/vision-logits.json") as? [String: Any])
        let fixture = try TinyVisionFixture()
        defer { fixture.cleanup() }
        #expect(try SHA256.hex(ofFile: fixture.text) == golden["text_sha256"] as? String, "the text model llama.cpp ran")
        #expect(try SHA256.hex(ofFile: fixture.mmproj) == golden["mmproj_sha256"] as? String, "the mmproj libmtmd ran")
        let options = EngineOptions(threads: 2, contextLength: 1024)
        let engine = try GemmaEngine(path: fixture.text, options: options)
        let encoder = try VisionEncoders.open(mmproj: fixture.mmproj, options: options)
        let cases = try #require(golden["cases"] as? [[String: Any]])
        #expect(cases.count == 2)
        var worst: Float = 0, rowsChecked = 0
        for c in cases {
            let name = c["name"] as? String ?? "?"
            engine.reset()
            var ours: [Float] = []
            var seenImage = false
            for chunk in try #require(c["chunks"] as? [[String: Any]]) {
                if let ids = chunk["text"] as? [Int] {
                    let logits = try engine.evaluate(ids.map(Int32.init), allLogits: true)
                    if seenImage { ours += logits }
                } else {
                    let file = try #require(chunk["image"] as? String)
                    #expect(chunk["n_tokens"] as? Int == encoder.tokensPerImage)
                    let soft = encoder.encode(try RGBImage.load(path: Fixtures.path(file)))
                    try engine.evaluate(embeddings: soft, count: encoder.tokensPerImage, bidirectional: encoder.bidirectionalImageAttention)
                    seenImage = true
                }
            }
            let want = try #require(c["logits"] as? [[Double]]).map { $0.map(Float.init) }
            let vocab = engine.config.vocabularySize
            #expect(ours.count == want.count * vocab, "\(name)")
            for (p, row) in want.enumerated() where (p + 1) * vocab <= ours.count {
                let got = ours[p * vocab ..< (p + 1) * vocab]
                worst = max(worst, zip(got, row).map { abs($0 - $1) }.max() ?? 0)
                let sorted = row.sorted(by: >)
                if sorted[0] - sorted[1] > 0.05 {
                    #expect(got.indices.max { got[$0] < got[$1] }! - got.startIndex == row.indices.max { row[$0] < row[$1] }, "\(name) position \(p)")
                }
                rowsChecked += 1
            }
            // The greedy continuation, teacher-forced: llama.cpp's choice wherever its margin leaves room.
            let greedy = try #require(c["greedy"] as? [[String: Any]])
            var last = Array(ours.suffix(vocab))
            for step in greedy {
                let id = try #require(step["id"] as? Int), margin = (step["margin"] as? Double) ?? 0
                if margin > 0.05 { #expect(last.indices.max { last[$0] < last[$1] } == id, "\(name) greedy") }
                last = try engine.evaluate([Int32(id)])
            }
        }
        print("logits after images: \(rowsChecked) positions, max |Δlogit| \(worst)")
        #expect(rowsChecked == 48)
        #expect(worst <= 0.3, "max |Δlogit| \(worst)")
    }

    /// Without bidirectional attention among the image tokens the logits move far beyond the tolerance: the test above
    /// does see the attention mode.
    @Test func causalImageAttentionIsDetected() throws {
        let golden = try #require(try Fixtures.json("gemma3/vision-logits.json") as? [String: Any])
        let c = try #require((golden["cases"] as? [[String: Any]])?.first)
        let fixture = try TinyVisionFixture()
        defer { fixture.cleanup() }
        let options = EngineOptions(threads: 2, contextLength: 1024)
        let engine = try GemmaEngine(path: fixture.text, options: options)
        let encoder = try VisionEncoders.open(mmproj: fixture.mmproj, options: options)
        var ours: [Float] = []
        for chunk in try #require(c["chunks"] as? [[String: Any]]) {
            if let ids = chunk["text"] as? [Int] {
                let logits = try engine.evaluate(ids.map(Int32.init), allLogits: true)
                if engine.position > ids.count { ours += logits }
            } else {
                let soft = encoder.encode(try RGBImage.load(path: Fixtures.path(try #require(chunk["image"] as? String))))
                try engine.evaluate(embeddings: soft, count: encoder.tokensPerImage, bidirectional: false)
            }
        }
        let want = try #require(c["logits"] as? [[Double]]).flatMap { $0.map(Float.init) }
        #expect(ours.count == want.count)
        let worst = zip(ours, want).map { abs($0 - $1) }.max() ?? 0
        print("causal image attention: max |Δlogit| \(worst)")
        #expect(worst > 1)
    }
}
