import Foundation
import KilnCore
import RefInference
import Tokenizers

/// The chat check's second half: the source scores the candidate's greedy reply teacher-forced (from the hidden
/// states of the one batched source pass) and, where its own greedy choice first differs, continues on its own
/// when its float weights fit in memory — so its full reply is printed beside the candidate's.
enum ChatCheck {
    static func evaluate(prompt: String, promptTokens: [Int32], reply: [Int32], sourceHidden: [Float],
                         model: StreamedFloatModel, sourceView: any TensorSource, config: GemmaConfig,
                         tokenizer: SPMTokenizer, threads: Int, memoryBudget: Int) throws -> ChatCheckResult {
        let V = config.vocabularySize, d = config.embeddingLength
        let first = promptTokens.count - 1
        var divergence: Divergence?
        if !reply.isEmpty {
            var logits = [Float](repeating: 0, count: reply.count * V)
            let rows = Array(sourceHidden[first * d ..< (first + reply.count) * d])
            try rows.withUnsafeBufferPointer { h in try logits.withUnsafeMutableBufferPointer { try model.logits(hidden: h, count: reply.count, into: $0) } }
            for (i, token) in reply.enumerated() {
                let row = Array(logits[i * V ..< (i + 1) * V])
                let mine = Sampler.argmax(row)
                guard mine != Int(token) else { continue }
                let lse = row.withUnsafeBufferPointer { LogSoftmaxRow($0).logSumExp }
                divergence = Divergence(index: i, sourceToken: Int32(mine), sourcePiece: piece(tokenizer, Int32(mine)),
                                        candidateToken: token, candidatePiece: piece(tokenizer, token),
                                        sourceProbability: exp(Double(row[mine]) - lse),
                                        candidateProbability: exp(Double(row[Int(token)]) - lse))
                break
            }
        }
        var sourceTokens: [Int32]? = reply
        if let div = divergence {
            sourceTokens = try continueReply(prefix: promptTokens + reply[..<div.index] + [div.sourceToken],
                                             limit: reply.count - div.index - 1, sourceView: sourceView, config: config,
                                             tokenizer: tokenizer, threads: threads, memoryBudget: memoryBudget).map { Array(reply[..<div.index]) + [div.sourceToken] + $0 }
        }
        return ChatCheckResult(prompt: prompt, candidateTokens: reply, candidateReply: tokenizer.detokenize(reply),
                               sourceTokens: sourceTokens, sourceReply: sourceTokens.map { tokenizer.detokenize($0) },
                               identicalTokens: divergence == nil, firstDivergence: divergence)
    }

    static func piece(_ t: SPMTokenizer, _ id: Int32) -> String { String(decoding: t.piece(for: id, special: true), as: UTF8.self) }

    /// The source's greedy continuation of `prefix` on the float32 path in memory, or nil when its float weights
    /// would exceed `memoryBudget` (`VerifyOptions.memoryBudget`, less what verify already keeps): a streamed source
    /// is then only scored, not run token by token.
    static func continueReply(prefix: [Int32], limit: Int, sourceView: any TensorSource, config: GemmaConfig,
                              tokenizer: SPMTokenizer, threads: Int, memoryBudget: Int) throws -> [Int32]? {
        let stops = Set([tokenizer.tokenID(for: "<end_of_turn>"), tokenizer.vocabulary.eosID].compactMap { $0 })
        if let last = prefix.last, stops.contains(last) { return [] }
        guard limit > 0 else { return [] }
        let floatBytes = sourceView.tensors.reduce(0) { $0 + $1.elementCount * 4 }
        guard floatBytes <= memoryBudget else { return nil }
        let engine = try GemmaEngine(config: config, weights: try GemmaWeights(source: sourceView, config: config),
                                     options: EngineOptions(threads: threads, contextLength: prefix.count + limit + 1,
                                                            path: .reference, llamaCppNumerics: false))
        var logits = try engine.evaluate(prefix)
        var out: [Int32] = []
        while out.count < limit {
            let next = Int32(Sampler.argmax(logits))
            out.append(next)
            if stops.contains(next) || out.count == limit { break }
            logits = try engine.evaluate([next])
        }
        return out
    }
}
