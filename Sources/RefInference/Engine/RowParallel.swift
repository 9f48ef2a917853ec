// The engine's element-wise steps split between its threads by rows, for prompt-sized batches: with one thread
// doing them between the parallel products, they were about a sixth of a prompt's time on one thread, and the other
// threads waited through them. Every row (or element) is computed on its own exactly as before, so results do not
// depend on the split.

/// `body` over `0..<rows` rows of `width` values, split between `threads` when there are at least 2^15 values; below
/// that (a decode step's rows) starting the workers costs more than the work, and it runs on the calling thread.
func forRows(_ rows: Int, width: Int, threads: Int, _ body: @Sendable (Range<Int>) -> Void) {
    parallelRanges(rows, threads: rows * width >= 1 << 15 ? threads : 1, body)
}

extension GemmaEngine {
    /// `forRows` on the engine's threads.
    func forRows(_ rows: Int, width: Int, _ body: @Sendable (Range<Int>) -> Void) {
        RefInference.forRows(rows, width: width, threads: options.threads, body)
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
