import KilnCore
import QuantCore

/// Produces an output tensor's float32 values, in GGUF row order, from its source tensor.
///
/// Row-streamable transforms (`copy` of a 2-D source, `leadingRows`) read only the source rows asked for, so the
/// token embedding never has to be in memory at once; the others decode the source tensor (or one selected slice)
/// whole, which bounds memory by the largest such tensor.
struct RowProducer {
    let source: any TensorSource
    let tensor: OutputTensor
    let info: TensorInfo

    init(source: any TensorSource, tensor: OutputTensor) throws {
        self.source = source
        self.tensor = tensor
        info = try source.tensor(named: tensor.source)
    }

    /// True when `rows(_:into:)` can serve any row range on its own.
    var streams: Bool {
        switch tensor.transform {
        case .leadingRows: true
        case .copy(nil): info.shape.count == 2 && info.shape[0] == tensor.rowCount
        default: false
        }
    }

    /// Decodes `count` values of the source's leading rows `rows` into `dst`.
    private func decode(rows: Range<Int>, into dst: UnsafeMutableBufferPointer<Float>) throws {
        try source.withBytes(of: info, rows: rows) { bytes in
            let count = rows.count * info.elementsPerRow
            do throws(KilnError) {
                try Quantizer.dequantize(info.type, bytes, count: count, into: dst)
            } catch {
                throw error.inFile(source.path).inTensor(info.name)
            }
        }
    }

    /// Output rows `range` (streamable transforms only).
    func rows(_ range: Range<Int>, into dst: UnsafeMutableBufferPointer<Float>) throws {
        precondition(streams)
        try decode(rows: range, into: dst)
    }

    /// The whole output tensor.
    func all() throws -> [Float] {
        let n = tensor.elementCount
        var out = [Float](repeating: 0, count: n)
        switch tensor.transform {
        case .copy(nil), .leadingRows:
            // A 2-D source maps row for row (leadingRows may stop early); any other shape is read whole.
            let rows = info.shape.count == 2 ? 0 ..< tensor.rowCount : 0 ..< info.rowCount
            try out.withUnsafeMutableBufferPointer { try decode(rows: rows, into: $0) }
        case .plusOne:
            try out.withUnsafeMutableBufferPointer { try decode(rows: 0 ..< info.rowCount, into: $0) }
            for i in 0 ..< n { out[i] += 1 }
        case .copy(let i?):
            try out.withUnsafeMutableBufferPointer { try decode(rows: i ..< i + 1, into: $0) }
        case .headsMajor(let select):
            // (heads, D, H) → (heads·H, D)
            let shape = select == nil ? info.shape : Array(info.shape.dropFirst())
            let (heads, d, h) = (shape[0], shape[1], shape[2])
            var src = [Float](repeating: 0, count: n)
            try src.withUnsafeMutableBufferPointer { buf in
                if let i = select { try decode(rows: i ..< i + 1, into: buf) } else { try decode(rows: 0 ..< heads, into: buf) }
            }
            src.withUnsafeBufferPointer { s in
                out.withUnsafeMutableBufferPointer { o in
                    for head in 0 ..< heads {
                        let sb = head * d * h
                        for k in 0 ..< h {
                            let ob = (head * h + k) * d
                            for j in 0 ..< d { o[ob + j] = s[sb + j * h + k] }
                        }
                    }
                }
            }
        case .permute(let axes, let select):
            let shape = select == nil ? info.shape : Array(info.shape.dropFirst())
            var src = [Float](repeating: 0, count: n)
            try src.withUnsafeMutableBufferPointer { buf in
                if let i = select { try decode(rows: i ..< i + 1, into: buf) } else { try decode(rows: 0 ..< info.rowCount, into: buf) }
            }
            src.withUnsafeBufferPointer { s in
                out.withUnsafeMutableBufferPointer { o in Permute.apply(s.baseAddress!, o.baseAddress!, shape: shape, axes: axes) }
            }
        case .transpose:
            let cols = info.shape.last ?? 1
            let rows = n / max(cols, 1)
            var src = [Float](repeating: 0, count: n)
            try src.withUnsafeMutableBufferPointer { try decode(rows: 0 ..< info.rowCount, into: $0) }
            src.withUnsafeBufferPointer { s in
                out.withUnsafeMutableBufferPointer { o in
                    Transpose.blocked(s.baseAddress!, o.baseAddress!, rows: rows, cols: cols)
                }
            }
        }
        return out
    }
}

/// Cache-friendly matrix transpose.
enum Transpose {
    /// `dst[c][r] = src[r][c]` for a row-major `rows × cols` source, in 32×32 tiles.
    static func blocked(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        let tile = 32
        var r0 = 0
        while r0 < rows {
            let r1 = min(r0 + tile, rows)
            var c0 = 0
            while c0 < cols {
                let c1 = min(c0 + tile, cols)
                for r in r0 ..< r1 {
                    for c in c0 ..< c1 { dst[c * rows + r] = src[r * cols + c] }
                }
                c0 = c1
            }
            r0 = r1
        }
    }
}

/// N-dimensional axis permutation of a row-major array.
enum Permute {
    /// `dst` = `src` (row-major, `shape`) with output axis `i` = source axis `axes[i]`, row-major.
    static func apply(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, shape: [Int], axes: [Int]) {
        precondition(axes.count == shape.count && Set(axes) == Set(shape.indices), "axes \(axes) do not permute \(shape.count) axes")
        let count = shape.reduce(1, *)
        guard count > 0 else { return }
        guard !shape.isEmpty else { dst[0] = src[0]; return }
        var srcStride = [Int](repeating: 1, count: shape.count)
        for a in stride(from: shape.count - 2, through: 0, by: -1) { srcStride[a] = srcStride[a + 1] * shape[a + 1] }
        let outShape = axes.map { shape[$0] }
        let step = axes.map { srcStride[$0] }  // source stride of each output axis
        let last = outShape.count - 1
        let inner = outShape[last], innerStep = step[last]
        var index = [Int](repeating: 0, count: outShape.count)  // output index of the current row's first value
        var o = 0
        while o < count {
            var base = 0
            for a in 0 ..< last { base += index[a] * step[a] }
            for k in 0 ..< inner { dst[o + k] = src[base + k * innerStep] }
            o += inner
            var a = last - 1
            while a >= 0 {
                index[a] += 1
                if index[a] < outShape[a] { break }
                index[a] = 0
                a -= 1
            }
        }
    }
}
