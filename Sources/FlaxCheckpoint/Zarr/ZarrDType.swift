import KilnCore

/// Zarr v2 / v3 data type names (as TensorStore writes them, §4.2) mapped onto Kiln element types.
enum ZarrDType {
    /// The element type of a zarr v2 `dtype` string, or an `.unsupported` error naming it.
    static func fromV2(_ s: String) throws(KilnError) -> ElementType {
        switch s {
        case "<f4": return .float32
        case "<f2": return .float16
        case "<f8": return .float64
        case "bfloat16", "<bfloat16": return .bfloat16
        case "|i1", "<i1", "int8": return .int8
        case "|u1", "<u1", "uint8": return .uint8
        case "<i2": return .int16
        case "<i4": return .int32
        case "<i8": return .int64
        case "<u2": return .uint16
        case "<u4": return .uint32
        case "<u8": return .uint64
        case "|b1", "bool": return .bool
        case "int4": return .int4
        case "float8_e4m3fn": return .float8E4M3
        case "float8_e5m2": return .float8E5M2
        default:
            if s.hasPrefix(">") {
                throw KilnError(.unsupported, "unsupported dtype '\(s)': big-endian zarr arrays are not supported")
            }
            throw KilnError(.unsupported, "unsupported dtype '\(s)'")
        }
    }

    /// The element type of a zarr v3 `data_type`.
    static func fromV3(_ s: String) throws(KilnError) -> ElementType {
        switch s {
        case "float32": return .float32
        case "float16": return .float16
        case "float64": return .float64
        case "bfloat16": return .bfloat16
        case "int8": return .int8
        case "uint8": return .uint8
        case "int16": return .int16
        case "int32": return .int32
        case "int64": return .int64
        case "uint16": return .uint16
        case "uint32": return .uint32
        case "uint64": return .uint64
        case "bool": return .bool
        case "int4": return .int4
        case "float8_e4m3fn": return .float8E4M3
        case "float8_e5m2": return .float8E5M2
        default: throw KilnError(.unsupported, "unsupported data_type '\(s)'")
        }
    }

    /// The little-endian bytes of one element equal to a JSON `fill_value` (null → zeros).
    static func fillBytes(_ v: JSONValue?, type: ElementType) throws(KilnError) -> [UInt8] {
        let size = type.blockBytes
        guard let v, !v.isNull else { return [UInt8](repeating: 0, count: size) }
        func le<T: FixedWidthInteger>(_ x: T) -> [UInt8] { withUnsafeBytes(of: x.littleEndian) { Array($0) } }
        // Hex strings ("0x7fc00000") are raw bit patterns (zarr v3).
        if let s = v.stringValue, s.hasPrefix("0x"), let bits = UInt64(s.dropFirst(2), radix: 16) {
            return Array(le(bits).prefix(size))
        }
        var d: Double
        switch v {
        case .bool(let b): d = b ? 1 : 0
        case .number(let s): d = Double(s) ?? 0
            if !type.isFloatingPoint, let i = Int64(s) {
                return Array(le(i).prefix(size))
            }
            if !type.isFloatingPoint, let u = UInt64(s) {
                return Array(le(u).prefix(size))
            }
        case .string(let s):
            switch s {
            case "NaN": d = .nan
            case "Infinity": d = .infinity
            case "-Infinity": d = -.infinity
            default: throw KilnError(.invalid, "fill_value '\(s)' is not a number")
            }
        default: throw KilnError(.invalid, "fill_value is not a number")
        }
        switch type {
        case .float64: return le(d.bitPattern)
        case .float32: return le(Float(d).bitPattern)
        case .float16: return le(HalfFloat.floatToF16(Float(d)))
        case .bfloat16: return le(HalfFloat.floatToBF16(Float(d)))
        case .float8E4M3, .float8E5M2:
            guard d == 0 else { throw KilnError(.unsupported, "non-zero float8 fill_value \(d)") }
            return [0]
        case .bool: return [d != 0 ? 1 : 0]
        default:
            guard d.isFinite, d == d.rounded(), abs(d) < 9.2e18 else { throw KilnError(.invalid, "fill_value \(d) is not an integer") }
            return Array(le(Int64(d)).prefix(size))
        }
    }
}
