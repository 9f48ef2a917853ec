import KilnCore

/// Decoding of GGUF strings and metadata values from a bounded cursor.
enum GGUFDecoding {
    static func readString(_ c: inout ByteCursor, _ what: @autoclosure () -> String) throws(KilnError) -> String {
        let at = c.offset
        let length = try c.read(UInt64.self, "the length of \(what())")
        guard length <= UInt64(c.remaining) else {
            throw KilnError(.truncated, "\(what()) claims \(length) bytes but only \(c.remaining) remain", file: c.file, offset: at)
        }
        return try c.readUTF8(Int(length), what())
    }

    static func readValue(_ c: inout ByteCursor, key: String) throws(KilnError) -> GGUFValue {
        let typeOffset = c.offset
        let raw = try c.read(Int32.self, "the value type of '\(key)'")
        guard let type = GGUFValueType(rawValue: raw) else {
            throw KilnError(.invalid, "metadata '\(key)' has unknown value type \(raw)", file: c.file, offset: typeOffset)
        }
        if type == .array {
            let elemOffset = c.offset
            let rawElem = try c.read(Int32.self, "the element type of '\(key)'")
            guard let elem = GGUFValueType(rawValue: rawElem) else {
                throw KilnError(.invalid, "array '\(key)' has unknown element type \(rawElem)", file: c.file, offset: elemOffset)
            }
            guard elem != .array else {
                throw KilnError(.unsupported, "array '\(key)' nests arrays, which ggml rejects", file: c.file, offset: elemOffset)
            }
            let countOffset = c.offset
            let count = try c.read(UInt64.self, "the length of '\(key)'")
            guard count <= UInt64(c.remaining / elem.minimumEncodedSize) else {
                throw KilnError(.truncated, "array '\(key)' claims \(count) elements, more than the \(c.remaining) bytes left can hold",
                                file: c.file, offset: countOffset)
            }
            return .array(try readArray(&c, elem, Int(count), key: key))
        }
        return try readScalar(&c, type, key: key)
    }

    private static func readScalar(_ c: inout ByteCursor, _ type: GGUFValueType, key: String) throws(KilnError) -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try c.read(UInt8.self, "'\(key)'"))
        case .int8: return .int8(try c.read(Int8.self, "'\(key)'"))
        case .uint16: return .uint16(try c.read(UInt16.self, "'\(key)'"))
        case .int16: return .int16(try c.read(Int16.self, "'\(key)'"))
        case .uint32: return .uint32(try c.read(UInt32.self, "'\(key)'"))
        case .int32: return .int32(try c.read(Int32.self, "'\(key)'"))
        case .float32: return .float32(try c.readFloat("'\(key)'"))
        case .bool: return .bool(try readBool(&c, key: key))
        case .string: return .string(try readString(&c, "the value of '\(key)'"))
        case .uint64: return .uint64(try c.read(UInt64.self, "'\(key)'"))
        case .int64: return .int64(try c.read(Int64.self, "'\(key)'"))
        case .float64: return .float64(try c.readDouble("'\(key)'"))
        case .array: throw KilnError(.unsupported, "nested array in '\(key)'", file: c.file, offset: c.offset)
        }
    }

    private static func readBool(_ c: inout ByteCursor, key: String) throws(KilnError) -> Bool {
        let at = c.offset
        let b = try c.read(UInt8.self, "'\(key)'")
        guard b <= 1 else { throw KilnError(.invalid, "bool '\(key)' has value \(b) (0 or 1 expected)", file: c.file, offset: at) }
        return b == 1
    }

    private static func readArray(_ c: inout ByteCursor, _ elem: GGUFValueType, _ n: Int, key: String) throws(KilnError) -> GGUFArray {
        func fixed<T: FixedWidthInteger>(_: T.Type) throws(KilnError) -> [T] {
            try c.require(n * MemoryLayout<T>.size, "array '\(key)'")
            var out = [T](repeating: 0, count: n)
            for i in 0 ..< n { out[i] = try c.read(T.self, "array '\(key)'") }
            return out
        }
        switch elem {
        case .uint8: return .uint8(try fixed(UInt8.self))
        case .int8: return .int8(try fixed(Int8.self))
        case .uint16: return .uint16(try fixed(UInt16.self))
        case .int16: return .int16(try fixed(Int16.self))
        case .uint32: return .uint32(try fixed(UInt32.self))
        case .int32: return .int32(try fixed(Int32.self))
        case .uint64: return .uint64(try fixed(UInt64.self))
        case .int64: return .int64(try fixed(Int64.self))
        case .float32: return .float32(try fixed(UInt32.self).map(Float.init(bitPattern:)))
        case .float64: return .float64(try fixed(UInt64.self).map(Double.init(bitPattern:)))
        case .bool:
            var out: [Bool] = []
            out.reserveCapacity(n)
            for _ in 0 ..< n { out.append(try readBool(&c, key: key)) }
            return .bool(out)
        case .string:
            var out: [String] = []
            out.reserveCapacity(n)
            for i in 0 ..< n { out.append(try readString(&c, "element \(i) of '\(key)'")) }
            return .string(out)
        case .array:
            throw KilnError(.unsupported, "nested array in '\(key)'", file: c.file, offset: c.offset)
        }
    }
}
