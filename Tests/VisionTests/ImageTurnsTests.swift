import Foundation
import GGUFWriter
import KilnCore
import KilnTestSupport
import RefInference
import Testing
import Tokenizers
@testable import Verify

/// `verify --image`'s image turns against llama.cpp: the turn's tokens as libmtmd's `mtmd_tokenize` cuts a Gemma 3
/// image turn, and the float32 text path's image entry (`StreamedFloatModel.finalHidden(_:softTokens:progress:)`,
/// bidirectional among the image rows) against llama.cpp's logits after an image (fixtures/gemma3/vision-logits.json,
/// scripts/gen_vision_goldens.py, llama-cpp-python 0.3.36).
@Suite struct ImageTurnsTests {
    static func golden() throws -> [String: Any] {
        try #require(try Fixtures.json("gemma3/vision-logits.json") as? [String: Any])
    }

    /// The turn starts as libmtmd's chunks do: BOS, `<start_of_turn>user\n`, `<start_of_image>`, the image's rows,
    /// `<end_of_image>`; the scored positions predict the answer and its `<end_of_turn>`.
    @Test func turnIsFramedAsLibmtmdFramesIt() throws {
        let chunks = try #require((try Self.golden()["cases"] as? [[String: Any]])?.first?["chunks"] as? [[String: Any]])
        let head = try #require(chunks[0]["text"] as? [Int]).map(Int32.init)
        let afterImage = try #require(chunks[2]["text"] as? [Int]).map(Int32.init)
        let fixture = try TinyVisionFixture()
        defer { fixture.cleanup() }
        let file = try GGUFFile(path: fixture.text)
        let tokenizer = try SPMTokenizer(metadata: file.metadata, file: fixture.text)
        let turn = try ImageTurns.turn(tokenizer, tokensPerImage: 256, start: "<start_of_image>", end: "<end_of_image>")
        #expect(Array(turn.tokens.prefix(head.count)) == head && turn.image == head.count)
        #expect(turn.tokens[turn.image + 256] == afterImage[0], "<end_of_image> after the image rows")
        let answer = tokenizer.tokenize(ImageTurns.answer + "<end_of_turn>", addBOS: false, parseSpecial: true)
        #expect(turn.scored.count == answer.count && turn.scored.last == turn.tokens.count - 2)
        #expect(Array(turn.tokens.suffix(answer.count)) == answer)
    }

    /// The candidate's weights on the float32 path, fed the one-image case's chunks with Kiln's soft tokens of the
    /// image, against llama.cpp's logits at every token after the image. Tolerance: as the engine's own agreement
    /// after images (ImageLogitsGoldenTests, max |Δlogit| ≤ 0.3): here the text model computes in float32 where
    /// llama.cpp rounds activations (Q4_0 blocks, f16 K/V), a difference of the same order. Causal attention among
    /// the image rows instead moves the logits by more than 1, so the test sees the mask rule.
    @Test(arguments: [true, false])
    func floatPathAfterAnImageMatchesLlamaCpp(bidirectional: Bool) throws {
        let c = try #require((try Self.golden()["cases"] as? [[String: Any]])?.first { $0["name"] as? String == "one-image" })
        let chunks = try #require(c["chunks"] as? [[String: Any]])
        let head = try #require(chunks[0]["text"] as? [Int]).map(Int32.init)
        let tail = try #require(chunks[2]["text"] as? [Int]).map(Int32.init)
        let fixture = try TinyVisionFixture()
        defer { fixture.cleanup() }
        let encoder = try VisionEncoders.open(mmproj: fixture.mmproj, options: EngineOptions(threads: 2))
        let soft = encoder.encode(try RGBImage.load(path: Fixtures.path(try #require(chunks[1]["image"] as? String))))
        let (view, config) = try FloatView.open(try GGUFFile(path: fixture.text), vocabularySize: nil)
        let model = try StreamedFloatModel(source: view, config: config, options: FloatPathOptions(threads: 2))
        let tokens = head + [Int32](repeating: 0, count: 256) + tail
        let hidden = try model.finalHidden([tokens], softTokens: [[SoftTokenSpan(start: head.count, values: soft, bidirectional: bidirectional)]],
                                           progress: nil)[0]
        let d = config.embeddingLength, V = config.vocabularySize, first = head.count + 256
        var logits = [Float](repeating: 0, count: tail.count * V)
        try hidden.withUnsafeBufferPointer { h in
            try logits.withUnsafeMutableBufferPointer { o in
                try model.logits(hidden: UnsafeBufferPointer(rebasing: h[first * d ..< tokens.count * d]), count: tail.count, into: o)
            }
        }
        let want = try #require(c["logits"] as? [[Double]]).flatMap { $0.map(Float.init) }
        #expect(want.count == logits.count)
        let worst = zip(logits, want).map { abs($0 - $1) }.max() ?? 0
        print("float path after an image (bidirectional \(bidirectional)): \(tail.count) positions, max |Δlogit| \(worst)")
        if bidirectional { #expect(worst <= 0.3) } else { #expect(worst > 1) }
    }
}
