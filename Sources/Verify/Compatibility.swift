import GGUFWriter
import KilnCore
import RefInference
import Tokenizers

/// Source and candidate must describe the same model: same architecture (the same engine family), same config, same
/// vocabulary size after trimming padded embedding rows as the converter does, and — when the source carries a
/// token list (a GGUF) — the same tokens.
enum Compatibility {
    static func check(source: GemmaConfig, candidate: GemmaConfig, sourcePath: String, candidatePath: String,
                      sourceTokens: [String]?, candidateTokens: [String]) throws(KilnError) {
        var diffs: [String] = []
        func cmp<T: Equatable>(_ name: String, _ a: T, _ b: T) { if a != b { diffs.append("\(name): source \(a), candidate \(b)") } }
        cmp("architecture", source.architecture, candidate.architecture)
        cmp("vocabulary size", source.vocabularySize, candidate.vocabularySize)
        cmp("layers", source.layerCount, candidate.layerCount)
        cmp("embedding length", source.embeddingLength, candidate.embeddingLength)
        cmp("feed-forward length", source.feedForwardLength, candidate.feedForwardLength)
        cmp("attention heads", source.headCount, candidate.headCount)
        cmp("KV heads", source.headCountKV, candidate.headCountKV)
        cmp("head dim", source.headDim, candidate.headDim)
        cmp("value dim", source.valueDim, candidate.valueDim)
        cmp("sliding window", source.slidingWindow, candidate.slidingWindow)
        cmp("sliding window pattern", source.slidingWindowPattern, candidate.slidingWindowPattern)
        cmp("RoPE base (global)", source.ropeBaseGlobal, candidate.ropeBaseGlobal)
        cmp("RoPE base (local)", source.ropeBaseLocal, candidate.ropeBaseLocal)
        cmp("RoPE scale (global)", source.ropeScaleGlobal, candidate.ropeScaleGlobal)
        cmp("RoPE scale (local)", source.ropeScaleLocal, candidate.ropeScaleLocal)
        cmp("q/k norms", source.queryKeyNorm, candidate.queryKeyNorm)
        cmp("RMS epsilon", source.rmsEpsilon, candidate.rmsEpsilon)
        cmp("attention scale", source.attentionScale, candidate.attentionScale)
        cmp("attention logit soft-cap", source.attentionLogitSoftcap.map { "\($0)" } ?? "none", candidate.attentionLogitSoftcap.map { "\($0)" } ?? "none")
        cmp("final logit soft-cap", source.finalLogitSoftcap.map { "\($0)" } ?? "none", candidate.finalLogitSoftcap.map { "\($0)" } ?? "none")
        if let s = sourceTokens, s.count == candidateTokens.count, let i = s.indices.first(where: { s[$0] != candidateTokens[$0] }) {
            diffs.append("token \(i): source '\(s[i])', candidate '\(candidateTokens[i])'")
        }
        guard diffs.isEmpty else {
            throw KilnError(.invalid, "source \(sourcePath) and candidate \(candidatePath) are different models: " + diffs.joined(separator: "; "))
        }
    }
}
