import KilnCore

/// Little-endian serialization of GGUF header pieces into a byte array.
struct GGUFEncoder {
    var bytes: [UInt8] = []

    mutating func put<T: FixedWidthInteger>(_ v: T) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func putString(_ s: String) {
        put(UInt64(s.utf8.count))
        bytes.append(contentsOf: s.utf8)
    }

    mutating func putValue(_ v: GGUFValue) {
        switch v {
        case .uint8(let x): put(x)
        case .int8(let x): put(x)
        case .uint16(let x): put(x)
        case .int16(let x): put(x)
        case .uint32(let x): put(x)
        case .int32(let x): put(x)
        case .float32(let x): put(x.bitPattern)
        case .bool(let x): put(UInt8(x ? 1 : 0))
        case .string(let s): putString(s)
        case .uint64(let x): put(x)
        case .int64(let x): put(x)
        case .float64(let x): put(x.bitPattern)
        case .array(let a):
            put(a.elementType.rawValue)
            put(UInt64(a.count))
            switch a {
            case .uint8(let xs): bytes.append(contentsOf: xs)
            case .int8(let xs): for x in xs { put(x) }
            case .uint16(let xs): for x in xs { put(x) }
            case .int16(let xs): for x in xs { put(x) }
            case .uint32(let xs): for x in xs { put(x) }
            case .int32(let xs): for x in xs { put(x) }
            case .float32(let xs): for x in xs { put(x.bitPattern) }
            case .bool(let xs): for x in xs { put(UInt8(x ? 1 : 0)) }
            case .string(let xs): for x in xs { putString(x) }
            case .uint64(let xs): for x in xs { put(x) }
            case .int64(let xs): for x in xs { put(x) }
            case .float64(let xs): for x in xs { put(x.bitPattern) }
            }
        }
    }

    mutating func putEntry(_ e: GGUFMetadataEntry) {
        putString(e.key)
        put(e.value.type.rawValue)
        putValue(e.value)
    }
}
