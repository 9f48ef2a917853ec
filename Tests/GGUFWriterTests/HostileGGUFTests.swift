import Foundation
import GGUFWriter
import KilnCore
import KilnTestSupport
import Testing

/// Hand-built GGUF headers that once slipped past the reader's checks (regressions of issue 11).
@Suite struct HostileGGUFTests {
    /// A GGUF v3 file with no metadata and the given tensor infos (`ne`, ggml type id, relative offset), followed by
    /// `dataBytes` zero bytes of data after 32-byte alignment.
    static func gguf(_ tensors: [(name: String, ne: [Int64], type: Int32, offset: UInt64)], dataBytes: Int) -> Data {
        var b = Data("GGUF".utf8)
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { b.append(contentsOf: $0) } }
        put(UInt32(3)); put(Int64(tensors.count)); put(Int64(0))
        for t in tensors {
            put(UInt64(t.name.utf8.count)); b.append(contentsOf: Array(t.name.utf8))
            put(UInt32(t.ne.count)); for d in t.ne { put(d) }
            put(t.type); put(t.offset)
        }
        b.append(contentsOf: [UInt8](repeating: 0, count: (32 - b.count % 32) % 32 + dataBytes))
        return b
    }

    func open(_ bytes: Data) -> KilnError? {
        let dir = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir) }
        let path = dir + "/t.gguf"
        _ = FileManager.default.createFile(atPath: path, contents: bytes)
        do { _ = try GGUFFile(path: path); return nil } catch { return error }
    }

    @Test func anEmptyTensorCannotHideAnOverlap() {
        // a: 64 bytes at 0; z: empty at 32; b: 32 bytes at 32, inside a. Sorted by start, z sits between a and b.
        let bytes = Self.gguf([("a", [16], 0, 0), ("z", [0], 0, 32), ("b", [8], 0, 32)], dataBytes: 64)
        let e = open(bytes)
        #expect(e?.kind == .invalid)
        #expect(e?.tensor == "b")
        #expect(e?.message.contains("overlaps tensor 'a'") == true)
    }

    @Test func adjacentAndEmptyTensorsAreFine() {
        let bytes = Self.gguf([("a", [8], 0, 0), ("z", [0, 5], 0, 32), ("b", [8], 0, 32)], dataBytes: 64)
        #expect(open(bytes) == nil)
    }

    @Test func aZeroDimensionCannotHideAnOverflowingShape() {
        // [0, 2^40, 2^40] holds no elements, but the elements per row (2^80) overflow.
        let bytes = Self.gguf([("a", [0, 1 << 40, 1 << 40], 0, 0)], dataBytes: 0)
        let e = open(bytes)
        #expect(e?.kind == .invalid)
        #expect(e?.message.contains("overflows") == true)
    }
}
