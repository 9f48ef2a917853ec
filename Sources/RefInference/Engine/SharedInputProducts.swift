/// What `WeightMatrix.prepare` makes of activation rows: matrices with the same format can share one prepared copy.
public struct ActivationFormat: Hashable, Sendable {
    /// The ggml type id activations are converted to (`ck_activation_type`), or -1 for float rows.
    let typeID: Int
    let columns: Int
    let kernelReady: Bool
}

/// Products of several weight matrices with one input.
public enum WeightMatrixProducts {
    /// `x @ Wᵀ` for every matrix in `ws` that reads the same input (a layer's Q, K and V; its gate and up), as
    /// llama.cpp's CPU backend does: the activations are converted once per distinct format (its `wdata` is reused
    /// across the mul_mats of one input) and the output rows of all matrices are split between threads in one
    /// parallel pass instead of one pass per matrix. Each product has exactly the bits `apply(to:mode:threads:)` gives.
    public static func applyAll(_ ws: [any WeightMatrix], to x: [Float], mode: MatMulMode, threads: Int) -> [[Float]] {
        guard let first = ws.first else { return [] }
        let batch = x.count / first.columns
        var prepared: [ActivationFormat: PreparedActivations] = [:]
        let inputs: [PreparedActivations] = x.withUnsafeBufferPointer { xb in
            ws.map { w in
                let f = w.activationFormat(mode: mode)
                if let p = prepared[f] { return p }
                let p = w.prepare(xb.baseAddress!, batch: batch, mode: mode, threads: threads)
                prepared[f] = p
                return p
            }
        }
        // One row space over all matrices: matrix m owns rows offsets[m] ..< offsets[m + 1].
        var rowStarts = [0]
        for w in ws { rowStarts.append(rowStarts.last! + w.rows) }
        let offsets = rowStarts
        let buffers = ws.map { SendablePointer(UnsafeMutablePointer<Float>.allocate(capacity: batch * $0.rows)) }
        defer { for b in buffers { b.p.deallocate() } }
        parallelRanges(offsets.last!, threads: threads, align: 16) { range in
            for m in ws.indices {
                let lo = max(range.lowerBound, offsets[m]), hi = min(range.upperBound, offsets[m + 1])
                if lo < hi { ws[m].multiply(inputs[m], rows: lo - offsets[m] ..< hi - offsets[m], into: buffers[m].p, ldo: ws[m].rows) }
            }
        }
        return ws.indices.map { m in Array(UnsafeBufferPointer(start: buffers[m].p, count: batch * ws[m].rows)) }
    }
}
