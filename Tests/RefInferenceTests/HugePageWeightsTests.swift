import CKernels
import GGUFWriter
import KilnTestSupport
@testable import RefInference
import Testing

/// The engine's weights copied into 2 MB pages (`EngineOptions.hugePageWeights`, the default) against the same
/// engine reading them from the file mapping: a regression lock (our code on both sides) showing the copy changes no
/// bit; agreement with llama.cpp itself is EngineTinyModelTests.tinyGGUFMatchesLlamaCpp.
@Suite struct HugePageWeightsTests {
    @Test func copiedWeightsGiveTheMappedWeightsLogits() throws {
        let path = Fixtures.path("engine/tiny-gemma3.gguf"), ids = try EngineTinyModelTests.tinyIDs()
        func logits(_ hugePages: Bool) throws -> [Float] {
            let engine = try GemmaEngine(path: path, options: EngineOptions(threads: 2, contextLength: 32, hugePageWeights: hugePages))
            var out = try engine.evaluate(Array(ids.prefix(5)), allLogits: true)
            for id in ids.dropFirst(5) { out += try engine.evaluate([id]) }   // decode steps (1-row products) too
            return out
        }
        let copied = try logits(true), mapped = try logits(false)
        #expect(copied.count == mapped.count && !copied.isEmpty)
        #expect(copied.map(\.bitPattern) == mapped.map(\.bitPattern))
    }

    /// Every matrix of a copied model lives in the arena, byte for byte the file's blocks (Q4_0 and Q4_K matrices of a
    /// multiple of 8 rows interleaved, `QuantizedLayout.fastest`, and unpacked back here).
    @Test func everyMatrixIsCopiedUnchanged() throws {
        let file = try GGUFFile(path: Fixtures.path("engine/tiny-gemma3.gguf"))
        let embd = try file.tensorInfo(named: GGUFTensorName.tokenEmbedding)
        let config = try GemmaConfig(metadata: file.metadata, vocabularySize: embd.ne[1], file: file.path)
        let copied = try GemmaWeights(gguf: file, config: config, hugePages: true)
        let mapped = try GemmaWeights(gguf: file, config: config, hugePages: false)
        func bytes(_ w: any WeightMatrix) -> [UInt8] {
            let q = w as! QuantizedWeightMatrix
            return (0 ..< q.rows).flatMap { r in q.withStoredRow(r) { Array($0) } }
        }
        func interleaved(_ w: any WeightMatrix) -> Bool { (w as! QuantizedWeightMatrix).layout != .rows }
        func isArena(_ w: any WeightMatrix) -> Bool { (w as! QuantizedWeightMatrix).owner is HugePageWeights }
        let pairs = zip([copied.tokenEmbedding] + copied.layers.flatMap { [$0.q, $0.k, $0.v, $0.output, $0.gate, $0.up, $0.down] },
                        [mapped.tokenEmbedding] + mapped.layers.flatMap { [$0.q, $0.k, $0.v, $0.output, $0.gate, $0.up, $0.down] })
        var repacked = 0
        for (c, m) in pairs {
            #expect(isArena(c) && !isArena(m))
            #expect(bytes(c) == bytes(m))
            let q = c as! QuantizedWeightMatrix
            #expect(q.layout == QuantizedLayout.fastest(type: q.type, rows: q.rows, columns: q.columns))
            #expect(!interleaved(m))
            repacked += interleaved(c) ? 1 : 0
        }
        #expect(ck_uses_avx2() == 0 || repacked > 0, "the fixture has Q4_0 and Q4_K matrices of a multiple of 8 rows")
    }
}
