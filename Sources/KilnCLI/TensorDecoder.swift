import KilnCore
import QuantCore

/// Turns stored tensor bytes of any element type into float32 values, a bounded number of rows at a time.
public enum TensorDecoder {
    /// Whether values of `type` can be decoded.
    public static func canDecode(_ type: ElementType) -> Bool { Quantizer.canDequantize(type) }

    /// Decodes `count` elements.
    public static func decode(_ type: ElementType, _ bytes: UnsafeRawBufferPointer, count: Int, into dst: UnsafeMutableBufferPointer<Float>) throws {
        try Quantizer.dequantize(type, bytes, count: count, into: dst)
    }

    /// Streams the tensor's values in row blocks of about `targetElements` and calls `body` with each block.
    public static func forEachBlock(_ source: any TensorSource, _ tensor: TensorInfo, targetElements: Int = 1 << 22,
                                    _ body: (UnsafeBufferPointer<Float>) throws -> Void) throws {
        guard canDecode(tensor.type) else {
            throw KilnError(.unsupported, "cannot decode \(tensor.type) values", file: source.path, tensor: tensor.name)
        }
        let perRow = max(tensor.elementsPerRow, 1)
        let rowsPerBlock = max(1, targetElements / perRow)
        var buffer = [Float](repeating: 0, count: min(rowsPerBlock, max(tensor.rowCount, 1)) * perRow)
        var row = 0
        let rows = tensor.shape.isEmpty ? 1 : tensor.rowCount
        while row < rows {
            let n = min(rowsPerBlock, rows - row)
            let count = n * tensor.elementsPerRow
            try source.withBytes(of: tensor, rows: row ..< row + n) { bytes in
                try buffer.withUnsafeMutableBufferPointer { dst in
                    try decode(tensor.type, bytes, count: count, into: dst)
                    try body(UnsafeBufferPointer(rebasing: dst[0 ..< count]))
                }
            }
            row += n
        }
    }
}
