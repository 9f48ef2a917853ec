/// A bounds-checked little-endian reader over a byte buffer (usually a memory-mapped file).
///
/// Every read checks the remaining length first and throws `KilnError(.truncated)` with the absolute offset,
/// so malformed input can never trap or read past the mapping.
public struct ByteCursor {
    public let bytes: UnsafeRawBufferPointer
    /// Absolute offset of the next read within `bytes`.
    public private(set) var offset: Int
    /// File name used in error messages.
    public let file: String

    public init(_ bytes: UnsafeRawBufferPointer, offset: Int = 0, file: String) {
        self.bytes = bytes
        self.offset = offset
        self.file = file
    }

    public var remaining: Int { bytes.count - offset }
    public var isAtEnd: Bool { offset >= bytes.count }

    /// Throws unless `count` more bytes are available.
    public func require(_ count: Int, _ what: @autoclosure () -> String) throws(KilnError) {
        guard count >= 0, count <= remaining else {
            throw KilnError(.truncated, "file ends while reading \(what()) (\(count) bytes needed, \(max(remaining, 0)) left)",
                            file: file, offset: offset)
        }
    }

    public mutating func read<T: FixedWidthInteger>(_ type: T.Type, _ what: @autoclosure () -> String) throws(KilnError) -> T {
        let size = MemoryLayout<T>.size
        try require(size, what())
        let value = bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += size
        return T(littleEndian: value)
    }

    public mutating func readFloat(_ what: @autoclosure () -> String) throws(KilnError) -> Float {
        Float(bitPattern: try read(UInt32.self, what()))
    }

    public mutating func readDouble(_ what: @autoclosure () -> String) throws(KilnError) -> Double {
        Double(bitPattern: try read(UInt64.self, what()))
    }

    /// A view of the next `count` bytes (no copy).
    public mutating func readBytes(_ count: Int, _ what: @autoclosure () -> String) throws(KilnError) -> UnsafeRawBufferPointer {
        try require(count, what())
        let view = UnsafeRawBufferPointer(rebasing: bytes[offset ..< offset + count])
        offset += count
        return view
    }

    /// Decodes `count` bytes as strict UTF-8; invalid sequences are an error, never replaced.
    public mutating func readUTF8(_ count: Int, _ what: @autoclosure () -> String) throws(KilnError) -> String {
        let start = offset
        let view = try readBytes(count, what())
        guard let s = String(validating: view, as: UTF8.self) else {
            throw KilnError(.invalid, "\(what()) is not valid UTF-8", file: file, offset: start)
        }
        return s
    }

    public mutating func skip(_ count: Int, _ what: @autoclosure () -> String) throws(KilnError) {
        try require(count, what())
        offset += count
    }

    public mutating func seek(to absolute: Int, _ what: @autoclosure () -> String) throws(KilnError) {
        guard absolute >= 0, absolute <= bytes.count else {
            throw KilnError(.truncated, "\(what()) at \(absolute) lies past the end (\(bytes.count) bytes)", file: file, offset: offset)
        }
        offset = absolute
    }
}
