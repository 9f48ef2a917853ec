import GGUFWriter
import KilnCore
import QuantCore

/// Any checkpoint seen as the float32 GGUF it converts to: tensors carry the text model's GGUF names and shapes
/// (`token_embd.weight`, `blk.N.*`, `output_norm.weight`, ...) and their rows are produced as F32 on demand.
///
/// For an Orbax/Flax or safetensors source the values come through the converter's own mapping (the
/// architecture's `outputTensors` and `RowProducer`), so there is one copy of the name and transform rules; a
/// GGUF source shows its own tensors dequantized with QuantCore. Reads produce only the rows asked for where the
/// transform streams (the token embedding: `leadingRows`/`copy`); other tensors are produced whole for each read,
/// which is what a layer-by-layer reader wants. Nothing is cached: holding the view costs no tensor memory.
public final class ConvertedTensorView: TensorSource, Sendable {
    /// Where each GGUF-named tensor's floats come from.
    private enum Origin: Sendable {
        /// Produced by the converter's mapping from a source tensor.
        case converted(RowProducer)
        /// A GGUF tensor, dequantized.
        case dequantized(TensorInfo)
    }

    /// The checkpoint underneath.
    public let base: any TensorSource
    public var path: String { base.path }
    public var formatName: String { "\(base.formatName) (as float32 GGUF tensors)" }
    public var inputPaths: [String] { base.inputPaths }
    /// GGUF-named F32 tensors in GGUF order (numpy-order shapes, as every `TensorSource` gives them).
    public let tensors: [TensorInfo]
    /// The model's GGUF metadata: a GGUF's own, or what the converter would write for a checkpoint — so an engine
    /// reads its configuration with the same reader either way.
    public let metadata: [GGUFMetadataEntry]
    /// Rows of `token_embd.weight` (after trimming padded rows).
    public let vocabularySize: Int
    private let origins: [String: Origin]

    /// `vocabularySize` (the tokenizer's token count) trims padded embedding rows exactly as `convert` does; nil
    /// keeps every row of a checkpoint's embedding (a GGUF's vocabulary is already its embedding's rows).
    public init(source: any TensorSource, vocabularySize: Int? = nil) throws {
        base = source
        var infos: [TensorInfo] = []
        var origins: [String: Origin] = [:]
        if let gguf = source as? GGUFFile {
            for t in gguf.tensors {
                guard Quantizer.canDequantize(t.type) else {
                    throw KilnError(.unsupported, "cannot dequantize \(t.type) tensors", file: gguf.path, tensor: t.name)
                }
                infos.append(TensorInfo(name: t.name, shape: t.shape, type: .float32, byteCount: t.elementCount * 4))
                origins[t.name] = .dequantized(t)
            }
            let embd = try gguf.tensorInfo(named: GGUFTensorName.tokenEmbedding)
            metadata = gguf.metadata
            self.vocabularySize = embd.ne.count > 1 ? embd.ne[1] : 0
        } else {
            let family = try Architectures.family(of: source)
            let arch = try family.init(source: source, vocabularySize: vocabularySize)
            (infos, origins) = try Self.converted(arch.outputTensors, source: source)
            guard let embd = arch.outputTensors.first(where: { $0.name == GGUFTensorName.tokenEmbedding }), embd.ne.count == 2 else {
                throw KilnError(.notFound, "the converted model has no 2-D token_embd.weight", file: source.path)
            }
            metadata = arch.metadata(modelName: "")
            self.vocabularySize = embd.ne[1]
        }
        tensors = infos
        self.origins = origins
    }

    /// The mmproj a checkpoint's vision tower converts to (`projector`, from the architecture's `visionTower`), as
    /// float32 GGUF tensors (`v.*`, `mm.*`) produced through the converter's mapping, with the mmproj's metadata.
    public init(source: any TensorSource, vision projector: any VisionProjector) throws {
        base = source
        (tensors, origins) = try Self.converted(projector.outputTensors, source: source)
        metadata = projector.metadata(modelName: "", fileType: 0)
        vocabularySize = 0
    }

    /// Float32 tensor descriptions and their producers for converter outputs.
    private static func converted(_ outputs: [OutputTensor], source: any TensorSource) throws -> ([TensorInfo], [String: Origin]) {
        var infos: [TensorInfo] = []
        var origins: [String: Origin] = [:]
        for t in outputs {
            infos.append(TensorInfo(name: t.name, shape: t.ne.reversed(), type: .float32, byteCount: t.elementCount * 4))
            origins[t.name] = .converted(try RowProducer(source: source, tensor: t))
        }
        return (infos, origins)
    }

    /// The F32 bytes of leading-axis rows `rows` of `tensor` (`token_embd.weight` rows are vocabulary entries).
    public func withBytes<R>(of tensor: TensorInfo, rows: Range<Int>, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try checkRows(rows, of: tensor)
        guard let origin = origins[tensor.name] else {
            throw KilnError(.notFound, "no tensor named '\(tensor.name)' in the converted model", file: path, tensor: tensor.name)
        }
        let perRow = tensor.elementsPerRow
        if rows.isEmpty || perRow == 0 { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        var out = [Float](repeating: 0, count: rows.count * perRow)
        switch origin {
        case .dequantized(let t):
            try base.withBytes(of: t, rows: rows) { bytes in
                do throws(KilnError) {
                    try out.withUnsafeMutableBufferPointer { (b) throws(KilnError) in try Quantizer.dequantize(t.type, bytes, count: rows.count * perRow, into: b) }
                } catch { throw error.inFile(base.path).inTensor(t.name) }
            }
        case .converted(let producer):
            // GGUF rows (ne[0] values) are the view's leading-axis rows for 2-D tensors; a 1-D tensor is one GGUF row.
            if producer.streams && tensor.shape.count == 2 {
                try out.withUnsafeMutableBufferPointer { try producer.rows(rows, into: $0) }
            } else {
                let all = try producer.all()
                out.withUnsafeMutableBufferPointer { o in
                    all.withUnsafeBufferPointer { a in
                        o.baseAddress!.update(from: a.baseAddress! + rows.lowerBound * perRow, count: rows.count * perRow)
                    }
                }
            }
        }
        return try out.withUnsafeBytes { try body($0) }
    }
}
