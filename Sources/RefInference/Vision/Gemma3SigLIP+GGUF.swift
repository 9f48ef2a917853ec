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
        let name = GGUFTensorName.Vision.patchEmbedding, p = c.patchSize
        let patch = try file.tensorInfo(named: name)
        guard patch.ne == [p, p, 3, c.width] else {
            throw KilnError(.invalid, "shape \(patch.ne) (ne order) where [\(p), \(p), 3, \(c.width)] was expected", file: file.path, tensor: name)
        }
        let patchMatrix: any WeightMatrix
        do {
            patchMatrix = try QuantizedWeightMatrix(type: patch.type, rows: c.width, columns: 3 * p * p, bytes: file.data(of: patch),
                                                    owner: file, name: name)
        } catch { throw error.inFile(file.path) }
        let w = try Self.load(c, matrix: file.weightMatrix, vector: file.floatVector)
        self.init(config: c, options: options, patchEmbedding: patchMatrix, patchBias: w.patchBias, positions: w.positions,
                  layers: w.layers, postNorm: w.postNorm, softNorm: w.softNorm,
                  projection: try Self.transposedProjection(file, rows: c.projectionDim, columns: c.width), owner: file)
    }

    /// The encoder in float32 over a source whose tensors carry the mmproj's GGUF names (a checkpoint's vision tower
    /// through the converter's mapping: Conversion's `ConvertedTensorView(source:vision:)`), configured by the
    /// mmproj `metadata` the converter would write. Costs 4 bytes per weight.
    public init(source: any TensorSource, metadata: [GGUFMetadataEntry], options: EngineOptions) throws {
        let c = try Config(metadata: metadata, file: source.path)
        let d = c.width, p = c.patchSize
        let projection = try source.floats(GGUFTensorName.Vision.mmInputProjection, c.projectionDim * d)  // [d][projectionDim]
        let w = try Self.load(c, matrix: source.floatMatrix, vector: source.floats)
        self.init(config: c, options: options,
                  patchEmbedding: FloatWeightMatrix(rows: d, columns: 3 * p * p,
                                                    values: try source.floats(GGUFTensorName.Vision.patchEmbedding, d * 3 * p * p)),
                  patchBias: w.patchBias, positions: w.positions, layers: w.layers, postNorm: w.postNorm, softNorm: w.softNorm,
                  projection: FloatWeightMatrix(rows: c.projectionDim, columns: d,
                                                values: Self.transpose(projection, rows: d, columns: c.projectionDim)),
                  owner: nil)
    }

    /// The weights every source stores in plain layouts (all but the 4-D patch kernel and the transposed projection).
    struct Plain {
        var layers: [Layer]
        var patchBias: [Float]
        var positions: [Float]
        var postNorm: (w: [Float], b: [Float])
        var softNorm: [Float]
    }

    /// Loads `Plain` through two loaders (by GGUF name and expected shape).
    static func load<E: Error>(_ c: Config, matrix: (String, Int, Int) throws(E) -> any WeightMatrix,
                               vector: (String, Int) throws(E) -> [Float]) throws(E) -> Plain {
        typealias N = GGUFTensorName.Vision
        typealias B = GGUFTensorName.Vision.Block
        let d = c.width, f = c.feedForward
        var layers: [Layer] = []
        for i in 0 ..< c.depth {
            let s = N.block(i)
            layers.append(Layer(
                ln1: (try vector(s + B.ln1 + ".weight", d), try vector(s + B.ln1 + ".bias", d)),
                ln2: (try vector(s + B.ln2 + ".weight", d), try vector(s + B.ln2 + ".bias", d)),
                q: try matrix(s + B.attnQ + ".weight", d, d), qBias: try vector(s + B.attnQ + ".bias", d),
                k: try matrix(s + B.attnK + ".weight", d, d), kBias: try vector(s + B.attnK + ".bias", d),
                v: try matrix(s + B.attnV + ".weight", d, d), vBias: try vector(s + B.attnV + ".bias", d),
                output: try matrix(s + B.attnOutput + ".weight", d, d), outputBias: try vector(s + B.attnOutput + ".bias", d),
                up: try matrix(s + B.ffnUp + ".weight", f, d), upBias: try vector(s + B.ffnUp + ".bias", f),
                down: try matrix(s + B.ffnDown + ".weight", d, f), downBias: try vector(s + B.ffnDown + ".bias", d)))
        }
        return Plain(layers: layers, patchBias: try vector(N.patchEmbeddingBias, d), positions: try vector(N.positionEmbedding, c.patches * d),
                     postNorm: (try vector(N.postNorm, d), try vector(N.postNormBias, d)), softNorm: try vector(N.mmSoftEmbeddingNorm, d))
    }

    /// `[rows][columns]` → `[columns][rows]`.
    static func transpose(_ x: [Float], rows: Int, columns: Int) -> [Float] {
        var t = [Float](repeating: 0, count: x.count)
        for r in 0 ..< rows {
            for c in 0 ..< columns { t[c * rows + r] = x[r * columns + c] }
        }
        return t
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
        let t = transpose(try file.floatVector(name, rows * columns), rows: columns, columns: rows)
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
