import GGUFWriter
import KilnCore
import RefInference

/// The candidate on the engine's fast path (llama.cpp CPU numerics on the stored blocks): hidden states before the
/// output norm, and logits for blocks of them (norm, output projection, soft-cap), as `GemmaEngine` computes them.
final class EngineModel {
    let engine: GemmaEngine

    init(gguf: GGUFFile, config: GemmaConfig, threads: Int, contextLength: Int) throws {
        engine = try GemmaEngine(config: config, weights: try GemmaWeights(gguf: gguf, config: config),
                                 options: EngineOptions(threads: threads, contextLength: max(1, contextLength), path: .fast),
                                 file: gguf)
    }

    /// `[T_i × d]` hidden rows per sequence (each sequence from position 0, in batches of the engine's batch size).
    func hidden(_ sequences: [[Int32]], progress: ((Int) -> Void)?) -> [[Float]] {
        sequences.map { s in
            var out: [Float] = []
            out.reserveCapacity(s.count * engine.config.embeddingLength)
            var p = 0
            while p < s.count {
                let n = min(engine.options.batchSize, s.count - p)
                var x = engine.embed(Array(s[p ..< p + n]))
                for il in 0 ..< engine.config.layerCount { x = engine.layer(il, x, positions: p ..< p + n) }
                out += x
                p += n
                progress?(n)
            }
            return out
        }
    }

    func logits(hidden: UnsafeBufferPointer<Float>, count: Int, into out: UnsafeMutableBufferPointer<Float>) {
        let l = engine.logits(fromHidden: Array(hidden), count: count)
        _ = l.withUnsafeBufferPointer { out.update(fromContentsOf: $0) }
    }

    /// Greedy reply to `prompt`: up to `limit` tokens, ending with the stop token (`<end_of_turn>`, EOS) if one came.
    func greedyReply(_ prompt: [Int32], limit: Int, stop: Set<Int32>) throws -> [Int32] {
        engine.reset()
        var logits = try engine.evaluate(prompt)
        var reply: [Int32] = []
        while reply.count < limit {
            let next = Int32(Sampler.argmax(logits))
            reply.append(next)
            if stop.contains(next) { break }
            guard engine.position < engine.options.contextLength, reply.count < limit else { break }
            logits = try engine.evaluate([next])
        }
        return reply
    }
}
