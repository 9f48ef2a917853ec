import KilnCore

/// The model parameters of an Orbax checkpoint under the Kaggle release's FLAT names, whatever tree layout it was
/// saved in (`FlaxTreeLayout`): what the converter, `chat` and `verify` read. `inspect` reads the checkpoint itself.
///
/// Renaming only: data is read from the checkpoint as stored (a STACKED layer is one slice of its stacked array).
public final class FlaxModelParams: TensorSource {
    public let checkpoint: OrbaxCheckpoint
    public let layout: FlaxTreeLayout
    public let tensors: [TensorInfo]
    /// Stored arrays that are not model parameters (a Kauldron checkpoint's optimizer state, step, collections).
    public let ignoredArrays: Int
    private let origin: [String: (param: TensorInfo, stored: TensorInfo, slice: Int?)]

    public var path: String { checkpoint.path }
    public var formatName: String { checkpoint.formatName }
    public var inputPaths: [String] { checkpoint.inputPaths }

    public init(_ checkpoint: OrbaxCheckpoint) throws(KilnError) {
        self.checkpoint = checkpoint
        let stored = checkpoint.tensors
        let layout = FlaxTreeLayout.detect(stored.map(\.name)), directory = checkpoint.checkpointDirectory
        self.layout = layout
        var tensors: [TensorInfo] = []
        var origin: [String: (param: TensorInfo, stored: TensorInfo, slice: Int?)] = [:]
        var ignored = 0
        let pattern = layout == .stacked ? StackedSlot.patternLength(stored.map(\.name)) : 0
        func add(_ info: TensorInfo, from s: TensorInfo, slice: Int?) throws(KilnError) {
            guard origin[info.name] == nil else {
                throw KilnError(.invalid, "two stored arrays map to the parameter '\(info.name)' (\(layout.rawValue) layout)",
                                file: directory, tensor: s.name)
            }
            origin[info.name] = (info, s, slice)
            tensors.append(info)
        }
        for s in stored {
            if layout == .stacked, s.name.contains("stacked_layers/attention_type_") {
                guard s.shape.count >= 1,
                      let layers = StackedSlot.unstack(s.name, patternLength: pattern, slices: s.rowCount), layers.count == s.rowCount else {
                    throw KilnError(.invalid, "a stacked array needs a leading layer axis (shape \(s.shape))",
                                    file: directory, tensor: s.name)
                }
                let shape = Array(s.shape.dropFirst())
                for (flat, slice) in layers {
                    try add(TensorInfo(name: flat, shape: shape, type: s.type, byteCount: s.bytesPerRow), from: s, slice: slice)
                }
                continue
            }
            guard let flat = layout.flatName(s.name) else { ignored += 1; continue }
            var info = s
            info.name = flat
            try add(info, from: s, slice: nil)
        }
        self.tensors = tensors
        self.origin = origin
        ignoredArrays = ignored
    }

    public func withBytes<R>(of tensor: TensorInfo, rows: Range<Int>, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        guard let (param, s, slice) = origin[tensor.name] else {
            throw KilnError(.notFound, "no parameter named '\(tensor.name)' in this checkpoint", file: path, tensor: tensor.name)
        }
        try checkRows(rows, of: param)
        guard let slice else { return try checkpoint.withBytes(of: s, rows: rows, body) }
        // One layer of a stacked array is one row of it; rows of the layer are an equal share of that row's bytes
        // (as decoded: the checkpoint's row width, e.g. int4 one value per byte).
        return try checkpoint.withBytes(of: s, rows: slice ..< slice + 1) { whole in
            let layerRows = max(param.rowCount, 1)
            let per = whole.count / layerRows
            let from = rows.lowerBound * per, to = rows.upperBound * per
            guard per * layerRows == whole.count, to <= whole.count else {
                throw KilnError(.invalid, "stacked slice holds \(whole.count) bytes, \(to) needed", file: path, tensor: s.name)
            }
            return try body(UnsafeRawBufferPointer(rebasing: whole[from ..< to]))
        }
    }
}
