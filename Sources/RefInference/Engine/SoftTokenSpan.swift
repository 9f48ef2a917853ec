import KilnCore

/// Input embeddings that take the place of some rows of a token sequence on the float path: a vision encoder's soft
/// tokens (`VisionEncoder.encode`), read unscaled in place of token embeddings, as `GemmaEngine.evaluate(embeddings:
/// count:bidirectional:)` reads them.
public struct SoftTokenSpan: Sendable {
    /// The first row replaced.
    public var start: Int
    /// `count × n_embd` floats, row by row.
    public var values: [Float]
    /// Whether the span's rows also attend to its later rows (libmtmd's non-causal image batch for Gemma 3).
    public var bidirectional: Bool

    public init(start: Int, values: [Float], bidirectional: Bool) {
        self.start = start
        self.values = values
        self.bidirectional = bidirectional
    }

    /// Writes each sequence's spans into `x` (rows of `width`; sequence `s` from row `offsets[s]`) and returns, per row,
    /// the last position that row attends to: its own, or the span's last row for a row of a bidirectional span —
    /// `GemmaEngine`'s rule for a bidirectional chunk that is exactly the span (sliding-window layers still mask keys
    /// a window behind). Nil when there is no span (plain causal attention).
    static func place(_ spans: [[SoftTokenSpan]], into x: inout [Float], offsets: [Int], width d: Int) throws(KilnError) -> [Int]? {
        guard spans.contains(where: { !$0.isEmpty }) else { return nil }
        guard spans.count <= offsets.count - 1 else {
            throw KilnError(.usage, "soft tokens for \(spans.count) sequences, but there are \(offsets.count - 1)")
        }
        var last: [Int] = []
        last.reserveCapacity(offsets.last ?? 0)
        for s in 0 ..< offsets.count - 1 { last += 0 ..< offsets[s + 1] - offsets[s] }
        for (s, list) in spans.enumerated() {
            let length = offsets[s + 1] - offsets[s]
            for span in list {
                let count = span.values.count / d
                guard count > 0, span.values.count == count * d, span.start >= 0, span.start <= length - count else {
                    throw KilnError(.usage, "sequence \(s + 1): \(span.values.count) soft-token values at row \(span.start) are not whole "
                                    + "rows of \(d) inside its \(length) rows")
                }
                let row = offsets[s] + span.start
                x.replaceSubrange(row * d ..< (row + count) * d, with: span.values)
                if span.bidirectional {
                    for r in row ..< row + count { last[r] = span.start + count - 1 }
                }
            }
        }
        return last
    }
}
