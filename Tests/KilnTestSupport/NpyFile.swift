import Foundation

/// A minimal NumPy `.npy` (v1/v2) reader for tests: dtype string, shape and the raw little-endian payload.
public struct NpyFile {
    public let descr: String
    public let shape: [Int]
    public let payload: Data

    public init(path: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        guard data.count >= 10, data.prefix(6) == Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]) else {
            throw NpyError.bad("\(path): not an .npy file")
        }
        let major = data[6]
        let headerLength: Int
        let start: Int
        if major == 1 {
            headerLength = Int(data[8]) | Int(data[9]) << 8
            start = 10
        } else {
            headerLength = Int(data[8]) | Int(data[9]) << 8 | Int(data[10]) << 16 | Int(data[11]) << 24
            start = 12
        }
        let header = String(decoding: data[start ..< start + headerLength], as: UTF8.self)
        guard let d = header.range(of: "'descr': '")?.upperBound,
              let dEnd = header[d...].firstIndex(of: "'"),
              let s = header.range(of: "'shape': (")?.upperBound,
              let sEnd = header[s...].firstIndex(of: ")") else { throw NpyError.bad("\(path): bad header \(header)") }
        guard !header.contains("'fortran_order': True") else { throw NpyError.bad("\(path): Fortran order") }
        descr = String(header[d ..< dEnd])
        shape = header[s ..< sEnd].split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        payload = data.subdata(in: start + headerLength ..< data.count)
    }

    /// The payload as bytes.
    public var bytes: [UInt8] { [UInt8](payload) }

    public var floats: [Float] {
        precondition(descr == "<f4")
        return payload.withUnsafeBytes { b in (0 ..< b.count / 4).map { Float(bitPattern: b.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)) } }
    }
}

public enum NpyError: Error { case bad(String) }
