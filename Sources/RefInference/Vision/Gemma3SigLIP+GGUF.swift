import CKernels
import GGUFWriter
import KilnCore
import QuantCore

extension Gemma3SigLIP.Config {
    /// The `clip.vision.*` keys as clip.cpp reads them for `PROJECTOR_TYPE_GEMMA3` (`n_merge` 4 unless
    /// `clip.vision.projector.scale_factor` is present; LayerNorm epsilon 1e-6 when absent; GELU required).
    public init(metadata m: [GGUFMetadataEntry], file: String) throws(KilnError) {
        typealias K = GGUFKey.Clip.Vision
        // Sizes beyond any vision tower are refused, so products of them cannot overflow.
        func need(_ key: String, max: Int = 1 << 16) throws(KilnError) -> Int {
            guard let v = m[key: key]?.intValue else { throw KilnError(.notFound, "missing \(key)", file: file) }
            guard v > 0, v <= max else { throw KilnError(.invalid, "\(key) = \(v) must be in 1...\(max)", file: file) }
            return v
        }
        func triple(_ key: String) throws(KilnError) -> [Float] {
            guard case .float32(let v)? = m[key: key]?.arrayValue, v.count == 3, v.allSatisfy(\.isFinite) else {
                throw KilnError(.invalid, "\(key) must hold 3 finite float32 values", file: file)
            }
            return v
        }
        guard m[key: GGUFKey.Clip.useGELU]?.intValue == 1 else {
            throw KilnError(.unsupported, "\(GGUFKey.Clip.useGELU) is not true: only the tanh-GELU SigLIP of Gemma 3 is run", file: file)
        }
        let eps = Float(m[key: K.layerNormEpsilon]?.doubleValue ?? 1e-6)
        self.init(width: try need(K.embeddingLength), depth: try need(K.blockCount, max: 1 << 10),
                  heads: try need(K.headCount, max: 1 << 10), feedForward: try need(K.feedForwardLength, max: 1 << 18),
                  patchSize: try need(K.patchSize, max: 1 << 8), imageSize: try need(K.imageSize, max: 1 << 13),
                  projectionDim: try need(K.projectionDim, max: 1 << 18), layerNormEpsilon: eps,
                  imageMean: try triple(K.imageMean), imageStd: try triple(K.imageStd),
                  poolFactor: m[key: K.projectorScaleFactor] == nil ? 4 : try need(K.projectorScaleFactor, max: 1 << 8))
        guard eps.isFinite, eps >= 0 else { throw KilnError(.invalid, "\(K.layerNormEpsilon) = \(eps)", file: file) }
        guard imageStd.allSatisfy({ $0 != 0 }) else { throw KilnError(.invalid, "\(K.imageStd) holds a zero", file: file) }
        guard width % heads == 0 else {
            throw KilnError(.invalid, "\(K.embeddingLength) \(width) is not a multiple of \(K.headCount) \(heads)", file: file)
        }
        guard imageSize % patchSize == 0, patchesPerSide % poolFactor == 0 else {
            throw KilnError(.invalid, "image size \(imageSize) is not a whole number of \(patchSize)-pixel patches pooled by \(poolFactor)",
                            file: file)
        }
    }
}

extension Gemma3SigLIP {
    /// The encoder over an mmproj GGUF's tensors (matrices compute on the file's blocks; vectors are read as floats).
    public init(gguf file: GGUFFile, options: EngineOptions = EngineOptions()) throws(KilnError) {
        let c = try Config(metadata: file.metadata, file: file.path)
        typealias N = GGUFTensorName.Vision
        typealias B = GGUFTensorName.Vision.Block
        let d = c.width, p = c.patchSize
        func norm(_ stem: String) throws(KilnError) -> (w: [Float], b: [Float]) {
            (try file.floatVector(stem + ".weight", d), try file.floatVector(stem + ".bias", d))
        }
        var layers: [Layer] = []
        for i in 0 ..< c.depth {
            let s = N.block(i)
            func m(_ stem: String, _ rows: Int, _ cols: Int) throws(KilnError) -> any WeightMatrix {
                try file.weightMatrix(s + stem + ".weight", rows: rows, columns: cols)
            }
            func bias(_ stem: String, _ n: Int) throws(KilnError) -> [Float] { try file.floatVector(s + stem + ".bias", n) }
            layers.append(Layer(
                ln1: try norm(s + B.ln1), ln2: try norm(s + B.ln2),
                q: try m(B.attnQ, d, d), qBias: try bias(B.attnQ, d),
                k: try m(B.attnK, d, d), kBias: try bias(B.attnK, d),
                v: try m(B.attnV, d, d), vBias: try bias(B.attnV, d),
                output: try m(B.attnOutput, d, d), outputBias: try bias(B.attnOutput, d),
                up: try m(B.ffnUp, c.feedForward, d), upBias: try bias(B.ffnUp, c.feedForward),
                down: try m(B.ffnDown, d, c.feedForward), downBias: try bias(B.ffnDown, d)))
        }
        let patch = try file.tensorInfo(named: N.patchEmbedding)
        guard patch.ne == [p, p, 3, d] else {
            throw KilnError(.invalid, "shape \(patch.ne) (ne order) where [\(p), \(p), 3, \(d)] was expected", file: file.path,
                            tensor: N.patchEmbedding)
        }
        let patchMatrix: any WeightMatrix
        do {
            patchMatrix = try QuantizedWeightMatrix(type: patch.type, rows: d, columns: 3 * p * p, bytes: file.data(of: patch),
                                                    owner: file, name: N.patchEmbedding)
        } catch { throw error.inFile(file.path) }
        self.init(config: c, options: options, patchEmbedding: patchMatrix,
                  patchBias: try file.floatVector(N.patchEmbeddingBias, d),
                  positions: try file.floatVector(N.positionEmbedding, c.patches * d), layers: layers,
                  postNorm: (try file.floatVector(N.postNorm, d), try file.floatVector(N.postNormBias, d)),
                  softNorm: try file.floatVector(N.mmSoftEmbeddingNorm, d),
                  projection: try Self.transposedProjection(file, rows: c.projectionDim, columns: d), file: file)
    }

    /// `mm.input_projection` (ne `[projection dim, width]`) as the `projection dim × width` matrix clip.cpp multiplies
    /// by (`ggml_cont(ggml_transpose(w))`, same type). F16 stays F16 (activations then round to f16 as in ggml);
    /// any other type becomes float32 rows.
    static func transposedProjection(_ file: GGUFFile, rows: Int, columns: Int) throws(KilnError) -> any WeightMatrix {
        let name = GGUFTensorName.Vision.mmInputProjection
        let info = try file.tensorInfo(named: name)
        guard info.ne == [rows, columns] else {
            throw KilnError(.invalid, "shape \(info.ne) (ne order) where [\(rows), \(columns)] was expected", file: file.path, tensor: name)
        }
        let stored = try file.floatVector(name, rows * columns)  // [columns][rows]
        var t = [Float](repeating: 0, count: rows * columns)
        for r in 0 ..< rows {
            for c in 0 ..< columns { t[r * columns + c] = stored[c * rows + r] }
        }
        guard info.type == .f16 else { return FloatWeightMatrix(rows: rows, columns: columns, values: t) }
        let bytes = OwnedBytes(count: rows * columns * 2)
        t.withUnsafeBufferPointer { ck_f32_to_f16($0.baseAddress!, bytes.pointer.assumingMemoryBound(to: UInt16.self), Int64(t.count)) }
        return try QuantizedWeightMatrix(type: .f16, rows: rows, columns: columns,
                                         bytes: UnsafeRawBufferPointer(start: bytes.pointer, count: bytes.count), owner: bytes, name: name)
    }
}

/// A heap buffer owned by the weight matrix that views it.
final class OwnedBytes: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    let count: Int
    init(count: Int) {
        self.count = count
        pointer = .allocate(byteCount: max(count, 1), alignment: 64)
    }
    deinit { pointer.deallocate() }
}
