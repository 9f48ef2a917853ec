import CKernels
import GGUFWriter
import KilnCore
#if canImport(Glibc)
import Glibc
#endif

/// Which implementation the engine runs.
public enum ComputePath: Sendable, Equatable {
    /// C SIMD kernels on the stored blocks, llama.cpp CPU numerics.
    case fast
    /// Plain Swift loops on dequantized rows; `llamaCppNumerics` decides whether rounding is emulated.
    case reference
}

/// Engine settings.
public struct EngineOptions: Sendable, Equatable {
    /// Worker threads for matrix products and attention (results do not depend on it).
    public var threads: Int
    /// KV cache length in tokens.
    public var contextLength: Int
    public var path: ComputePath
    /// Emulate llama.cpp's CPU rounding: activations quantized per weight type, q/K/V and softmax probabilities
    /// rounded to f16 (its F16 KV cache), the f16 GELU table. Always on for `.fast`.
    public var llamaCppNumerics: Bool
    /// Prompt tokens per forward pass (each weight row is reused across the batch).
    public var batchSize: Int
    /// Copy a GGUF's weight matrices into 2 MB pages instead of reading them from the file mapping (`HugePageWeights`:
    /// faster token-by-token decoding, the same bits, the same resident memory; Q4_0/Q4_K/Q6_K interleaved for their
    /// AVX2 kernels, `QuantizedLayout`).
    public var hugePageWeights: Bool

    public init(threads: Int = 1, contextLength: Int = 2048, path: ComputePath = .fast, llamaCppNumerics: Bool = true,
                batchSize: Int = 64, hugePageWeights: Bool = true) {
        self.threads = max(1, threads)
        self.contextLength = contextLength
        self.path = path
        self.llamaCppNumerics = path == .fast ? true : llamaCppNumerics
        self.batchSize = max(1, batchSize)
        self.hugePageWeights = hugePageWeights
    }

    var matMulMode: MatMulMode {
        path == .fast ? .fast : (llamaCppNumerics ? .referenceEmulated : .referencePlain)
    }
}

/// A Gemma text decoder (any family in `ModelFamilies`: Gemma 3, Gemma 2) with a KV cache, computing like llama.cpp's
/// CPU backend. The family is chosen by `general.architecture` through `GemmaConfig(metadata:)`; what differs per
/// family and per layer is read from the config, once per layer, never inside the per-element loops.
///
/// Not thread-safe: one caller at a time (it parallelizes internally over `options.threads`).
public final class GemmaEngine: @unchecked Sendable {
    public let config: GemmaConfig
    public let weights: GemmaWeights
    public let options: EngineOptions
    /// Tokens in the KV cache; the next token is evaluated at this position.
    public private(set) var position: Int = 0
    /// K and V per layer, `[contextLength][headCountKV * dim]`: halves under llama.cpp numerics (the values are
    /// f16-rounded, as llama.cpp's F16 cache holds them), floats without.
    let kvCache: [KVCache]
    /// Keeps the GGUF mapping alive.
    let file: GGUFFile?

    /// A model over a GGUF file's blocks (memory-mapped, never dequantized as a whole).
    public convenience init(gguf file: GGUFFile, options: EngineOptions = EngineOptions()) throws(KilnError) {
        let embd = try file.tensorInfo(named: GGUFTensorName.tokenEmbedding)
        let config = try GemmaConfig(metadata: file.metadata, vocabularySize: embd.ne.count > 1 ? embd.ne[1] : 0, file: file.path)
        try self.init(config: config, weights: try GemmaWeights(gguf: file, config: config, hugePages: options.hugePageWeights),
                      options: options, file: file)
    }

    /// Opens `path` as GGUF.
    public convenience init(path: String, options: EngineOptions = EngineOptions()) throws(KilnError) {
        try self.init(gguf: try GGUFFile(path: path), options: options)
    }

    /// A model from already-built weights (e.g. `GemmaWeights(source:config:)` for float sources).
    public convenience init(config: GemmaConfig, weights: GemmaWeights, options: EngineOptions = EngineOptions(), file: GGUFFile? = nil) throws(KilnError) {
        try self.init(config: config, weights: weights, options: options, file: file,
                      kvStorage: options.llamaCppNumerics ? .half : .float)
    }

    /// `kvStorage` overrides how the cache holds K and V (tests: `.float` under llama.cpp numerics holds the same
    /// f16-exact values as floats, the storage before the F16 cache).
    init(config: GemmaConfig, weights: GemmaWeights, options: EngineOptions, file: GGUFFile?, kvStorage: KVCache.Storage) throws(KilnError) {
        guard options.contextLength > 0 else { throw KilnError(.usage, "context length must be positive") }
        self.config = config
        self.weights = weights
        self.options = options
        self.file = file
        _ = MallocTuning.applied
        let (k, v) = (config.headCountKV * config.headDim, config.headCountKV * config.valueDim)
        kvCache = (0 ..< config.layerCount).map { _ in KVCache(capacity: options.contextLength, keyWidth: k, valueWidth: v, storage: kvStorage) }
    }

    /// Forgets every cached token.
    public func reset() { position = 0 }

    /// Drops cached tokens after `count` (for re-evaluating a suffix).
    public func truncate(to count: Int) { position = min(position, max(0, count)) }

    /// Evaluates `tokens` at the current position (in batches of `options.batchSize`) and returns the logits of the
    /// last token (`vocabularySize` floats), or with `allLogits` those of every token (`tokens.count × vocabularySize`).
    public func evaluate(_ tokens: [Int32], allLogits: Bool = false) throws(KilnError) -> [Float] {
        try checkEvaluable(tokens)
        var out: [Float] = []
        if allLogits { out.reserveCapacity(tokens.count * config.vocabularySize) }
        var start = 0
        while start < tokens.count {
            let chunk = Array(tokens[start ..< min(tokens.count, start + options.batchSize)])
            let last = start + chunk.count == tokens.count
            let logits = forward(chunk, logitsFor: allLogits ? .all : (last ? .last : .none))
            if allLogits || last { out.append(contentsOf: logits) }
            start += chunk.count
        }
        return out
    }

    /// Evaluates `tokens` at the current position (in batches of `options.batchSize`) and returns the final hidden
    /// state of every token after the output norm (`tokens.count × n_embd`), for `logits(normedHidden:count:)` to
    /// turn into logits a block of positions at a time.
    public func finalHidden(_ tokens: [Int32]) throws(KilnError) -> [Float] {
        try checkEvaluable(tokens)
        var out: [Float] = []
        out.reserveCapacity(tokens.count * config.embeddingLength)
        var start = 0
        while start < tokens.count {
            let chunk = Array(tokens[start ..< min(tokens.count, start + options.batchSize)])
            out.append(contentsOf: rmsNorm(hidden(chunk), weight: weights.outputNorm))
            start += chunk.count
        }
        return out
    }

    /// Evaluates `count` rows of soft tokens (`count × n_embd` floats from a `VisionEncoder`) at the current position
    /// as llama.cpp decodes an image chunk: the rows replace token embeddings unscaled (gemma3's graph scales only
    /// token inputs by √n_embd), all in one batch, and with `bidirectional` every row attends to every other row of
    /// the chunk as well as to the cache (libmtmd turns causal attention off for gemma3 images; sliding-window layers
    /// still mask keys more than the window behind). No logits are computed, as llama.cpp requests none for image
    /// tokens; advances `position` by `count`.
    public func evaluate(embeddings x: [Float], count: Int, bidirectional: Bool) throws(KilnError) {
        guard count > 0, x.count == count * config.embeddingLength else {
            throw KilnError(.usage, "\(x.count) values are not \(count) soft tokens of width \(config.embeddingLength)")
        }
        guard position + count <= options.contextLength else {
            throw KilnError(.usage, "context full: \(position) + \(count) image tokens exceed --ctx \(options.contextLength)")
        }
        _ = hidden(input: x, count: count, bidirectional: bidirectional)
    }

    /// Throws unless `tokens` is non-empty, fits the context after `position` and holds only vocabulary ids.
    func checkEvaluable(_ tokens: [Int32]) throws(KilnError) {
        guard !tokens.isEmpty else { throw KilnError(.usage, "no tokens to evaluate") }
        guard position + tokens.count <= options.contextLength else {
            throw KilnError(.usage, "context full: \(position) + \(tokens.count) tokens exceed --ctx \(options.contextLength)")
        }
        if let bad = tokens.first(where: { $0 < 0 || Int($0) >= config.vocabularySize }) {
            throw KilnError(.usage, "token id \(bad) is outside the vocabulary (\(config.vocabularySize))")
        }
    }

    enum LogitRows { case none, last, all }

    /// One forward pass of `tokens` at `position...`; advances `position`.
    func forward(_ tokens: [Int32], logitsFor which: LogitRows) -> [Float] {
        let T = tokens.count, d = config.embeddingLength
        let x = hidden(tokens)
        let rows: Range<Int>
        switch which {
        case .none: return []
        case .last: rows = T - 1 ..< T
        case .all: rows = 0 ..< T
        }
        let sel = Array(x[rows.lowerBound * d ..< rows.upperBound * d])
        return logits(fromHidden: sel, count: rows.count)
    }

    /// The last layer's output for `tokens` at `position...` (before the output norm); advances `position`.
    func hidden(_ tokens: [Int32]) -> [Float] {
        hidden(input: embed(tokens), count: tokens.count, bidirectional: false)
    }

    /// The last layer's output for `count` input rows at `position...`; advances `position`.
    func hidden(input: [Float], count: Int, bidirectional: Bool) -> [Float] {
        var x = input
        let positions = position ..< position + count
        for il in 0 ..< config.layerCount {
            x = layer(il, x, positions: positions, bidirectional: bidirectional)
        }
        position += count
        return x
    }

    // MARK: Stages (public for teacher-forced verification against llama.cpp's per-layer dumps)

    /// `token_embd` rows × sqrtf(n_embd) (llama.cpp's `inp_scaled`), `[T][n_embd]`.
    public func embed(_ tokens: [Int32]) -> [Float] {
        let d = config.embeddingLength
        var x = [Float](repeating: 0, count: tokens.count * d)
        let scale = Float(d).squareRoot()
        x.withUnsafeMutableBufferPointer { b in
            for (t, id) in tokens.enumerated() {
                weights.tokenEmbedding.copyRow(Int(id), into: b.baseAddress! + t * d)
                for i in 0 ..< d { b[t * d + i] *= scale }
            }
        }
        return x
    }

    /// RMSNorm of `rows` rows of `weight.count` values, times `weight`.
    public func rmsNorm(_ x: [Float], weight: [Float]) -> [Float] {
        var y = [Float](repeating: 0, count: x.count)
        let dim = weight.count, eps = config.rmsEpsilon
        x.withUnsafeBufferPointer { xb in weight.withUnsafeBufferPointer { w in y.withUnsafeMutableBufferPointer { yb in
            let xp = SendablePointer(UnsafeMutablePointer(mutating: xb.baseAddress!))
            let wp = SendablePointer(UnsafeMutablePointer(mutating: w.baseAddress!)), yp = SendablePointer(yb.baseAddress!)
            forRows(x.count / dim, width: dim) { rows in
                GemmaNumerics.rmsNorm(xp.p + rows.lowerBound * dim, rows: rows.count, dim: dim, weight: wp.p, eps: eps,
                                      into: yp.p + rows.lowerBound * dim)
            }
        } } }
        return y
    }

    /// `x @ Wᵀ` for `batch = x.count / W.columns` rows, parallel over output rows.
    public func matmul(_ w: any WeightMatrix, _ x: [Float]) -> [Float] {
        w.apply(to: x, mode: options.matMulMode, threads: options.threads)
    }

    /// `x @ Wᵀ` for matrices sharing the input `x` (activations prepared once, one parallel pass; same bits as one
    /// `matmul` each).
    public func matmul(_ ws: [any WeightMatrix], _ x: [Float]) -> [[Float]] {
        WeightMatrixProducts.applyAll(ws, to: x, mode: options.matMulMode, threads: options.threads)
    }

    /// Q, K and V of layer `il` from the normed input: projections, per-head RMSNorm (families with q/k norms),
    /// NEOX RoPE at `positions`, q × attention scale, and (llama.cpp numerics) f16 rounding of q, K and V.
    public func qkv(_ il: Int, normed h: [Float], positions: Range<Int>) -> (q: [Float], k: [Float], v: [Float]) {
        let L = weights.layers[il]
        let qkv = matmul([L.q, L.k, L.v], h)
        var q = qkv[0], k = qkv[1], v = qkv[2]
        if let w = L.qNorm { q = rmsNorm(q, weight: w) }
        if let w = L.kNorm { k = rmsNorm(k, weight: w) }
        // Per token: RoPE, q × attention scale, and (llama.cpp numerics) f16 rounding of q, K and V.
        let T = positions.count, (qw, kw, vw) = (q.count / T, k.count / T, v.count / T)
        let hd = config.headDim, (base, freqScale) = config.rope(layer: il)
        let s = config.attentionScale, round = options.llamaCppNumerics, p0 = positions.lowerBound
        q.withUnsafeMutableBufferPointer { qb in k.withUnsafeMutableBufferPointer { kb in v.withUnsafeMutableBufferPointer { vb in
            let qp = SendablePointer(qb.baseAddress!), kp = SendablePointer(kb.baseAddress!), vp = SendablePointer(vb.baseAddress!)
            forRows(T, width: qw + kw) { tokens in
                for t in tokens {
                    let qt = qp.p + t * qw, kt = kp.p + t * kw, vt = vp.p + t * vw
                    GemmaNumerics.ropeNeox(qt, heads: qw / hd, dim: hd, position: p0 + t, base: base, freqScale: freqScale)
                    GemmaNumerics.ropeNeox(kt, heads: kw / hd, dim: hd, position: p0 + t, base: base, freqScale: freqScale)
                    for i in 0 ..< qw { qt[i] *= s }
                    if round {
                        GemmaNumerics.roundToHalf(qt, count: qw)
                        GemmaNumerics.roundToHalf(kt, count: kw)
                        GemmaNumerics.roundToHalf(vt, count: vw)
                    }
                }
            }
        } } }
        return (q, k, v)
    }

    /// NEOX RoPE in place on `[T][heads][headDim]` with layer `il`'s base and scale.
    public func rope(_ x: inout [Float], layer il: Int, positions: Range<Int>) {
        let hd = config.headDim, heads = x.count / positions.count / hd
        let (base, scale) = config.rope(layer: il)
        x.withUnsafeMutableBufferPointer { b in
            for (t, p) in positions.enumerated() {
                GemmaNumerics.ropeNeox(b.baseAddress! + t * heads * hd, heads: heads, dim: hd, position: p, base: base, freqScale: scale)
            }
        }
    }

    /// Stores `k`, `v` in layer `il`'s cache at `positions` and attends every query to its visible keys
    /// (causal, or with `bidirectional` also the later keys of `positions`; sliding layers also mask keys with
    /// p_q − p_k ≥ window; scores soft-capped when the family caps them). Returns `[T][heads × valueDim]` (llama.cpp's
    /// `kqv_out`).
    public func attention(_ il: Int, q: [Float], k: [Float], v: [Float], positions: Range<Int>, bidirectional: Bool = false) -> [Float] {
        let cache = kvCache[il]
        cache.store(k: k, v: v, at: positions.lowerBound)
        switch cache.rows {
        case let .half(K, V):
            if options.path == .fast { return attendGrouped(il, q: q, keys: K, values: V, positions: positions, bidirectional: bidirectional) }
            return attend(il, q: q, keys: K, values: V, positions: positions, bidirectional: bidirectional)
        case let .float(K, V): return attend(il, q: q, keys: K, values: V, positions: positions, bidirectional: bidirectional)
        }
    }

    /// `attention` over layer `il`'s cached rows `K`, `V` (halves or floats): `T × heads` jobs over the threads.
    func attend<E: AttentionRowElement>(_ il: Int, q: [Float], keys K: UnsafeMutablePointer<E>, values V: UnsafeMutablePointer<E>,
                                        positions: Range<Int>, bidirectional: Bool) -> [Float] {
        let c = config, T = positions.count, H = c.headCount, Hkv = c.headCountKV, hd = c.headDim, vd = c.valueDim
        let sliding = c.isSliding(layer: il), window = c.slidingWindow
        let roundProbs = options.llamaCppNumerics, fast = options.path == .fast, cap = c.attentionLogitSoftcap ?? 0
        var out = [Float](repeating: 0, count: T * H * vd)
        let group = H / Hkv
        q.withUnsafeBufferPointer { qb in out.withUnsafeMutableBufferPointer { ob in
            let qp = SendablePointer(UnsafeMutablePointer(mutating: qb.baseAddress!)), op = SendablePointer(ob.baseAddress!)
            let kp = SendablePointer(K), vp = SendablePointer(V)
            parallelRanges(T * H, threads: options.threads) { range in
                let span = positions.upperBound
                let scores = UnsafeMutablePointer<Float>.allocate(capacity: span)
                defer { scores.deallocate() }
                for job in range {
                    let t = job / H, h = job % H, kvh = h / group
                    let p = positions.lowerBound + t
                    GemmaNumerics.attendRows(query: qp.p + (t * H + h) * hd, keys: kp.p + kvh * hd, values: vp.p + kvh * vd,
                                             stride: Hkv, rows: (sliding ? max(0, p - window + 1) : 0) ... (bidirectional ? span - 1 : p),
                                             headDim: hd, valueDim: vd,
                                             scores: scores, simd: fast, roundProbabilities: roundProbs, scale: 1, softCap: cap,
                                             into: op.p + (t * H + h) * vd)
                }
            }
        } }
        return out
    }

    /// `attend` on the fast path over an f16 cache with the query heads that share a KV head taken together
    /// (`ck_scores_group_f16`, `GemmaNumerics.softmax` per head, `ck_pv_group_f16`): each key and value row is
    /// widened once per group instead of once per head and the output stays in registers across the keys. Every head
    /// gets exactly the operations `attend` gives it, so the bits are the same. Jobs are (token, KV head) pairs, or
    /// single heads when those are too few to keep the threads busy (a decode step).
    func attendGrouped(_ il: Int, q: [Float], keys K: UnsafeMutablePointer<UInt16>, values V: UnsafeMutablePointer<UInt16>,
                       positions: Range<Int>, bidirectional: Bool) -> [Float] {
        let c = config, T = positions.count, H = c.headCount, Hkv = c.headCountKV, hd = c.headDim, vd = c.valueDim
        let sliding = c.isSliding(layer: il), window = c.slidingWindow, cap = c.attentionLogitSoftcap ?? 0
        let group = H / Hkv, span = positions.upperBound
        let heads = T * Hkv >= 2 * options.threads ? group : 1   // query heads per job
        let jobsPerToken = H / heads
        var out = [Float](repeating: 0, count: T * H * vd)
        q.withUnsafeBufferPointer { qb in out.withUnsafeMutableBufferPointer { ob in
            let qp = SendablePointer(UnsafeMutablePointer(mutating: qb.baseAddress!)), op = SendablePointer(ob.baseAddress!)
            let kp = SendablePointer(K), vp = SendablePointer(V)
            parallelRanges(T * jobsPerToken, threads: options.threads) { range in
                let scores = UnsafeMutablePointer<Float>.allocate(capacity: heads * span)
                defer { scores.deallocate() }
                for job in range {
                    // Tokens taken first, last, second, second to last, …: a causal token's work grows with its
                    // position, so contiguous job ranges then get even shares.
                    let ti = job / jobsPerToken, t = ti % 2 == 0 ? ti / 2 : T - 1 - ti / 2
                    let h0 = job % jobsPerToken * heads, kvh = h0 / group
                    let p = positions.lowerBound + t
                    let rows = (sliding ? max(0, p - window + 1) : 0) ... (bidirectional ? span - 1 : p)
                    let qh = qp.p + (t * H + h0) * hd, oh = op.p + (t * H + h0) * vd
                    ck_scores_group_f16(qh, Int64(hd), Int32(heads), kp.p + kvh * hd, Int64(Hkv * hd), Int64(rows.lowerBound),
                                        Int64(rows.upperBound), Int64(hd), scores, Int64(span))
                    for h in 0 ..< heads {
                        GemmaNumerics.softmax(scores + h * span, rows, scale: 1, softCap: cap, roundProbabilities: options.llamaCppNumerics)
                    }
                    ck_pv_group_f16(scores, Int64(span), Int32(heads), vp.p + kvh * vd, Int64(Hkv * vd), Int64(rows.lowerBound),
                                    Int64(rows.upperBound), Int64(vd), oh, Int64(vd))
                }
            }
        } }
        return out
    }

    /// Attention output projection and post-attention norm (llama.cpp's `attn_post_norm`; none for Gemma 1).
    public func attentionOutput(_ il: Int, _ kqv: [Float]) -> [Float] {
        let L = weights.layers[il]
        return rmsNorm(matmul(L.output, kqv), weight: L.postAttentionNorm)
    }

    /// `rmsNorm` with `weight`, or `x` unchanged for a family without that norm (Gemma 1's post norms).
    public func rmsNorm(_ x: [Float], weight: [Float]?) -> [Float] {
        weight.map { rmsNorm(x, weight: $0) } ?? x
    }

    /// The gated tanh-GELU feed-forward block on the normed input (llama.cpp's `ffn_out`, before its post norm).
    public func feedForward(_ il: Int, normed h: [Float]) -> [Float] {
        let L = weights.layers[il]
        let gu = matmul([L.gate, L.up], h)
        let g = gu[0], u = gu[1]
        var a = [Float](repeating: 0, count: g.count)
        let f = L.gate.rows, table = options.llamaCppNumerics
        g.withUnsafeBufferPointer { gb in u.withUnsafeBufferPointer { ub in a.withUnsafeMutableBufferPointer { ab in
            let gp = SendablePointer(UnsafeMutablePointer(mutating: gb.baseAddress!))
            let up = SendablePointer(UnsafeMutablePointer(mutating: ub.baseAddress!)), ap = SendablePointer(ab.baseAddress!)
            forRows(g.count / f, width: f) { rows in
                let o = rows.lowerBound * f
                GemmaNumerics.geglu(gp.p + o, up.p + o, count: rows.count * f, table: table, into: ap.p + o)
            }
        } } }
        return matmul(L.down, a)
    }

    /// One decoder layer on `[T][n_embd]` at `positions` (writes that layer's KV cache).
    public func layer(_ il: Int, _ x: [Float], positions: Range<Int>, bidirectional: Bool = false) -> [Float] {
        let L = weights.layers[il]
        let h = rmsNorm(x, weight: L.attnNorm)
        let (q, k, v) = qkv(il, normed: h, positions: positions)
        let a = attentionOutput(il, attention(il, q: q, k: k, v: v, positions: positions, bidirectional: bidirectional))
        let sa = added(a, x)
        let f = rmsNorm(feedForward(il, normed: rmsNorm(sa, weight: L.ffnNorm)), weight: L.postFFWNorm)
        return added(f, sa)
    }

    /// Output norm, output projection and optional soft-cap for `count` hidden rows.
    public func logits(fromHidden x: [Float], count: Int) -> [Float] {
        logits(normedHidden: rmsNorm(x, weight: weights.outputNorm), count: count)
    }

    /// Output projection and optional soft-cap for `count` rows already through the output norm (`finalHidden`):
    /// `count × vocabularySize` logits.
    public func logits(normedHidden x: [Float], count: Int) -> [Float] {
        var l = matmul(weights.output, x)
        if let cap = config.finalLogitSoftcap {
            l.withUnsafeMutableBufferPointer { GemmaNumerics.softCap($0.baseAddress!, count: $0.count, cap: cap) }
        }
        return l
    }
}
