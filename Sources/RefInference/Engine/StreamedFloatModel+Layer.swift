import KilnCore

extension StreamedFloatModel {
    /// Tokens per group of consecutive sequences that go through a layer's projections together (bounds the
    /// intermediate buffers: the feed-forward activations are `2 × groupTokens × n_ff` floats).
    static let groupTokens = 512

    /// Runs decoder layer `il` on every sequence, in place on the activations `x` (`[Σ T][n_embd]`);
    /// `offsets[s] ..< offsets[s + 1]` are sequence `s`'s rows. `lastKey[r]`, when given, is the last position row `r`
    /// attends to (its own position unless it is a bidirectional soft token: `SoftTokenSpan.place`).
    func layer(_ il: Int, _ L: GemmaLayerWeights, _ x: UnsafeMutableBufferPointer<Float>, offsets: [Int], lastKey: [Int]? = nil) throws {
        let d = config.embeddingLength, count = offsets.count - 1
        var s = 0
        while s < count {
            var e = s + 1
            while e < count, offsets[e + 1] - offsets[s] <= Self.groupTokens { e += 1 }
            let lengths = (s ..< e).map { offsets[$0 + 1] - offsets[$0] }
            if lengths.reduce(0, +) > 0 {
                layerGroup(il, L, x.baseAddress! + offsets[s] * d, lengths: lengths, lastKey: lastKey?[offsets[s] ..< offsets[e]])
            }
            s = e
        }
    }

    /// Layer `il` on consecutive sequences of `lengths` tokens whose activations start at `x` (each from position 0);
    /// `lastKey` as in `layer`, for these rows.
    func layerGroup(_ il: Int, _ L: GemmaLayerWeights, _ x: UnsafeMutablePointer<Float>, lengths: [Int], lastKey: ArraySlice<Int>? = nil) {
        let c = config, d = c.embeddingLength, n = lengths.reduce(0, +)
        let H = c.headCount, Hkv = c.headCountKV, hd = c.headDim, vd = c.valueDim
        let h = norm(x, rows: n, weight: L.attnNorm)
        var q = project(L.q, h, rows: n), k = project(L.k, h, rows: n)
        let v = project(L.v, h, rows: n)
        if let w = L.qNorm { q = norm(q, rows: n * H, weight: w) }
        if let w = L.kNorm { k = norm(k, rows: n * Hkv, weight: w) }
        // Position of each row within its sequence, and the row where its sequence starts.
        var rowPosition = [Int](repeating: 0, count: n), rowStart = [Int](repeating: 0, count: n)
        var row = 0
        for len in lengths {
            for t in 0 ..< len { rowPosition[row + t] = t; rowStart[row + t] = row }
            row += len
        }
        let position = rowPosition, start = rowStart, last = lastKey.map(Array.init) ?? rowPosition
        let (base, freqScale) = c.rope(layer: il)
        let scale = c.attentionScale
        q.withUnsafeMutableBufferPointer { qb in k.withUnsafeMutableBufferPointer { kb in
            for r in 0 ..< n {
                GemmaNumerics.ropeNeox(qb.baseAddress! + r * H * hd, heads: H, dim: hd, position: position[r], base: base, freqScale: freqScale)
                GemmaNumerics.ropeNeox(kb.baseAddress! + r * Hkv * hd, heads: Hkv, dim: hd, position: position[r], base: base, freqScale: freqScale)
            }
            for i in 0 ..< n * H * hd { qb[i] *= scale }
        } }

        var attn = [Float](repeating: 0, count: n * H * vd)
        let sliding = c.isSliding(layer: il), window = c.slidingWindow, group = H / Hkv, cap = c.attentionLogitSoftcap ?? 0
        let longest = lengths.max() ?? 0
        parallelAttention(q: q, k: k, v: v, into: &attn, jobs: n * H, threads: options.threads, scores: longest + 1) { job, a, scores in
            let r = job / H, head = job % H, kvh = head / group, p = position[r], s0 = start[r]
            GemmaNumerics.attend(query: a.q + (r * H + head) * hd, keys: a.k + (s0 * Hkv + kvh) * hd,
                                 values: a.v + (s0 * Hkv + kvh) * vd, stride: Hkv,
                                 rows: (sliding ? max(0, p - window + 1) : 0) ... last[r], headDim: hd, valueDim: vd,
                                 scores: scores, simd: true, roundProbabilities: false, softCap: cap,
                                 into: a.out + (r * H + head) * vd)
        }

        let o = project(L.output, attn, rows: n)
        var sa = L.postAttentionNorm.map { norm(o, rows: n, weight: $0) } ?? o  // Gemma 1 has no post norms
        for i in 0 ..< n * d { sa[i] += x[i] }
        let hf = norm(sa, rows: n, weight: L.ffnNorm)
        let g = project(L.gate, hf, rows: n), u = project(L.up, hf, rows: n)
        var a = [Float](repeating: 0, count: g.count)
        g.withUnsafeBufferPointer { gb in u.withUnsafeBufferPointer { ub in a.withUnsafeMutableBufferPointer { ab in
            GemmaNumerics.geglu(gb.baseAddress!, ub.baseAddress!, count: g.count, table: false, into: ab.baseAddress!)
        } } }
        let down = project(L.down, a, rows: n)
        let f = L.postFFWNorm.map { norm(down, rows: n, weight: $0) } ?? down
        for i in 0 ..< n * d { x[i] = f[i] + sa[i] }
    }

    /// RMSNorm of `rows` rows of `weight.count` values.
    func norm(_ x: UnsafePointer<Float>, rows: Int, weight: [Float]) -> [Float] {
        var y = [Float](repeating: 0, count: rows * weight.count)
        GemmaNumerics.rmsNorm(x, rows: rows, dim: weight.count, weight: weight, eps: config.rmsEpsilon, into: &y)
        return y
    }

    /// `x · Wᵀ` for `rows` activation rows: the float32 product kernel for in-memory float weights, the engine's plain
    /// reference product for any other `WeightMatrix`.
    func project(_ w: any WeightMatrix, _ x: UnsafePointer<Float>, rows: Int) -> [Float] {
        var y = [Float](repeating: 0, count: rows * w.rows)
        y.withUnsafeMutableBufferPointer { yb in
            if let f = w as? FloatWeightMatrix {
                f.values.withUnsafeBufferPointer { wb in
                    FloatGemm.multiply(x: x, m: rows, w: wb.baseAddress!, n: f.rows, k: f.columns, y: yb.baseAddress!,
                                       ldy: f.rows, threads: options.threads)
                }
            } else {
                w.multiply(w.prepare(x, batch: rows, mode: .referencePlain), rows: 0 ..< w.rows, into: yb.baseAddress!, ldo: w.rows)
            }
        }
        return y
    }
}
