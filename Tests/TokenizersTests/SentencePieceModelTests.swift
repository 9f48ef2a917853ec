import Foundation
import KilnCore
import KilnTestSupport
import Testing
import Tokenizers

@Suite struct SentencePieceModelTests {
    @Test func tinyModelMatchesProtobuf() throws {
        let model = try SentencePieceModel(path: TokenizerFixtures.tinyModelPath)
        let expected = try #require(try Fixtures.json("tokenizer/tiny_model.json") as? [String: Any])
        let pieces = try #require(expected["pieces"] as? [[String: Any]])
        #expect(model.pieces.count == pieces.count)
        for (p, e) in zip(model.pieces, pieces) {
            #expect(p.text == e["piece"] as? String)
            #expect(p.score == (e["score"] as? NSNumber)?.floatValue)
            #expect(p.type.rawValue == Int32(e["type"] as? Int ?? -1))
        }
        #expect(model.modelType == .bpe && expected["model_type"] as? Int == 2)
        #expect(Int(model.vocabSize) == expected["vocab_size"] as? Int)
        #expect(model.byteFallback == expected["byte_fallback"] as? Bool)
        #expect([model.unkID, model.bosID, model.eosID, model.padID] == [3, 2, 1, 0])
        #expect(model.normalizerName == "identity")
        #expect(!model.addDummyPrefix && !model.removeExtraWhitespaces && model.escapeWhitespaces)
    }

    @Test func skipsUnknownFieldsOfEveryWireType() throws {
        // ModelProto with unknown fields (varint, fixed64, bytes, group, fixed32) around one piece that itself has
        // an unknown field, plus a negative pad_id (10-byte varint) in TrainerSpec.
        var bytes: [UInt8] = []
        bytes += [0x78, 0x96, 0x01]                            // field 15 varint 150
        bytes += [0x79] + [UInt8](repeating: 7, count: 8)      // field 15 fixed64
        bytes += [0x7A, 0x02, 0xAA, 0xBB]                      // field 15 bytes
        bytes += [0x7B, 0x08, 0x01, 0x7C]                      // field 15 group { field 1 varint 1 }
        bytes += [0x7D, 1, 2, 3, 4]                            // field 15 fixed32
        let piece: [UInt8] = [0x0A, 0x02, 0x68, 0x69, 0x15] + withUnsafeBytes(of: Float(-2.5).bitPattern.littleEndian, Array.init)
            + [0x18, 0x04, 0x20, 0x05]                          // "hi", -2.5, USER_DEFINED, field 4 varint 5
        bytes += [0x0A, UInt8(piece.count)] + piece
        let trainer: [UInt8] = [0xD8, 0x02] + [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01] // pad_id = -1
        bytes += [0x12, UInt8(trainer.count)] + trainer
        let model = try bytes.withUnsafeBytes { try SentencePieceModel(bytes: $0, file: "synthetic") }
        #expect(model.pieces == [.init(text: "hi", score: -2.5, type: .userDefined)])
        #expect(model.padID == -1)
    }

    @Test func truncatedInputNeverCrashes() throws {
        let data = try Fixtures.data("tokenizer/tiny.model")
        let bytes = [UInt8](data)
        var errors = 0
        for cut in stride(from: 1, to: bytes.count, by: 7) {
            do {
                _ = try bytes[0 ..< cut].withUnsafeBytes { try SentencePieceModel(bytes: $0, file: "cut.model") }
            } catch {
                errors += 1
                let e = error as? KilnError
                #expect(e?.file == "cut.model" && e?.offset != nil)
            }
        }
        #expect(errors > bytes.count / 7 / 2)
    }

    @Test func corruptedBytesNeverCrash() throws {
        let original = [UInt8](try Fixtures.data("tokenizer/tiny.model"))
        var rng = SplitMix64(seed: 42)
        for _ in 0 ..< 2000 {
            var bytes = original
            for _ in 0 ..< 1 + Int(rng.next() % 4) {
                bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next())
            }
            do {
                _ = try bytes.withUnsafeBytes { try SentencePieceModel(bytes: $0, file: "fuzz.model") }
            } catch {
                #expect((error as? KilnError)?.offset != nil)
            }
        }
    }

    @Test(arguments: [
        ([0x0A, 0x05, 0x0A], KilnError.Kind.truncated),        // length past the end
        ([0x0A], .truncated),                                   // tag then nothing: truncated varint
        ([0x78, 0x80], .truncated),                             // truncated varint value of an unknown field
        ([0x7D, 1, 2], .truncated),                             // truncated fixed32 of an unknown field
        ([0x79, 1, 2], .truncated),                             // truncated fixed64 of an unknown field
        ([0x78, 0x01], .badMagic),                              // a valid message without pieces
        ([0x0D, 1, 2, 3, 4], .invalid),                         // field 1 (pieces) as fixed32: wrong wire type
        ([0x0A, 0x02, 0x20, 0x80], .truncated),                 // truncated varint inside a piece
        ([0x0A, 0x02, 0x08, 0x01], .invalid),                   // piece text as a varint: wrong wire type
        ([0x0A, 0x04, 0x0A, 0x02, 0xFF, 0xFE], .invalid),       // piece text not UTF-8
        ([0x0A, 0x04, 0x0A, 0x00, 0x18, 0x09], .invalid),       // unknown piece type 9
        ([0x0F], .invalid),                                     // wire type 7
        ([0x0C], .invalid),                                     // stray end-group
        ([0x47, 0x47, 0x55, 0x46, 0x03, 0, 0, 0], .invalid),    // a GGUF header
    ] as [([UInt8], KilnError.Kind)])
    func malformedInputIsAnError(bytes: [UInt8], kind: KilnError.Kind) throws {
        let error = #expect(throws: KilnError.self) {
            try bytes.withUnsafeBytes { try SentencePieceModel(bytes: $0, file: "bad.model") }
        }
        #expect(error?.kind == kind)
        #expect(error?.file == "bad.model")
        #expect(error?.offset != nil)
    }

    @Test func missingFileIsAnIOError() {
        let error = #expect(throws: KilnError.self) { try SentencePieceModel(path: "/nonexistent/tokenizer.model") }
        #expect(error?.kind == .io)
    }
}
