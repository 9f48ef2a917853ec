import KilnCore

/// A minimal protobuf wire-format reader over a byte buffer: tags, varints, fixed32/64 and length-delimited fields.
///
/// Every read is bounds-checked and reports the absolute byte offset, so a truncated or corrupt message gives a
/// `KilnError` naming the file and the offset instead of a crash.
struct ProtobufReader {
    enum WireType: UInt8 {
        case varint = 0, fixed64 = 1, lengthDelimited = 2, startGroup = 3, endGroup = 4, fixed32 = 5
    }

    let bytes: UnsafeRawBufferPointer
    let file: String
    /// Absolute offset of the next byte to read.
    private(set) var offset: Int
    /// Absolute end of the message being read.
    let end: Int

    init(_ bytes: UnsafeRawBufferPointer, file: String, range: Range<Int>? = nil) {
        self.bytes = bytes
        self.file = file
        offset = range?.lowerBound ?? 0
        end = range?.upperBound ?? bytes.count
    }

    var isAtEnd: Bool { offset >= end }

    func error(_ message: String, at position: Int? = nil) -> KilnError {
        KilnError(.invalid, message, file: file, offset: position ?? offset)
    }

    /// Reads a base-128 varint of at most 10 bytes.
    mutating func readVarint(_ what: @autoclosure () -> String) throws(KilnError) -> UInt64 {
        let start = offset
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard offset < end else {
                throw KilnError(.truncated, "message ends inside the varint of \(what())", file: file, offset: start)
            }
            let byte = bytes[offset]
            offset += 1
            guard shift < 64 else { throw error("varint of \(what()) is longer than 10 bytes", at: start) }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
    }

    /// Reads a field tag; returns the field number and wire type.
    mutating func readTag() throws(KilnError) -> (field: UInt64, wire: WireType, offset: Int) {
        let start = offset
        let tag = try readVarint("a field tag")
        let field = tag >> 3
        guard field > 0, field <= 0x1FFF_FFFF else { throw error("invalid field number \(field)", at: start) }
        guard let wire = WireType(rawValue: UInt8(tag & 7)) else {
            throw error("invalid wire type \(tag & 7) for field \(field)", at: start)
        }
        return (field, wire, start)
    }

    mutating func readFixed32(_ what: @autoclosure () -> String) throws(KilnError) -> UInt32 {
        guard end - offset >= 4 else {
            throw KilnError(.truncated, "message ends inside \(what()) (4 bytes needed)", file: file, offset: offset)
        }
        let v = bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)
        offset += 4
        return UInt32(littleEndian: v)
    }

    /// Reads a length prefix and returns the absolute byte range of the payload (checked against the message end).
    mutating func readLengthDelimited(_ what: @autoclosure () -> String) throws(KilnError) -> Range<Int> {
        let start = offset
        let length = try readVarint("the length of \(what())")
        guard length <= UInt64(end - offset) else {
            throw KilnError(.truncated, "\(what()) claims \(length) bytes but only \(end - offset) remain",
                            file: file, offset: start)
        }
        let range = offset ..< offset + Int(length)
        offset = range.upperBound
        return range
    }

    /// Skips the value of a field of wire type `wire` (groups are skipped up to their matching end tag).
    mutating func skip(_ wire: WireType, field: UInt64) throws(KilnError) {
        switch wire {
        case .varint: _ = try readVarint("field \(field)")
        case .fixed64:
            guard end - offset >= 8 else {
                throw KilnError(.truncated, "message ends inside fixed64 field \(field)", file: file, offset: offset)
            }
            offset += 8
        case .fixed32: _ = try readFixed32("fixed32 field \(field)")
        case .lengthDelimited: _ = try readLengthDelimited("field \(field)")
        case .startGroup:
            while true {
                let (inner, innerWire, at) = try readTag()
                if innerWire == .endGroup {
                    guard inner == field else { throw error("group \(field) closed by end tag of field \(inner)", at: at) }
                    return
                }
                try skip(innerWire, field: inner)
            }
        case .endGroup: throw error("unexpected end-group tag for field \(field)")
        }
    }

    /// The payload bytes of `range` as strict UTF-8.
    func string(_ range: Range<Int>, _ what: @autoclosure () -> String) throws(KilnError) -> String {
        let view = UnsafeRawBufferPointer(rebasing: bytes[range])
        guard let s = String(validating: view, as: UTF8.self) else {
            throw error("\(what()) is not valid UTF-8", at: range.lowerBound)
        }
        return s
    }

    /// Checks that field `field` has the wire type `expected`.
    func expect(_ wire: WireType, _ expected: WireType, field: UInt64, in message: String, at position: Int) throws(KilnError) {
        guard wire == expected else {
            throw error("\(message) field \(field) has wire type \(wire.rawValue), expected \(expected.rawValue)", at: position)
        }
    }
}
