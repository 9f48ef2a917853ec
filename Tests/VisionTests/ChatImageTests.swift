import ChatKit
import Foundation
import GGUFWriter
import KilnCore
import KilnTestSupport
import RefInference
import Testing
import Tokenizers

/// `chat`'s image turns: the prompt a `ChatSession` builds for a message with images is cut into exactly the chunks
/// libmtmd's `mtmd_tokenize` made of the same turn (fixtures/gemma3/vision-logits.json, scripts/gen_vision_goldens.py),
/// and a greedy reply continues as llama.cpp did.
@Suite struct ChatImageTests {
    static func session(_ fixture: TinyVisionFixture, maxTokens: Int = 8) throws -> ChatSession {
        let options = EngineOptions(threads: 2, contextLength: 1024)
        let file = try GGUFFile(path: fixture.text)
        let session = ChatSession(engine: try GemmaEngine(gguf: file, options: options), tokenizer: try SPMTokenizer(metadata: file.metadata),
                                  settings: ChatSettings(maxTokens: maxTokens, sampler: .greedy))
        session.vision = try VisionEncoders.open(mmproj: fixture.mmproj, options: options)
        return session
    }

    /// The golden case's user text: the prompt between the media markers and `<end_of_turn>`.
    static func userText(_ prompt: String) -> String {
        let afterMarkers = prompt.components(separatedBy: "<__media__>").last ?? ""
        return afterMarkers.components(separatedBy: "<end_of_turn>").first ?? ""
    }

    @Test func promptChunksAreLibmtmds() throws {
        let golden = try #require(try Fixtures.json("gemma3/vision-logits.json") as? [String: Any])
        let fixture = try TinyVisionFixture()
        defer { fixture.cleanup() }
        let session = try Self.session(fixture)
        for c in try #require(golden["cases"] as? [[String: Any]]) {
            let chunks = try #require(c["chunks"] as? [[String: Any]])
            var want: [ChatSession.PromptChunk] = []
            var image = 0
            for chunk in chunks {
                if let ids = chunk["text"] as? [Int] { want.append(.tokens(ids.map(Int32.init))) } else { want.append(.image(image)); image += 1 }
            }
            let got = session.promptChunks(for: Self.userText(try #require(c["prompt"] as? String)), images: image)
            #expect(got == want, "\(c["name"] ?? "?")")
        }
    }

    @Test func greedyReplyAfterImagesIsLlamaCpps() throws {
        let golden = try #require(try Fixtures.json("gemma3/vision-logits.json") as? [String: Any])
        let fixture = try TinyVisionFixture()
        defer { fixture.cleanup() }
        for c in try #require(golden["cases"] as? [[String: Any]]) {
            let session = try Self.session(fixture)
            let files = try #require(c["chunks"] as? [[String: Any]]).compactMap { $0["image"] as? String }
            let images = try files.map { try RGBImage.load(path: Fixtures.path($0)) }
            let reply = try session.reply(to: Self.userText(try #require(c["prompt"] as? String)), images: images) { _ in }
            let greedy = try #require(c["greedy"] as? [[String: Any]])
            // llama.cpp's greedy tokens, up to the first near tie (margin ≤ 0.05) where rounding may choose either.
            var expected: [Int32] = []
            for step in greedy {
                guard (step["margin"] as? Double ?? 0) > 0.05 else { break }
                expected.append(Int32(try #require(step["id"] as? Int)))
            }
            #expect(Array(reply.prefix(expected.count)) == expected, "\(c["name"] ?? "?")")
            #expect(session.stats.images == files.count)
        }
    }

    /// A message with images but no vision encoder is a usage error, not a crash.
    @Test func imagesNeedAVisionEncoder() throws {
        let fixture = try TinyVisionFixture()
        defer { fixture.cleanup() }
        let session = try Self.session(fixture)
        session.vision = nil
        let image = try RGBImage.load(path: Fixtures.path("gemma3/vision-small.png"))
        #expect(throws: KilnError.self) { try session.reply(to: "hi", images: [image]) { _ in } }
    }
}
