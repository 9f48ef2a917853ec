/// The engine's element-wise steps split between its threads by rows, for prompt-sized batches: with one thread
/// doing them between the parallel products, they were about a sixth of a prompt's time on one thread, and the other
/// threads waited through them. Every row (or element) is computed on its own exactly as before, so results do not
/// depend on the split.
extension GemmaEngine {
    /// Below this many values a step runs on the calling thread (a decode step's rows: starting the workers costs more).
    static let parallelElementwiseMinimum = 1 << 15

    /// `body` over `0..<rows` rows of `width` values, split between the threads when the batch is large enough.
    func forRows(_ rows: Int, width: Int, _ body: @Sendable (Range<Int>) -> Void) {
        parallelRanges(rows, threads: rows * width >= Self.parallelElementwiseMinimum ? options.threads : 1, body)
    }

    /// `x + y` element by element (a residual connection).
    func added(_ x: [Float], _ y: [Float]) -> [Float] {
        var out = [Float](repeating: 0, count: x.count)
        x.withUnsafeBufferPointer { xb in y.withUnsafeBufferPointer { yb in out.withUnsafeMutableBufferPointer { ob in
            let xp = SendablePointer(UnsafeMutablePointer(mutating: xb.baseAddress!))
            let yp = SendablePointer(UnsafeMutablePointer(mutating: yb.baseAddress!)), op = SendablePointer(ob.baseAddress!)
            let d = config.embeddingLength
            forRows(x.count / d, width: d) { rows in
                for i in rows.lowerBound * d ..< rows.upperBound * d { op.p[i] = xp.p[i] + yp.p[i] }
            }
        } } }
        return out
    }
}
