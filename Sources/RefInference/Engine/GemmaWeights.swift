import GGUFWriter
import KilnCore
import QuantCore

/// The weights of one Gemma 3 decoder layer (GGUF names `blk.N.*`).
public struct GemmaLayerWeights: Sendable {
    public var attnNorm: [Float]
    public var q: any WeightMatrix
    public var k: any WeightMatrix
    public var v: any WeightMatrix
    public var qNorm: [Float]
    public var kNorm: [Float]
    public var output: any WeightMatrix
    public var postAttentionNorm: [Float]
    public var ffnNorm: [Float]
    public var gate: any WeightMatrix
    public var up: any WeightMatrix
    public var down: any WeightMatrix
    public var postFFWNorm: [Float]
}

/// All weights of a Gemma 3 text decoder, behind `WeightMatrix` so they can be quantized blocks or floats.
public struct GemmaWeights: Sendable {
    public var tokenEmbedding: any WeightMatrix
    /// `output.weight`, or the token embedding when tied.
    public var output: any WeightMatrix
    public var outputNorm: [Float]
    public var layers: [GemmaLayerWeights]

    /// Views into a GGUF file's blocks (nothing is dequantized except the small F32 norm vectors).
    public init(gguf file: GGUFFile, config: GemmaConfig) throws(KilnError) {
        try self.init(config: config, matrix: file.weightMatrix, vector: file.floatVector,
                      hasOutput: (try? file.tensorInfo(named: GGUFTensorName.output)) != nil)
    }

    /// Float32 copies of the weights of any source that uses GGUF tensor names (each tensor is decoded with
    /// QuantCore, so any stored type works). Costs 4 bytes per weight of memory.
    public init(source: any TensorSource, config: GemmaConfig) throws {
        let hasOutput = source.tensors.contains { $0.name == GGUFTensorName.output }
        try self.init(config: config, matrix: source.floatMatrix, vector: source.floats, hasOutput: hasOutput)
    }

    /// Assembles the weights from two loaders (by GGUF name and expected shape).
    public init<E: Error>(config c: GemmaConfig, matrix: (String, Int, Int) throws(E) -> any WeightMatrix,
                          vector: (String, Int) throws(E) -> [Float], hasOutput: Bool) throws(E) {
        let d = c.embeddingLength
        tokenEmbedding = try matrix(GGUFTensorName.tokenEmbedding, c.vocabularySize, d)
        output = hasOutput ? try matrix(GGUFTensorName.output, c.vocabularySize, d) : tokenEmbedding
        outputNorm = try vector(GGUFTensorName.outputNorm, d)
        var layers: [GemmaLayerWeights] = []
        for i in 0 ..< c.layerCount { layers.append(try GemmaLayerWeights(layer: i, config: c, matrix: matrix, vector: vector)) }
        self.layers = layers
    }
}

extension GemmaLayerWeights {
    /// Layer `i`'s weights from two loaders (by GGUF name and expected shape).
    public init<E: Error>(layer i: Int, config c: GemmaConfig, matrix: (String, Int, Int) throws(E) -> any WeightMatrix,
                          vector: (String, Int) throws(E) -> [Float]) throws(E) {
        let d = c.embeddingLength, hd = c.headDim, vd = c.valueDim
        let p = GGUFTensorName.block(i)
        typealias B = GGUFTensorName.Block
        self.init(
            attnNorm: try vector(p + B.attnNorm, d),
            q: try matrix(p + B.attnQ, c.headCount * hd, d),
            k: try matrix(p + B.attnK, c.headCountKV * hd, d),
            v: try matrix(p + B.attnV, c.headCountKV * vd, d),
            qNorm: try vector(p + B.attnQNorm, hd),
            kNorm: try vector(p + B.attnKNorm, hd),
            output: try matrix(p + B.attnOutput, d, c.headCount * vd),
            postAttentionNorm: try vector(p + B.postAttentionNorm, d),
            ffnNorm: try vector(p + B.ffnNorm, d),
            gate: try matrix(p + B.ffnGate, c.feedForwardLength, d),
            up: try matrix(p + B.ffnUp, c.feedForwardLength, d),
            down: try matrix(p + B.ffnDown, d, c.feedForwardLength),
            postFFWNorm: try vector(p + B.postFFWNorm, d))
    }
}

extension TensorSource {
    /// Tensor `name` decoded to float32 (any stored type QuantCore reads), checked to hold `count` values.
    public func floats(_ name: String, _ count: Int) throws -> [Float] {
        let t = try tensor(named: name)
        guard t.elementCount == count else {
            throw KilnError(.invalid, "\(t.elementCount) elements where \(count) were expected", file: path, tensor: name)
        }
        var out = [Float](repeating: 0, count: count)
        try withBytes(of: t) { bytes in
            do throws(KilnError) {
                try out.withUnsafeMutableBufferPointer { (b) throws(KilnError) in try Quantizer.dequantize(t.type, bytes, count: count, into: b) }
            } catch { throw error.inFile(path).inTensor(name) }
        }
        return out
    }

    /// Tensor `name` as a `rows × columns` float32 matrix held in memory.
    public func floatMatrix(_ name: String, rows: Int, columns: Int) throws -> any WeightMatrix {
        FloatWeightMatrix(rows: rows, columns: columns, values: try floats(name, rows * columns))
    }
}

extension GGUFFile {
    /// Tensor `name` as a `rows × columns` weight matrix computing on the file's blocks (ggml `ne = [columns, rows]`).
    public func weightMatrix(_ name: String, rows: Int, columns: Int) throws(KilnError) -> any WeightMatrix {
        let i = try tensorInfo(named: name)
        guard i.ne.count >= 2, i.ne[0] == columns, i.ne[1] == rows, i.ne.dropFirst(2).allSatisfy({ $0 == 1 }) else {
            throw KilnError(.invalid, "shape \(i.ne) (ne order) where [\(columns), \(rows)] was expected", file: path, tensor: name)
        }
        do {
            return try QuantizedWeightMatrix(type: i.type, rows: rows, columns: columns, bytes: data(of: i), owner: self, name: name)
        } catch { throw error.inFile(path) }
    }

    /// Tensor `name` (any type QuantCore decodes) as `count` floats.
    public func floatVector(_ name: String, _ count: Int) throws(KilnError) -> [Float] {
        let i = try tensorInfo(named: name)
        guard i.elementCount == count else {
            throw KilnError(.invalid, "\(i.elementCount) elements where \(count) were expected", file: path, tensor: name)
        }
        var out = [Float](repeating: 0, count: count)
        do {
            try out.withUnsafeMutableBufferPointer { (b) throws(KilnError) in
                try Quantizer.dequantize(ElementType(ggml: i.type), data(of: i), count: count, into: b)
            }
        } catch { throw error.inFile(path).inTensor(name) }
        return out
    }
}
