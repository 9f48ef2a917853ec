import Dispatch
import KilnCore
import QuantCore
#if canImport(Glibc)
import Glibc
#endif

/// Settings of the streamed float path.
public struct FloatPathOptions: Sendable {
    /// Worker threads for matrix products and attention (results do not depend on it).
    public var threads: Int
    /// Positions per logits block (callers compute logits `positionBlock` rows at a time; it bounds their memory).
    public var positionBlock: Int
    /// Decode the output matrix once, on first use, and keep its floats (`StreamedFloatModel.outputMatrixBytes`)
    /// instead of streaming it again for every logits block: trades that memory for speed where re-reading is
    /// slow (a zstd Orbax array is decompressed from its start on every pass). Results are bit-identical either way.
    public var keepOutputMatrix: Bool

    public init(threads: Int = 1, positionBlock: Int = 64, keepOutputMatrix: Bool = false) {
        self.threads = max(1, threads)
        self.positionBlock = max(1, positionBlock)
        self.keepOutputMatrix = keepOutputMatrix
    }
}

/// A Gemma text decoder (any family in `ModelFamilies`) in plain float32 that streams its weights: every token of every sequence goes through
/// layer i, then layer i's weights and K/V are released and layer i+1 is read. Peak memory is one layer's float
/// weights plus the activations (`Σ T × n_embd`) and one layer's working set, whatever the model's size; the token
/// embedding is read only at the rows the tokens need, and the output matrix in row blocks (or once, and kept, with
/// `FloatPathOptions.keepOutputMatrix`).
///
/// The math is Gemma's reference math (Google's `gemma` library, `gm.nn.Transformer`; transformers' `Gemma2Model` /
/// `Gemma3TextModel`): RMSNorm with `1 + scale` (the +1 already folded in by GGUF naming), embedding × √d, per-head
/// q/k RMSNorm (Gemma 3), NEOX-order RoPE (per layer as the config says), q × `query_pre_attn_scalar^-½`, causal
/// attention with a sliding window on local layers and (Gemma 2) soft-capped scores, tanh-GELU gating, post-norms,
/// optional final soft-cap; the soft-caps in float32. No llama.cpp rounding:
/// this is `GemmaEngine` with `.reference` and `llamaCppNumerics: false`, batched and streamed.
///
/// `source` holds GGUF-named tensors of any type QuantCore decodes (e.g. `ConvertedTensorView` over a checkpoint, or
/// a GGUF file). Not thread-safe: one call at a time.
public final class StreamedFloatModel {
    public let config: GemmaConfig
    public let options: FloatPathOptions
    let source: any TensorSource
    /// `output.weight` when the model has one, else the tied `token_embd.weight`.
    let outputMatrix: TensorInfo
    let embedding: TensorInfo
    let outputNorm: [Float]
    /// The output matrix's floats once decoded (`keepOutputMatrix` only).
    private var keptOutputMatrix: [Float]?

    /// Checks that every tensor the config needs is there with the right element count (nothing is decoded but the
    /// output norm).
    public init(source: any TensorSource, config: GemmaConfig, options: FloatPathOptions) throws {
        self.source = source
        self.config = config
        self.options = options
        let c = config, d = c.embeddingLength
        func check(_ name: String, _ shape: [Int]) throws -> TensorInfo {
            let t = try source.tensor(named: name)
            guard t.elementCount == shape.reduce(1, *), t.shape.count == shape.count || shape.count == 1 else {
                throw KilnError(.invalid, "shape \(t.shape) where \(shape) was expected", file: source.path, tensor: name)
            }
            return t
        }
        embedding = try check("token_embd.weight", [c.vocabularySize, d])
        guard embedding.shape == [c.vocabularySize, d] else {
            throw KilnError(.invalid, "shape \(embedding.shape) where [\(c.vocabularySize), \(d)] was expected", file: source.path, tensor: embedding.name)
        }
        outputMatrix = source.tensors.contains { $0.name == "output.weight" } ? try check("output.weight", [c.vocabularySize, d]) : embedding
        guard outputMatrix.shape == embedding.shape else {
            throw KilnError(.invalid, "shape \(outputMatrix.shape) where \(embedding.shape) was expected", file: source.path, tensor: outputMatrix.name)
        }
        outputNorm = try source.floats("output_norm.weight", d)
        for i in 0 ..< c.layerCount {
            for (name, shape) in GemmaLayerWeights.tensors(layer: i, config: c) { _ = try check(name, shape) }
        }
    }

    /// Float32 bytes of one decoder layer's weights (what `finalHidden` holds at a time, besides activations).
    public var layerWeightBytes: Int {
        let c = config, d = c.embeddingLength
        let matrices = d * (c.headCount * c.headDim + c.headCountKV * (c.headDim + c.valueDim)) + c.headCount * c.valueDim * d
            + 3 * d * c.feedForwardLength
        return 4 * (matrices + 6 * d + (c.queryKeyNorm ? 2 * c.headDim : 0))
    }

    /// Float32 bytes of the output matrix (what `FloatPathOptions.keepOutputMatrix` holds).
    public var outputMatrixBytes: Int { 4 * config.vocabularySize * config.embeddingLength }

    /// Final hidden states (after the output norm) of every sequence, `[T_i * d]` each; weights read layer by layer
    /// once. Every sequence starts at position 0. `progress(done, total)` counts the embedding and each layer.
    /// `softTokens[i]` (when given) replaces rows of sequence `i` by input embeddings, as a vision encoder's soft tokens
    /// enter the text model (`SoftTokenSpan`); the token ids at those rows are not read.
    public func finalHidden(_ sequences: [[Int32]], softTokens: [[SoftTokenSpan]] = [],
                            progress: ((Int, Int) -> Void)?) throws -> [[Float]] {
        let c = config, d = c.embeddingLength
        for s in sequences {
            if let bad = s.first(where: { $0 < 0 || Int($0) >= c.vocabularySize }) {
                throw KilnError(.usage, "token id \(bad) is outside the vocabulary (\(c.vocabularySize))")
            }
        }
        let total = c.layerCount + 1
        var x = try embed(sequences.flatMap { $0 })
        progress?(1, total)
        var offsets = [0]
        for s in sequences { offsets.append(offsets.last! + s.count) }
        let lastKey = try SoftTokenSpan.place(softTokens, into: &x, offsets: offsets, width: d)
        for il in 0 ..< c.layerCount {
            let weights = try GemmaLayerWeights(layer: il, config: c, matrix: source.floatMatrix, vector: source.floats)
            try x.withUnsafeMutableBufferPointer { xb in
                try layer(il, weights, xb, offsets: offsets, lastKey: lastKey)
            }
            progress?(il + 2, total)
        }
        let n = offsets.last!
        var normed = [Float](repeating: 0, count: n * d)
        if n > 0 {
            GemmaNumerics.rmsNorm(x, rows: n, dim: d, weight: outputNorm, eps: c.rmsEpsilon, into: &normed)
        }
        return sequences.indices.map { Array(normed[offsets[$0] * d ..< offsets[$0 + 1] * d]) }
    }

    /// Logits of `count` hidden rows (`[count][d]` → `[count][vocab]`), the output matrix streamed in row blocks (or
    /// served from memory with `keepOutputMatrix`); soft-cap applied.
    public func logits(hidden: UnsafeBufferPointer<Float>, count: Int, into out: UnsafeMutableBufferPointer<Float>) throws {
        let d = config.embeddingLength, vocab = config.vocabularySize
        guard count >= 0, hidden.count >= count * d, out.count >= count * vocab else {
            throw KilnError(.usage, "logits: \(hidden.count) hidden values and room for \(out.count) logits do not fit \(count) rows")
        }
        guard count > 0, let h = hidden.baseAddress, let o = out.baseAddress else { return }
        try forEachRowBlock(of: outputMatrix, rows: vocab) { r0, r1, w in
            FloatGemm.multiply(x: h, m: count, w: w, n: r1 - r0, k: d, y: o + r0, ldy: vocab, threads: options.threads)
        }
        if let cap = config.finalLogitSoftcap { GemmaNumerics.softCap(o, count: count * vocab, cap: cap) }
    }

    /// Output-matrix rows per streamed block: about 16 MiB of floats.
    static func rowsPerBlock(columns: Int) -> Int { max(16, (16 << 20) / max(1, 4 * columns)) }

    /// Calls `body(r0, r1, floats)` for consecutive blocks of `rowsPerBlock` rows of `tensor` from row 0 up to `end`
    /// (a `[vocabulary, d]` matrix: the embedding or the output matrix), from the kept output matrix when there is
    /// one (decoding it on first use), else streamed. The blocks are the same either way, so every product sees the
    /// same operands in the same partition and the results are bit-identical.
    func forEachRowBlock(of tensor: TensorInfo, rows end: Int,
                         _ body: (Int, Int, UnsafePointer<Float>) throws -> Void) throws {
        guard options.keepOutputMatrix && tensor.name == outputMatrix.name else {
            return try streamRowBlocks(of: tensor, rows: end, body)
        }
        if keptOutputMatrix == nil {
            let d = config.embeddingLength, vocab = config.vocabularySize
            var all = [Float](repeating: 0, count: vocab * d)
            try all.withUnsafeMutableBufferPointer { o in
                try streamRowBlocks(of: tensor, rows: vocab) { r0, r1, w in (o.baseAddress! + r0 * d).update(from: w, count: (r1 - r0) * d) }
            }
            keptOutputMatrix = all
        }
        let d = config.embeddingLength, block = Self.rowsPerBlock(columns: d)
        try keptOutputMatrix!.withUnsafeBufferPointer { w in
            var r0 = 0
            while r0 < end {
                let r1 = min(end, r0 + block)
                try body(r0, r1, w.baseAddress! + r0 * d)
                r0 = r1
            }
        }
    }

    /// Reads rows `0 ..< end` of `tensor` from the source in consecutive `rowsPerBlock` blocks (the only access
    /// pattern every source serves in bounded memory) and hands each block's floats to `body`.
    private func streamRowBlocks(of tensor: TensorInfo, rows end: Int,
                                 _ body: (Int, Int, UnsafePointer<Float>) throws -> Void) throws {
        let d = config.embeddingLength, block = Self.rowsPerBlock(columns: d)
        var r0 = 0
        while r0 < end {
            let r1 = min(end, r0 + block)
            try source.withBytes(of: tensor, rows: r0 ..< r1) { bytes in
                try withFloats(bytes, of: tensor, count: (r1 - r0) * d) { w in try body(r0, r1, w) }
            }
            r0 = r1
        }
    }

    /// Calls `body` with `count` floats decoded from `bytes` of `tensor` (no copy when already F32).
    func withFloats<R>(_ bytes: UnsafeRawBufferPointer, of tensor: TensorInfo, count: Int,
                       _ body: (UnsafePointer<Float>) throws -> R) throws -> R {
        if tensor.type == .float32, bytes.count >= count * 4, let p = bytes.baseAddress,
           Int(bitPattern: p) % MemoryLayout<Float>.alignment == 0 {
            return try body(p.assumingMemoryBound(to: Float.self))
        }
        var tmp = [Float](repeating: 0, count: count)
        do throws(KilnError) {
            try tmp.withUnsafeMutableBufferPointer { (b) throws(KilnError) in try Quantizer.dequantize(tensor.type, bytes, count: count, into: b) }
        } catch { throw error.inFile(source.path).inTensor(tensor.name) }
        return try tmp.withUnsafeBufferPointer { try body($0.baseAddress!) }
    }

    /// Embedding rows × √d for `tokens` (ids already checked). The embedding is read in consecutive row blocks from
    /// row 0 up to the largest id, which every source serves in bounded memory (a single-chunk Orbax array streams only
    /// forward from its first row; a random row would decode the whole chunk), and only the rows used are kept.
    func embed(_ tokens: [Int32]) throws -> [Float] {
        let d = config.embeddingLength
        var x = [Float](repeating: 0, count: tokens.count * d)
        guard let maxID = tokens.max() else { return x }
        var uses: [Int: [Int]] = [:]
        for (t, id) in tokens.enumerated() { uses[Int(id), default: []].append(t) }
        let scale = Float(d).squareRoot()
        try x.withUnsafeMutableBufferPointer { xb in
            try forEachRowBlock(of: embedding, rows: Int(maxID) + 1) { lo, hi, w in
                for id in lo ..< hi {
                    guard let positions = uses[id] else { continue }
                    let row = w + (id - lo) * d
                    for t in positions {
                        for c in 0 ..< d { xb[t * d + c] = row[c] * scale }
                    }
                }
            }
        }
        return x
    }
}
