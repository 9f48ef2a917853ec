import GGUFWriter
import KilnCore
#if canImport(Glibc)
import Glibc
#endif

/// Gemma 3's vision tower and projector run from an mmproj GGUF (llama.cpp's clip names, `clip.projector_type =
/// gemma3`), computing as llama.cpp's libmtmd does (tools/mtmd/models/siglip.cpp `clip_graph_siglip::build` with
/// clip.cpp `build_inp`, `build_vit`, `build_attn`, `build_ffn`; llama-cpp-python 0.3.36's vendored tree):
///
/// 1. the image preprocessed by `MtmdPreprocessing` to `image_size²`, planar, in [−1, 1];
/// 2. patch embedding: a `patch × patch` stride-`patch` convolution (`v.patch_embd`, im2col order channel, row,
///    column) plus its bias, then the learned position embedding of each patch (`v.position_embd`), patches in
///    row-major order;
/// 3. `block_count` pre-norm encoder blocks: LayerNorm (`ln1`), multi-head self-attention over all patches (no mask,
///    scale 1/√head_dim, q/k/v/out projections with biases), residual; LayerNorm (`ln2`), `ffn_up` + bias, tanh GELU,
///    `ffn_down` + bias, residual;
/// 4. the final LayerNorm (`v.post_ln`);
/// 5. 2-D average pooling of the patch grid by `clip.vision.projector.scale_factor` (4 when absent: 64×64 patches →
///    16×16 = 256 soft tokens), tokens in row-major order;
/// 6. RMSNorm with the LayerNorm epsilon times `mm.soft_emb_norm` (the file stores 1 + w), then the projection
///    `mm.input_projection` (ggml `ne = [text width, vision width]`, applied transposed) into the text width.
///
/// With llama.cpp numerics (`EngineOptions.llamaCppNumerics`) activations are rounded as ggml-cpu rounds them for
/// each weight type (f16 for the F16 matrices), q, K and V are rounded to f16 as libmtmd's flash attention casts them,
/// and GELU uses ggml's f16 table.
public struct Gemma3SigLIP: VisionEncoder, @unchecked Sendable {
    /// `clip.projector_type` of this family.
    public static let projectorType = "gemma3"

    public struct Config: Sendable, Equatable {
        public var width: Int
        public var depth: Int
        public var heads: Int
        public var feedForward: Int
        public var patchSize: Int
        public var imageSize: Int
        public var projectionDim: Int
        public var layerNormEpsilon: Float
        public var imageMean: [Float]
        public var imageStd: [Float]
        /// Average-pooling window per side (llama.cpp's `n_merge`).
        public var poolFactor: Int

        public var headDim: Int { width / heads }
        public var patchesPerSide: Int { imageSize / patchSize }
        public var patches: Int { patchesPerSide * patchesPerSide }
        public var tokensPerSide: Int { patchesPerSide / poolFactor }
    }

    struct Layer {
        var ln1: (w: [Float], b: [Float])
        var ln2: (w: [Float], b: [Float])
        var q: any WeightMatrix, qBias: [Float]
        var k: any WeightMatrix, kBias: [Float]
        var v: any WeightMatrix, vBias: [Float]
        var output: any WeightMatrix, outputBias: [Float]
        var up: any WeightMatrix, upBias: [Float]
        var down: any WeightMatrix, downBias: [Float]
    }

    public let config: Config
    public let options: EngineOptions
    let patchEmbedding: any WeightMatrix
    let patchBias: [Float]
    let positions: [Float]
    let layers: [Layer]
    let postNorm: (w: [Float], b: [Float])
    let softNorm: [Float]
    let projection: any WeightMatrix
    /// Keeps the GGUF mapping alive (nil for float weights held in memory).
    let owner: AnyObject?

    public var tokensPerImage: Int { config.tokensPerSide * config.tokensPerSide }
    public var outputWidth: Int { config.projectionDim }
    public var imageStart: String { "<start_of_image>" }
    public var imageEnd: String { "<end_of_image>" }
    public var bidirectionalImageAttention: Bool { true }

    // MARK: Forward

    public func encode(_ image: RGBImage) -> [Float] {
        let c = config
        let pixels = MtmdPreprocessing.pixels(image, size: c.imageSize, mean: c.imageMean, std: c.imageStd)
        var x = embedPatches(pixels)
        for layer in layers { x = block(layer, x) }
        x = layerNorm(x, postNorm)
        let pooled = pool(x)
        var normed = [Float](repeating: 0, count: pooled.count)
        pooled.withUnsafeBufferPointer { p in softNorm.withUnsafeBufferPointer { w in normed.withUnsafeMutableBufferPointer { o in
            GemmaNumerics.rmsNorm(p.baseAddress!, rows: tokensPerImage, dim: c.width, weight: w.baseAddress!,
                                  eps: c.layerNormEpsilon, into: o.baseAddress!)
        } } }
        return matmul(projection, normed)
    }

    /// Steps 1–2: `[patches][width]` from planar pixels.
    func embedPatches(_ pixels: [Float]) -> [Float] {
        let c = config, p = c.patchSize, side = c.patchesPerSide, size = c.imageSize, k = 3 * p * p
        var columns = [Float](repeating: 0, count: c.patches * k)
        for py in 0 ..< side {
            for px in 0 ..< side {
                let row = (py * side + px) * k
                for ch in 0 ..< 3 {
                    for ky in 0 ..< p {
                        let src = ch * size * size + (py * p + ky) * size + px * p
                        let dst = row + ch * p * p + ky * p
                        for kx in 0 ..< p { columns[dst + kx] = pixels[src + kx] }
                    }
                }
            }
        }
        var x = matmul(patchEmbedding, columns)
        for t in 0 ..< c.patches {
            for d in 0 ..< c.width { x[t * c.width + d] = (x[t * c.width + d] + patchBias[d]) + positions[t * c.width + d] }
        }
        return x
    }

    /// Step 3: one encoder block.
    func block(_ L: Layer, _ x: [Float]) -> [Float] {
        let h = layerNorm(x, L.ln1)
        var q = affine(L.q, L.qBias, h), k = affine(L.k, L.kBias, h), v = affine(L.v, L.vBias, h)
        if options.llamaCppNumerics {
            GemmaNumerics.roundToHalf(&q, count: q.count)
            GemmaNumerics.roundToHalf(&k, count: k.count)
            GemmaNumerics.roundToHalf(&v, count: v.count)
        }
        var s = affine(L.output, L.outputBias, attention(q, k, v))
        for i in s.indices { s[i] += x[i] }
        var f = affine(L.up, L.upBias, layerNorm(s, L.ln2))
        f.withUnsafeMutableBufferPointer { b in
            GemmaNumerics.gelu(b.baseAddress!, count: b.count, table: options.llamaCppNumerics, into: b.baseAddress!)
        }
        var out = affine(L.down, L.downBias, f)
        for i in out.indices { out[i] += s[i] }
        return out
    }

    /// Unmasked multi-head attention of every patch over every patch (scores `q·k / √head_dim`), `[patches][width]`.
    /// The fast path and the plain float32 path (`llamaCppNumerics` off: a checkpoint's own tower) compute it as
    /// batched matrix products (`BlockedAttention`); the reference path with llama.cpp's rounding one query at a time
    /// with scalar dot products and a double-summed softmax (`GemmaNumerics.attend`), K and V first regrouped head by
    /// head (`[heads][patches][head_dim]`) so each thread sweeps one head's contiguous keys and values.
    func attention(_ q: [Float], _ k: [Float], _ v: [Float]) -> [Float] {
        let c = config, T = c.patches, H = c.heads, hd = c.headDim, D = c.width
        let scale = 1 / Float(hd).squareRoot()
        if options.path == .fast || !options.llamaCppNumerics {
            return BlockedAttention.run(q: q, k: k, v: v, tokens: T, heads: H, headDim: hd, scale: scale, threads: options.threads)
        }
        let kh = Self.headMajor(k, tokens: T, heads: H, headDim: hd), vh = Self.headMajor(v, tokens: T, heads: H, headDim: hd)
        var out = [Float](repeating: 0, count: T * D)
        parallelAttention(q: q, k: kh, v: vh, into: &out, jobs: T * H, threads: options.threads, scores: T + 1) { job, a, scores in
            let h = job / T, t = job % T
            GemmaNumerics.attend(query: a.q + t * D + h * hd, keys: a.k + h * T * hd, values: a.v + h * T * hd, stride: 1,
                                 rows: 0 ... T - 1, headDim: hd, valueDim: hd, scores: scores, simd: false, roundProbabilities: false,
                                 scale: scale, into: a.out + t * D + h * hd)
        }
        return out
    }

    /// `[tokens][heads][headDim]` → `[heads][tokens][headDim]`.
    static func headMajor(_ x: [Float], tokens: Int, heads: Int, headDim: Int) -> [Float] {
        var out = [Float](repeating: 0, count: x.count)
        for t in 0 ..< tokens {
            for h in 0 ..< heads {
                let src = (t * heads + h) * headDim, dst = (h * tokens + t) * headDim
                for i in 0 ..< headDim { out[dst + i] = x[src + i] }
            }
        }
        return out
    }

    /// Step 5: average pooling of the patch grid, `[tokens][width]`.
    func pool(_ x: [Float]) -> [Float] {
        let c = config, k = c.poolFactor, side = c.patchesPerSide, n = c.tokensPerSide, D = c.width
        if k == 1 { return x }
        var out = [Float](repeating: 0, count: n * n * D)
        let area = Float(k * k)
        for oy in 0 ..< n {
            for ox in 0 ..< n {
                let o = (oy * n + ox) * D
                for d in 0 ..< D {
                    var s: Float = 0
                    for ky in 0 ..< k {
                        for kx in 0 ..< k { s += x[((oy * k + ky) * side + ox * k + kx) * D + d] }
                    }
                    out[o + d] = s / area
                }
            }
        }
        return out
    }

    /// Weight rows per `FloatGemm` block: with 4,096 patches, OpenBLAS re-packs all activations for every block, so
    /// blocks of 512 rows (instead of the text path's 128) cut that copying by 4 (measured ~10 % of the encoder).
    static let gemmBlockRows = 512

    /// `x Wᵀ` for all patches at once. On the fast path an F16 or F32 matrix is widened to float32 for this call and
    /// multiplied with `FloatGemm` (OpenBLAS, blocked, results independent of the thread count) after the activations
    /// are rounded to f16 for F16 weights, as ggml-cpu rounds them: the products and the rounding are llama.cpp's, only
    /// the summation order differs. Float32 weights held in memory (a checkpoint's tower, `llamaCppNumerics` off) are
    /// multiplied the same way without rounding — the float path's products, as `StreamedFloatModel` computes them; a
    /// So400m tower would otherwise take tens of minutes per image in the scalar loops. Other types (and the reference
    /// path with llama.cpp's rounding) go through `WeightMatrix.apply` in blocks of `options.batchSize` rows, so a
    /// block's activations stay in cache while the weight rows pass over them.
    func matmul(_ w: any WeightMatrix, _ x: [Float]) -> [Float] {
        let n = x.count / w.columns, block = options.batchSize
        if n <= block { return w.apply(to: x, mode: options.matMulMode, threads: options.threads) }
        if options.path == .fast, let q = w as? QuantizedWeightMatrix, q.type == .f16 || q.type == .f32 {
            var weights = [Float](repeating: 0, count: w.rows * w.columns)
            weights.withUnsafeMutableBufferPointer { b in
                for r in 0 ..< w.rows { q.copyRow(r, into: b.baseAddress! + r * w.columns) }
            }
            var input = x
            if q.type == .f16 { GemmaNumerics.roundToHalf(&input, count: input.count) }
            return gemm(weights, input, rows: w.rows, columns: w.columns)
        }
        if !options.llamaCppNumerics, let f = w as? FloatWeightMatrix { return gemm(f.values, x, rows: f.rows, columns: f.columns) }
        var y: [Float] = []
        y.reserveCapacity(n * w.rows)
        for start in stride(from: 0, to: n, by: block) {
            let rows = Array(x[start * w.columns ..< min(n, start + block) * w.columns])
            y += w.apply(to: rows, mode: options.matMulMode, threads: options.threads)
        }
        return y
    }

    /// `x Wᵀ` with `FloatGemm` for float32 weights `[rows][columns]`.
    func gemm(_ weights: [Float], _ x: [Float], rows: Int, columns: Int) -> [Float] {
        let n = x.count / columns
        var y = [Float](repeating: 0, count: n * rows)
        x.withUnsafeBufferPointer { xb in weights.withUnsafeBufferPointer { wb in y.withUnsafeMutableBufferPointer { yb in
            FloatGemm.multiply(x: xb.baseAddress!, m: n, w: wb.baseAddress!, n: rows, k: columns, y: yb.baseAddress!,
                               ldy: rows, threads: options.threads, rowsPerBlock: Self.gemmBlockRows)
        } } }
        return y
    }

    /// `x Wᵀ + b`.
    func affine(_ w: any WeightMatrix, _ b: [Float], _ x: [Float]) -> [Float] {
        var y = matmul(w, x)
        let n = w.rows
        for r in 0 ..< y.count / n {
            for i in 0 ..< n { y[r * n + i] += b[i] }
        }
        return y
    }

    func layerNorm(_ x: [Float], _ p: (w: [Float], b: [Float])) -> [Float] {
        var y = [Float](repeating: 0, count: x.count)
        x.withUnsafeBufferPointer { xb in p.w.withUnsafeBufferPointer { w in p.b.withUnsafeBufferPointer { b in
            y.withUnsafeMutableBufferPointer { yb in
                GemmaNumerics.layerNorm(xb.baseAddress!, rows: x.count / p.w.count, dim: p.w.count, weight: w.baseAddress!,
                                        bias: b.baseAddress!, eps: config.layerNormEpsilon, into: yb.baseAddress!)
            }
        } } }
        return y
    }
}
