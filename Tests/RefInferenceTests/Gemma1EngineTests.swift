import GGUFWriter
import KilnCore
import RefInference
import Testing

/// The engine's `gemma` family (Gemma 1 / CodeGemma) reads llama.cpp's `gemma` keys as `llama_model_gemma` does. Its
/// numerics are judged end to end against gemma-llm 1.0.0's logits in GemmaLibraryGemma1GoldenTests (reference, fast
/// and source float paths); here: the config it derives, and bad metadata.
@Suite struct Gemma1EngineTests {
    /// The `gemma.*` keys llama.cpp's converter wrote for fixtures/llama-converter/gemma1-tiny-2b
    /// (fixtures/llama-converter/gemma1-tiny-2b-goldens.json).
    static let metadata: [GGUFMetadataEntry] = {
        let k = GGUFKey.Model("gemma")
        return [GGUFMetadataEntry(GGUFKey.architecture, .string("gemma")),
                GGUFMetadataEntry(k.contextLength, .uint32(8192)), GGUFMetadataEntry(k.embeddingLength, .uint32(64)),
                GGUFMetadataEntry(k.blockCount, .uint32(3)), GGUFMetadataEntry(k.feedForwardLength, .uint32(128)),
                GGUFMetadataEntry(k.headCount, .uint32(2)), GGUFMetadataEntry(k.headCountKV, .uint32(1)),
                GGUFMetadataEntry(k.layerNormRMSEpsilon, .float32(1e-6)), GGUFMetadataEntry(k.keyLength, .uint32(32)),
                GGUFMetadataEntry(k.valueLength, .uint32(32))]
    }()

    static func replacing(_ key: String, with value: GGUFValue?) -> [GGUFMetadataEntry] {
        var m = metadata.filter { $0.key != key }
        if let value { m.append(GGUFMetadataEntry(key, value)) }
        return m
    }

    @Test func configIsLlamaCppsGemma() throws {
        let c = try GemmaConfig(metadata: Self.metadata, vocabularySize: 400)
        #expect(c.architecture == "gemma" && !c.queryKeyNorm && !c.postNorms)
        #expect(c.attentionLogitSoftcap == nil && c.finalLogitSoftcap == nil)
        #expect(c.slidingWindow == 0 && (0 ..< 3).allSatisfy { !c.isSliding(layer: $0) })
        #expect(c.rope(layer: 0) == (10_000, 1) && c.rope(layer: 2) == (10_000, 1))
        #expect(c.attentionScale == 1 / Float(32).squareRoot() && c.headCountKV == 1 && c.trainedContext == 8192)
        // The tensors each layer needs: no post norms, no q/k norms.
        let names = GemmaLayerWeights.tensors(layer: 0, config: c).map(\.name)
        #expect(names.count == 9 && !names.contains { $0.contains("post") || $0.contains("q_norm") || $0.contains("k_norm") })
    }

    @Test(arguments: ["gemma.attention.layer_norm_rms_epsilon", "gemma.embedding_length", "gemma.block_count",
                      "gemma.feed_forward_length", "gemma.attention.head_count"])
    func missingRequiredKeyIsNamed(_ key: String) throws {
        let error = #expect(throws: KilnError.self) { try GemmaConfig(metadata: Self.replacing(key, with: nil), vocabularySize: 400) }
        #expect(error.map { "\($0)" }?.contains(key) == true)
    }

    @Test(arguments: [("gemma.attention.head_count_kv", GGUFValue.uint32(0)), ("gemma.attention.head_count_kv", .uint32(3)),
                      ("gemma.attention.key_length", .uint32(0)), ("gemma.attention.layer_norm_rms_epsilon", .float32(.nan)),
                      ("gemma.rope.freq_base", .float32(-1)), ("gemma.block_count", .uint32(1 << 30))])
    func badValueIsAnError(_ key: String, _ value: GGUFValue) throws {
        #expect(throws: KilnError.self) { try GemmaConfig(metadata: Self.replacing(key, with: value), vocabularySize: 400) }
    }
}
