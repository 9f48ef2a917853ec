import KilnCore

/// GGUF metadata value type ids (`gguf_type` in ggml's gguf.h).
public enum GGUFValueType: Int32, Sendable, CaseIterable, CustomStringConvertible {
    case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6, bool = 7
    case string = 8, array = 9, uint64 = 10, int64 = 11, float64 = 12

    /// gguf-py's spelling (`GGUFValueType.name`), used by `inspect`.
    public var description: String {
        switch self {
        case .uint8: "UINT8"
        case .int8: "INT8"
        case .uint16: "UINT16"
        case .int16: "INT16"
        case .uint32: "UINT32"
        case .int32: "INT32"
        case .float32: "FLOAT32"
        case .bool: "BOOL"
        case .string: "STRING"
        case .array: "ARRAY"
        case .uint64: "UINT64"
        case .int64: "INT64"
        case .float64: "FLOAT64"
        }
    }

    /// Encoded size of one scalar of this type (strings: the minimum, an empty string's length prefix).
    var minimumEncodedSize: Int {
        switch self {
        case .uint8, .int8, .bool: 1
        case .uint16, .int16: 2
        case .uint32, .int32, .float32: 4
        case .uint64, .int64, .float64, .string: 8
        case .array: 12
        }
    }
}

/// A homogeneous GGUF array. Arrays of arrays are not represented: ggml's reader rejects them.
public enum GGUFArray: Sendable, Equatable {
    case uint8([UInt8]), int8([Int8]), uint16([UInt16]), int16([Int16])
    case uint32([UInt32]), int32([Int32]), float32([Float]), bool([Bool])
    case string([String]), uint64([UInt64]), int64([Int64]), float64([Double])

    public var elementType: GGUFValueType {
        switch self {
        case .uint8: .uint8
        case .int8: .int8
        case .uint16: .uint16
        case .int16: .int16
        case .uint32: .uint32
        case .int32: .int32
        case .float32: .float32
        case .bool: .bool
        case .string: .string
        case .uint64: .uint64
        case .int64: .int64
        case .float64: .float64
        }
    }

    public var count: Int {
        switch self {
        case .uint8(let a): a.count
        case .int8(let a): a.count
        case .uint16(let a): a.count
        case .int16(let a): a.count
        case .uint32(let a): a.count
        case .int32(let a): a.count
        case .float32(let a): a.count
        case .bool(let a): a.count
        case .string(let a): a.count
        case .uint64(let a): a.count
        case .int64(let a): a.count
        case .float64(let a): a.count
        }
    }

    /// Element `i` as a scalar value.
    public subscript(i: Int) -> GGUFValue {
        switch self {
        case .uint8(let a): .uint8(a[i])
        case .int8(let a): .int8(a[i])
        case .uint16(let a): .uint16(a[i])
        case .int16(let a): .int16(a[i])
        case .uint32(let a): .uint32(a[i])
        case .int32(let a): .int32(a[i])
        case .float32(let a): .float32(a[i])
        case .bool(let a): .bool(a[i])
        case .string(let a): .string(a[i])
        case .uint64(let a): .uint64(a[i])
        case .int64(let a): .int64(a[i])
        case .float64(let a): .float64(a[i])
        }
    }
}

/// One GGUF metadata value.
public enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16)
    case uint32(UInt32), int32(Int32), float32(Float), bool(Bool)
    case string(String), array(GGUFArray), uint64(UInt64), int64(Int64), float64(Double)

    public var type: GGUFValueType {
        switch self {
        case .uint8: .uint8
        case .int8: .int8
        case .uint16: .uint16
        case .int16: .int16
        case .uint32: .uint32
        case .int32: .int32
        case .float32: .float32
        case .bool: .bool
        case .string: .string
        case .array: .array
        case .uint64: .uint64
        case .int64: .int64
        case .float64: .float64
        }
    }

    /// The value as an integer when it is one of the integer types (or a bool).
    public var intValue: Int? {
        switch self {
        case .uint8(let v): Int(v)
        case .int8(let v): Int(v)
        case .uint16(let v): Int(v)
        case .int16(let v): Int(v)
        case .uint32(let v): Int(v)
        case .int32(let v): Int(v)
        case .uint64(let v): Int(exactly: v)
        case .int64(let v): Int(v)
        case .bool(let v): v ? 1 : 0
        default: nil
        }
    }

    /// The value as a Double when it is numeric.
    public var doubleValue: Double? {
        switch self {
        case .float32(let v): Double(v)
        case .float64(let v): v
        default: intValue.map(Double.init)
        }
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var arrayValue: GGUFArray? {
        if case .array(let a) = self { return a }
        return nil
    }
}

/// One metadata key/value pair; GGUF metadata is an ordered list of these.
public struct GGUFMetadataEntry: Sendable, Equatable {
    public var key: String
    public var value: GGUFValue
    public init(_ key: String, _ value: GGUFValue) {
        self.key = key
        self.value = value
    }
}

extension Array where Element == GGUFMetadataEntry {
    /// The value stored under `key`, if any.
    public subscript(key key: String) -> GGUFValue? {
        first(where: { $0.key == key })?.value
    }

    /// Sets `key` the way ggml's `gguf_set_val_*` does: an existing entry is removed and the new one appended.
    public mutating func set(_ key: String, _ value: GGUFValue) {
        removeAll { $0.key == key }
        append(GGUFMetadataEntry(key, value))
    }
}
