import Foundation
import GGUFWriter
import KilnCore
import KilnTestSupport
import Testing

/// Corrupted copies of a gguf-py file: every one must give a typed error naming the file and offset, never a crash.
@Suite struct GGUFBadInputTests {
    static let good = try! Fixtures.data("gguf/all-value-types.gguf")

    /// Opens `bytes` as a GGUF file in a temp dir and returns the error it raised (nil if it opened).
    func open(_ bytes: Data) -> KilnError? {
        let dir = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir) }
        let path = dir + "/bad.gguf"
        _ = FileManager.default.createFile(atPath: path, contents: bytes)
        do {
            _ = try GGUFFile(path: path)
            return nil
        } catch {
            #expect(error.file == path)
            #expect(error.description.contains(path))
            return error
        }
    }

    func patched(at offset: Int, _ value: some FixedWidthInteger) -> Data {
        var d = Self.good
        withUnsafeBytes(of: value.littleEndian) { d.replaceSubrange(offset ..< offset + $0.count, with: $0) }
        return d
    }

    /// Offset of the tensor info for `name` (its u64 name length).
    func tensorInfoOffset(_ name: String) -> Int {
        let needle = Data(name.utf8)
        var from = 0
        while let r = Self.good.range(of: needle, in: from ..< Self.good.count) {
            // A tensor info's name is followed by n_dims (1...4) as u32.
            let after = r.upperBound
            if Self.good[after] >= 1, Self.good[after] <= 4, Self.good[after + 1] == 0 { return r.lowerBound - 8 }
            from = r.upperBound
        }
        fatalError("no tensor info for \(name)")
    }

    @Test func everyTruncationIsATypedError() {
        let dataOffset = 1632, dataEnd = dataOffset + 320 + 68  // the last tensor (Q8_0, 68 bytes) ends here
        for n in 0 ..< dataEnd where n < dataOffset || n % 7 == 0 {
            let err = open(Self.good.prefix(n))
            #expect(err != nil, "prefix \(n) opened")
            if let err { #expect([.truncated, .badMagic].contains(err.kind), "prefix \(n): \(err)") }
        }
    }

    @Test func wrongMagic() {
        var d = Self.good
        d[0] = UInt8(ascii: "X")
        #expect(open(d)?.kind == .badMagic)
        #expect(open(d)?.offset == 0)
    }

    @Test(arguments: [UInt32(1), 4, 0x0300_0000])
    func unsupportedVersion(_ v: UInt32) {
        let e = open(patched(at: 4, v))
        #expect(e?.kind == .unsupported)
        #expect(e?.offset == 4)
    }

    @Test func absurdCounts() {
        #expect(open(patched(at: 8, Int64(1) << 62))?.kind == .invalid)   // 2^62 tensors
        #expect(open(patched(at: 8, Int64(-1)))?.kind == .invalid)
        #expect(open(patched(at: 16, Int64(1) << 62))?.kind == .invalid)  // 2^62 keys
    }

    @Test func stringLongerThanTheFile() {
        let e = open(patched(at: 24, UInt64(1) << 40))
        #expect(e?.kind == .truncated)
        #expect(e?.offset == 24)
    }

    @Test func nonUTF8Key() {
        var d = Self.good
        d[32] = 0xFF  // first byte of "general.architecture"
        let e = open(d)
        #expect(e?.kind == .invalid)
        #expect(e?.offset == 32)
    }

    @Test func unknownValueType() {
        // "general.architecture" (20 bytes) ends at 52; its value type follows.
        #expect(open(patched(at: 52, Int32(99)))?.kind == .invalid)
    }

    @Test func absurdArrayLength() {
        let key = Self.good.range(of: Data("test.arr.long".utf8))!.upperBound
        let e = open(patched(at: key + 8, UInt64(1) << 60))  // type(4) + element type(4), then the count
        #expect(e?.kind == .truncated)
    }

    @Test func tooManyDimensionsAndUnknownTypes() {
        let info = tensorInfoOffset("t.f32")
        let nameEnd = info + 8 + 5
        #expect(open(patched(at: nameEnd, UInt32(5)))?.kind == .invalid)
        #expect(open(patched(at: nameEnd + 4 + 16, Int32(4)))?.kind == .unsupported)   // type 4 was removed from ggml
        #expect(open(patched(at: nameEnd + 4, Int64(-3)))?.kind == .invalid)
    }

    @Test func offsetsPastTheEndMisalignedOrOverlapping() {
        let info = tensorInfoOffset("t.f16")  // 1 dim
        let offsetField = info + 8 + 5 + 4 + 8 + 4
        let past = open(patched(at: offsetField, UInt64(1) << 20))
        #expect(past?.kind == .truncated)
        #expect(past?.tensor == "t.f16")
        #expect(open(patched(at: offsetField, UInt64(33)))?.kind == .invalid)
        let overlap = open(patched(at: offsetField, UInt64(32)))  // inside t.f32's 48 bytes
        #expect(overlap?.kind == .invalid)
        #expect(overlap?.description.contains("overlaps") == true)
    }

    @Test func duplicateNames() {
        var d = Self.good
        let i = tensorInfoOffset("t.i16")
        d.replaceSubrange(i + 8 ..< i + 8 + 5, with: Data("t.i32".utf8))
        #expect(open(d)?.kind == .invalid)
    }

    @Test func emptyFileAndDirectory() {
        #expect(open(Data())?.kind == .truncated)
        #expect(throws: KilnError.self) { try GGUFFile(path: Fixtures.root) }
        #expect(throws: KilnError.self) { try GGUFFile(path: "/nonexistent/x.gguf") }
    }
}
