import Foundation
import GGUFWriter
import KilnCore
import KilnTestSupport
import QuantCore
import RefInference
import Tokenizers
import Testing

/// Engine and tokenizer inputs that once trapped (regressions of issue 11).
@Suite struct HostileEngineInputTests {
    /// BF16 matrices whose width is not a multiple of 256 (the 270M's d = 640) took the Q8_K activation path and
    /// trapped on a force-unwrap. BF16 now computes like ggml-cpu (activations rounded to BF16, float products):
    /// one product is checked against a double-precision sum of bf16(w)·bf16(x), fast path and reference path.
    @Test func bf16MatricesOfAnyWidth() throws {
        var spec = EngineTinyModelTests.TinySpec()
        spec.d = 320
        spec.ff = 640
        spec.layers = 2
        spec.matrixTypes = [.bf16]
        spec.embeddingType = .bf16
        let dir = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir) }
        let path = dir + "/bf16.gguf"
        try EngineTinyModelTests.writeTiny(spec, to: path)
        let fast = try GemmaEngine(path: path, options: EngineOptions(threads: 2, contextLength: 32))
        let ref = try GemmaEngine(path: path, options: EngineOptions(contextLength: 32, path: .reference))
        var rng = Xoshiro256(seed: 11)
        for (wf, wr) in [(fast.weights.layers[0].gate, ref.weights.layers[0].gate), (fast.weights.layers[0].down, ref.weights.layers[0].down)] {
            #expect(wf.typeName == "BF16" && wf.columns % 256 != 0)
            let batch = 3
            let x = (0 ..< batch * wf.columns).map { _ in Float(rng.nextDouble() * 2 - 1) }
            let yf = fast.matmul(wf, x), yr = ref.matmul(wr, x)
            // Ground truth: ggml rounds activations to BF16 (GGML_FP32_TO_BF16) and multiplies in float; summed
            // here in double. Float summation of ≤ 640 products differs by at most ~1e-6 of Σ|w·x|.
            var row = [Float](repeating: 0, count: wf.columns)
            for r in 0 ..< wf.rows {
                wf.copyRow(r, into: &row)
                for b in 0 ..< batch {
                    var exact = 0.0, magnitude = 0.0
                    for c in 0 ..< wf.columns {
                        let xb = HalfFloat.bf16ToFloat(HalfFloat.floatToBF16(x[b * wf.columns + c]))
                        exact += Double(row[c] * xb)
                        magnitude += abs(Double(row[c] * xb))
                    }
                    #expect(abs(Double(yf[b * wf.rows + r]) - exact) <= 1e-5 * magnitude)
                    #expect(abs(Double(yr[b * wf.rows + r]) - exact) <= 1e-5 * magnitude)
                }
            }
        }
        let a = try fast.evaluate(EngineTinyModelTests.ids, allLogits: true)
        let b = try ref.evaluate(EngineTinyModelTests.ids, allLogits: true)
        #expect(a.allSatisfy { $0.isFinite })
        #expect(EngineTinyModelTests.maxAbs(a, b) <= 0.02 * b.map { abs($0) }.max()!)
    }

    /// `head_count_kv = 0` divided by zero in `GemmaConfig`; zero or absurd sizes are now a typed error.
    @Test(arguments: [("gemma3.attention.head_count_kv", 0), ("gemma3.attention.key_length", 0),
                      ("gemma3.attention.value_length", 0), ("gemma3.embedding_length", 1 << 40)])
    func zeroOrAbsurdSizesInMetadata(_ key: String, _ value: Int) throws {
        var meta: [GGUFMetadataEntry] = [
            GGUFMetadataEntry("general.architecture", .string("gemma3")),
            GGUFMetadataEntry("gemma3.embedding_length", .uint32(256)),
            GGUFMetadataEntry("gemma3.block_count", .uint32(2)),
            GGUFMetadataEntry("gemma3.feed_forward_length", .uint32(512)),
            GGUFMetadataEntry("gemma3.attention.head_count", .uint32(4)),
        ]
        // The sane configuration is accepted; the same with the one bad value is a typed error.
        #expect((try? GemmaConfig(metadata: meta, vocabularySize: 320, file: "x.gguf")) != nil)
        meta.removeAll { $0.key == key }
        meta.append(GGUFMetadataEntry(key, .uint64(UInt64(value))))
        #expect(throws: KilnError.self) { try GemmaConfig(metadata: meta, vocabularySize: 320, file: "x.gguf") }
    }

    /// A `tokenizer.model` of repeated group-start bytes recursed once per byte and overflowed the stack.
    @Test func deeplyNestedProtobufGroups() {
        let bytes = [UInt8](repeating: 0x7B, count: 1 << 20)   // field 15, wire type 3 (start group), a million times
        #expect(throws: KilnError.self) { try bytes.withUnsafeBytes { try SentencePieceModel(bytes: $0, file: "groups.model") } }
        // Legitimately nested groups (a few levels) are still skipped.
        let nested: [UInt8] = [0x7B, 0x7B, 0x08, 0x01, 0x7C, 0x7C]
        do { _ = try nested.withUnsafeBytes { try SentencePieceModel(bytes: $0, file: "nested.model") } } catch let error as KilnError {
            #expect(!error.message.contains("nested deeper"))
        } catch {}
    }
}
