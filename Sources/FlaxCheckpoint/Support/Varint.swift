import KilnCore

extension ByteCursor {
    /// An unsigned LEB128 varint (riegeli/protobuf style) of at most `maxBytes` bytes.
    mutating func varint(_ what: @autoclosure () -> String, maxBytes: Int = 10) throws(KilnError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        let start = offset
        for i in 0 ..< maxBytes {
            let b = try read(UInt8.self, what())
            if i == 9 && b > 1 {
                throw KilnError(.invalid, "\(what()) varint overflows 64 bits", file: file, offset: start)
            }
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
        }
        throw KilnError(.invalid, "\(what()) varint longer than \(maxBytes) bytes", file: file, offset: start)
    }

    /// A varint that must fit in `Int` and be at most `limit`.
    mutating func varintInt(_ what: @autoclosure () -> String, limit: Int = Int.max) throws(KilnError) -> Int {
        let start = offset
        let v = try varint(what())
        guard v <= UInt64(limit) else {
            throw KilnError(.invalid, "\(what()) = \(v) exceeds the limit \(limit)", file: file, offset: start)
        }
        return Int(v)
    }
}

/// `Array.withUnsafeBytes` for closures that throw `KilnError` (the stdlib versions rethrow untyped errors).
func withBytesOf<R>(_ a: [UInt8], _ f: (UnsafeRawBufferPointer) throws(KilnError) -> R) throws(KilnError) -> R {
    let result: Result<R, KilnError> = a.withUnsafeBytes { b in
        do throws(KilnError) { return .success(try f(b)) } catch { return .failure(error) }
    }
    return try result.get()
}

/// `Array.withUnsafeMutableBytes` for closures that throw `KilnError`.
func withMutableBytesOf<R>(_ a: inout [UInt8], _ f: (UnsafeMutableRawBufferPointer) throws(KilnError) -> R) throws(KilnError) -> R {
    let result: Result<R, KilnError> = a.withUnsafeMutableBytes { b in
        do throws(KilnError) { return .success(try f(b)) } catch { return .failure(error) }
    }
    return try result.get()
}
