import Foundation
import KilnCore

/// Writes source log-probabilities in the file format of llama.cpp's `llama-perplexity --kl-divergence-base`
/// (tools/perplexity/perplexity.cpp), so `llama-perplexity --kl-divergence --kl-divergence-base FILE -m CANDIDATE`
/// compares any candidate against Kiln's source:
///
///     "_logits_"                      8 bytes
///     n_ctx, n_vocab, n_chunk         int32 each
///     tokens                          n_chunk × n_ctx int32 (the text's tokens; llama puts BOS at each chunk start)
///     per chunk, per position first = n_ctx/2 … n_ctx − 2:
///         scale, min_log_prob         float32 each
///         n_vocab uint16 codes        round((logit − min_logit) / scale), 0 below min_logit; padded to even n_vocab
///
/// where min_logit = max(min logit, max logit − 16) and scale = (max − min_logit) / 65535 (llama's `log_softmax`
/// with its uint16 output, in the same float arithmetic).
final class KLBaseFile {
    let output: AtomicOutputFile
    let vocabularySize: Int
    /// uint16 slots per record (`nv` in perplexity.cpp).
    let recordSlots: Int
    private var record: [UInt16]

    init(path: String, context: Int, vocabularySize: Int, chunks: Int, tokens: [Int32], inputs: [String]) throws {
        output = try AtomicOutputFile(path: path, inputs: inputs)
        self.vocabularySize = vocabularySize
        recordSlots = 2 * ((vocabularySize + 1) / 2) + 4
        record = [UInt16](repeating: 0, count: recordSlots)
        var header = Data("_logits_".utf8)
        for v in [Int32(context), Int32(vocabularySize), Int32(chunks)] { withUnsafeBytes(of: v.littleEndian) { header.append(contentsOf: $0) } }
        try header.withUnsafeBytes { try output.write($0) }
        try tokens.withUnsafeBytes { try output.write($0) }
    }

    /// Appends the record of one scored position (logits in llama's order: chunk by chunk, position by position).
    func append(logits l: UnsafeBufferPointer<Float>) throws {
        Self.encode(l, into: &record)
        try record.withUnsafeBytes { try output.write($0) }
    }

    func commit() throws { try output.commit() }

    /// llama.cpp's `log_softmax(n_vocab, logits, uint16_t * log_prob, tok)` output for one row.
    static func encode(_ l: UnsafeBufferPointer<Float>, into out: inout [UInt16]) {
        var mx = l[0], mn = l[0]
        for v in l { mx = max(mx, v); mn = min(mn, v) }
        mn = max(mn, mx - 16)
        var sumExp = 0.0
        for v in l { sumExp += Double(expf(v - mx)) }
        let logSumExp = Float(log(sumExp))
        let minLogProb = mn - mx - logSumExp
        let scale = (mx - mn) / 65535
        out.withUnsafeMutableBufferPointer { o in
            let raw = UnsafeMutableRawPointer(o.baseAddress!)
            raw.storeBytes(of: scale.bitPattern.littleEndian, as: UInt32.self)
            raw.storeBytes(of: minLogProb.bitPattern.littleEndian, toByteOffset: 4, as: UInt32.self)
            let codes = o.baseAddress! + 4
            if scale != 0 {
                let inv = 1 / scale
                for i in 0 ..< l.count { codes[i] = l[i] > mn ? UInt16(truncatingIfNeeded: nearestInt(inv * (l[i] - mn))) : 0 }
            } else {
                for i in 0 ..< l.count { codes[i] = 0 }
            }
        }
    }

    /// ggml's `nearest_int`: round half to even through the 1.5·2²³ trick.
    static func nearestInt(_ f: Float) -> Int32 {
        let v = f + 12_582_912
        return Int32(bitPattern: v.bitPattern & 0x007F_FFFF) - 0x0040_0000
    }
}
