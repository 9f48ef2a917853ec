import Foundation
import KilnCore
import KilnTestSupport
import Testing

@Suite struct ByteCursorTests {
    @Test func readsLittleEndianAndStopsAtTheEnd() throws {
        let bytes: [UInt8] = [1, 0, 0, 0, 0xff, 0xfe, 0x41, 0x42]
        try bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) throws in
            var c = ByteCursor(raw, file: "mem")
            #expect(try c.read(UInt32.self, "u32") == 1)
            #expect(try c.read(Int16.self, "i16") == -257)
            #expect(try c.readUTF8(2, "text") == "AB")
            #expect(c.isAtEnd)
            #expect { _ = try c.read(UInt8.self, "past the end") } throws: { e in
                (e as? KilnError)?.kind == .truncated && (e as? KilnError)?.offset == 8 && (e as? KilnError)?.file == "mem"
            }
        }
    }

    @Test func invalidUTF8IsAnErrorNotAReplacement() throws {
        let bytes: [UInt8] = [0x61, 0xc3, 0x28]
        try bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) throws in
            var c = ByteCursor(raw, file: "mem")
            #expect { _ = try c.readUTF8(3, "key") } throws: { e in (e as? KilnError)?.kind == .invalid }
        }
    }

    @Test func hugeRequestsDoNotAllocateOrTrap() throws {
        try [UInt8](repeating: 0, count: 4).withUnsafeBytes { (raw: UnsafeRawBufferPointer) throws in
            var c = ByteCursor(raw, file: "mem")
            #expect(throws: KilnError.self) { try c.readBytes(Int.max, "huge") }
            #expect(throws: KilnError.self) { try c.readBytes(-1, "negative") }
            #expect(throws: KilnError.self) { try c.seek(to: 5, "past the end") }
        }
    }
}

@Suite struct AtomicOutputFileTests {
    @Test func appearsOnlyOnCommit() throws {
        let dir = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir) }
        let path = dir + "/out.bin"
        do {
            let f = try AtomicOutputFile(path: path)
            try f.write([1, 2, 3])
            #expect(!FileManager.default.fileExists(atPath: path))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty, "an uncommitted temp file is removed")
        let f = try AtomicOutputFile(path: path)
        try f.write([UInt8](repeating: 7, count: 3 << 20))  // larger than the buffer
        try f.writeZeros(5)
        try f.commit()
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(data.count == (3 << 20) + 5 && data.first == 7 && data.last == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["out.bin"])
    }

    @Test func refusesToWriteOverOrIntoAnInput() throws {
        let dir = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir) }
        let input = dir + "/in.bin"
        _ = FileManager.default.createFile(atPath: input, contents: Data([9]))
        #expect(throws: KilnError.self) { _ = try AtomicOutputFile(path: input, inputs: [input]) }
        try FileManager.default.createDirectory(atPath: dir + "/ckpt", withIntermediateDirectories: true)
        #expect(throws: KilnError.self) { _ = try AtomicOutputFile(path: dir + "/ckpt/x.gguf", inputs: [dir + "/ckpt"]) }
        #expect(try Data(contentsOf: URL(fileURLWithPath: input)) == Data([9]))
    }
}

@Suite struct HalfFloatTests {
    /// ggml's GGML_FP32_TO_BF16 rounds to nearest even and quiets NaN (values worked out by hand from its bit rule).
    @Test func bfloat16RoundsToNearestEvenLikeGGML() {
        #expect(HalfFloat.floatToBF16(1.0) == 0x3f80)
        #expect(HalfFloat.floatToBF16(Float(bitPattern: 0x3f80_8000)) == 0x3f80)  // tie → even
        #expect(HalfFloat.floatToBF16(Float(bitPattern: 0x3f81_8000)) == 0x3f82)  // tie → even
        #expect(HalfFloat.floatToBF16(Float(bitPattern: 0x3f80_8001)) == 0x3f81)
        #expect(HalfFloat.floatToBF16(Float(bitPattern: 0x7f80_0001)) == 0x7fc0)  // signalling NaN quieted
        #expect(HalfFloat.bf16ToFloat(0xc040) == -3)
    }

    @Test func float16IsIEEEWithQuietNaN() {
        #expect(HalfFloat.floatToF16(65504) == 0x7bff)
        #expect(HalfFloat.floatToF16(1e6) == 0x7c00)
        #expect(HalfFloat.floatToF16(-.nan) == 0xfe00)
        #expect(HalfFloat.f16ToFloat(0x0001) == Float(bitPattern: 0x3380_0000))  // smallest subnormal
    }

    @Test func float8DecodesLikeMLDtypes() throws {
        // expected/f8_*.npy hold the raw bytes, f8_*.f32.npy ml_dtypes' float32 values (scripts/gen_safetensors_fixtures.py).
        for (raw, decode) in [("f8_e4m3", HalfFloat.f8E4M3ToFloat), ("f8_e5m2", HalfFloat.f8E5M2ToFloat)] as [(String, (UInt8) -> Float)] {
            let bytes = try NpyFile(path: Fixtures.path("safetensors/expected/\(raw).npy")).payload
            let want = try NpyFile(path: Fixtures.path("safetensors/expected/\(raw).f32.npy")).floats
            #expect(bytes.map(decode) == want, "\(raw)")
        }
    }
}
