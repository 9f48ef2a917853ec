import GGUFWriter
import KilnCore
import QuantCore

/// The weights of one Gemma decoder layer (GGUF names `blk.N.*`).
public struct GemmaLayerWeights: Sendable {
    public var attnNorm: [Float]
    public var q: any WeightMatrix
    public var k: any WeightMatrix
    public var v: any WeightMatrix
    /// Per-head q/k RMSNorm weights (`attn_q_norm`, `attn_k_norm`), nil for a family without them (Gemma 2).
    public var qNorm: [Float]?
    public var kNorm: [Float]?
    public var output: any WeightMatrix
    /// Post-attention and post-FFW RMSNorm weights, nil for a family without them (Gemma 1).
    public var postAttentionNorm: [Float]?
    public var ffnNorm: [Float]
    public var gate: any WeightMatrix
    public var up: any WeightMatrix
    public var down: any WeightMatrix
    public var postFFWNorm: [Float]?
}

/// All weights of a Gemma text decoder, behind `WeightMatrix` so they can be quantized blocks or floats.
public struct GemmaWeights: Sendable {
    public var tokenEmbedding: any WeightMatrix
    /// `output.weight`, or the token embedding when tied.
    public var output: any WeightMatrix
    public var outputNorm: [Float]
    public var layers: [GemmaLayerWeights]

    /// Views into a GGUF file's blocks (nothing is dequantized except the small F32 norm vectors); with `hugePages`
    /// the matrices' blocks are first copied into memory backed by 2 MB pages (`HugePageWeights`), in the layout their
    /// fastest kernel reads (`QuantizedLayout.fastest`; the products keep their bits).
    public init(gguf file: GGUFFile, config: GemmaConfig, hugePages: Bool = false) throws(KilnError) {
        let arena = hugePages ? HugePageWeights(bytes: file.mapped.count - file.dataOffset, tensors: file.tensors.count) : nil
        try self.init(config: config, matrix: { (name, rows, columns) throws(KilnError) in
                          try file.weightMatrix(name, rows: rows, columns: columns, copyingInto: arena)
                      }, vector: file.floatVector,
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
    /// The tensors of layer `i` under `config` (its family decides whether q/k norms exist): GGUF name and expected
    /// shape (`[rows, columns]` for matrices, `[n]` for vectors). The one list both the weight loaders and
    /// `StreamedFloatModel`'s up-front check use.
    public static func tensors(layer i: Int, config c: GemmaConfig) -> [(name: String, shape: [Int])] {
        let d = c.embeddingLength, hd = c.headDim, vd = c.valueDim, f = c.feedForwardLength
        let p = GGUFTensorName.block(i)
        typealias B = GGUFTensorName.Block
        let qkNorms: [(String, [Int])] = c.queryKeyNorm ? [(p + B.attnQNorm, [hd]), (p + B.attnKNorm, [hd])] : []
        let postAttention: [(String, [Int])] = c.postNorms ? [(p + B.postAttentionNorm, [d])] : []
        let postFFW: [(String, [Int])] = c.postNorms ? [(p + B.postFFWNorm, [d])] : []
        return [(p + B.attnNorm, [d]), (p + B.attnQ, [c.headCount * hd, d]), (p + B.attnK, [c.headCountKV * hd, d]),
                (p + B.attnV, [c.headCountKV * vd, d])] + qkNorms
            + [(p + B.attnOutput, [d, c.headCount * vd])] + postAttention + [(p + B.ffnNorm, [d]),
               (p + B.ffnGate, [f, d]), (p + B.ffnUp, [f, d]), (p + B.ffnDown, [d, f])] + postFFW
    }

    /// Layer `i`'s weights from two loaders (by GGUF name and expected shape).
    public init<E: Error>(layer i: Int, config c: GemmaConfig, matrix: (String, Int, Int) throws(E) -> any WeightMatrix,
                          vector: (String, Int) throws(E) -> [Float]) throws(E) {
        var matrices: [String: any WeightMatrix] = [:], vectors: [String: [Float]] = [:]
        for (name, shape) in Self.tensors(layer: i, config: c) {
            if shape.count == 2 { matrices[name] = try matrix(name, shape[0], shape[1]) } else { vectors[name] = try vector(name, shape[0]) }
        }
        let p = GGUFTensorName.block(i)
        typealias B = GGUFTensorName.Block
        // Every name below but the q/k norms (optional) is in `tensors(layer:config:)`'s list, so it was loaded above.
        self.init(
            attnNorm: vectors[p + B.attnNorm]!, q: matrices[p + B.attnQ]!, k: matrices[p + B.attnK]!, v: matrices[p + B.attnV]!,
            qNorm: vectors[p + B.attnQNorm], kNorm: vectors[p + B.attnKNorm],
            output: matrices[p + B.attnOutput]!, postAttentionNorm: vectors[p + B.postAttentionNorm],
            ffnNorm: vectors[p + B.ffnNorm]!, gate: matrices[p + B.ffnGate]!, up: matrices[p + B.ffnUp]!,
            down: matrices[p + B.ffnDown]!, postFFWNorm: vectors[p + B.postFFWNorm])
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
        try weightMatrix(name, rows: rows, columns: columns, copyingInto: nil)
    }

    /// `weightMatrix(_:rows:columns:)` over a copy of the blocks in `arena` when one is given (and has room).
    func weightMatrix(_ name: String, rows: Int, columns: Int, copyingInto arena: HugePageWeights?) throws(KilnError) -> any WeightMatrix {
        let i = try tensorInfo(named: name)
        guard i.ne.count >= 2, i.ne[0] == columns, i.ne[1] == rows, i.ne.dropFirst(2).allSatisfy({ $0 == 1 }) else {
            throw KilnError(.invalid, "shape \(i.ne) (ne order) where [\(columns), \(rows)] was expected", file: path, tensor: name)
        }
        do {
            let view = data(of: i)
            if let arena {
                let layout = QuantizedLayout.fastest(type: i.type, rows: rows, columns: columns)
                if let rb = i.type.byteCount(elements: columns), Checked.product(rb, rows) == view.count,
                   let placed = arena.place(view, rows: rows, columns: columns, layout: layout, from: mapped) {
                    return try QuantizedWeightMatrix(type: i.type, rows: rows, columns: columns, bytes: placed, owner: arena, name: name,
                                                     layout: layout)
                }
            }
            return try QuantizedWeightMatrix(type: i.type, rows: rows, columns: columns, bytes: view, owner: self, name: name)
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
