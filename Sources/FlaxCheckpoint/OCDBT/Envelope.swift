import KilnCore

/// The envelope shared by OCDBT manifests, version-tree nodes and B+tree nodes: magic, length, version,
/// compression, body, CRC-32C. Decoding checks all of them before the body is looked at.
enum OCDBTEnvelope {
    static let manifestMagic: UInt32 = 0x0cdb_3a2a
    static let versionNodeMagic: UInt32 = 0x0cdb_1234
    static let btreeNodeMagic: UInt32 = 0x0cdb_20de

    /// Verifies the envelope in `bytes` (which lie at `fileOffset` of `file`) and returns the decoded body.
    static func decode(_ bytes: UnsafeRawBufferPointer, magic: UInt32, what: String, file: String, fileOffset: Int,
                       maxBodyBytes: Int) throws(KilnError) -> [UInt8] {
        guard bytes.count >= 4 + 8 + 1 + 1 + 4 else {
            throw KilnError(.truncated, "\(what) is \(bytes.count) bytes, too short for an OCDBT envelope", file: file, offset: fileOffset)
        }
        let m = UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
        guard m == magic else {
            throw KilnError(.badMagic, "\(what): magic 0x\(String(m, radix: 16)) where 0x\(String(magic, radix: 16)) was expected",
                            file: file, offset: fileOffset)
        }
        let length = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 4, as: UInt64.self))
        guard length == UInt64(bytes.count) else {
            throw KilnError(length > UInt64(bytes.count) ? .truncated : .invalid,
                            "\(what) announces \(length) bytes but \(bytes.count) were referenced", file: file, offset: fileOffset)
        }
        let stored = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: bytes.count - 4, as: UInt32.self))
        let computed = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0 ..< bytes.count - 4]))
        guard stored == computed else {
            throw KilnError(.checksum, "\(what): CRC-32C mismatch (stored 0x\(String(stored, radix: 16)), computed 0x\(String(computed, radix: 16)))",
                            file: file, offset: fileOffset)
        }
        let inner = UnsafeRawBufferPointer(rebasing: bytes[0 ..< bytes.count - 4])
        var c = ByteCursor(inner, offset: 12, file: file)
        let version = try c.varint("\(what) format version")
        guard version == 0 else {
            throw KilnError(.unsupported, "\(what): OCDBT format version \(version) (only 0 is known)", file: file, offset: fileOffset)
        }
        let compression = try c.varint("\(what) compression")
        let body = UnsafeRawBufferPointer(rebasing: inner[c.offset...])
        switch compression {
        case 0:
            guard body.count <= maxBodyBytes else {
                throw KilnError(.invalid, "\(what) body of \(body.count) bytes exceeds the limit \(maxBodyBytes)", file: file, offset: fileOffset)
            }
            return Array(body)
        case 1:
            do {
                return try Codecs.zstd(body, limit: maxBodyBytes, what: what)
            } catch {
                var e = error
                e.file = e.file ?? file
                e.offset = e.offset ?? fileOffset
                throw e
            }
        default:
            throw KilnError(.unsupported, "\(what): compression method \(compression) (0 = none and 1 = zstd are known)",
                            file: file, offset: fileOffset)
        }
    }
}
