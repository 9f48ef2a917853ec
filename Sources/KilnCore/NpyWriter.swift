/// Writes NumPy `.npy` (format 1.0) files, the interchange format of `inspect --npy`.
public enum NpyWriter {
    /// The header for an array of numpy dtype `descr` (e.g. "<f4") and `shape`, padded as numpy pads it (to 64 bytes).
    public static func header(descr: String, shape: [Int]) -> [UInt8] {
        let dims: String
        switch shape.count {
        case 0: dims = "()"
        case 1: dims = "(\(shape[0]),)"
        default: dims = "(" + shape.map(String.init).joined(separator: ", ") + ")"
        }
        var dict = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(dims), }"
        let preamble = 10
        let total = (preamble + dict.utf8.count + 1 + 63) / 64 * 64
        dict += String(repeating: " ", count: total - preamble - dict.utf8.count - 1) + "\n"
        var out: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0]
        let len = UInt16(dict.utf8.count)
        out.append(UInt8(len & 0xff))
        out.append(UInt8(len >> 8))
        out.append(contentsOf: Array(dict.utf8))
        return out
    }

    /// The numpy dtype string for a scalar element type, or nil when numpy has none (block types, float8, int4).
    public static func descr(for type: ElementType) -> String? {
        switch type {
        case .float64: "<f8"
        case .float32: "<f4"
        case .float16: "<f2"
        case .int64: "<i8"
        case .int32: "<i4"
        case .int16: "<i2"
        case .int8: "|i1"
        case .uint64: "<u8"
        case .uint32: "<u4"
        case .uint16: "<u2"
        case .uint8: "|u1"
        case .bool: "|b1"
        default: nil
        }
    }
}
