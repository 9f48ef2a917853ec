import Conversion
import Foundation
import GGUFWriter
import KilnCLI
import KilnCore
import KilnTestSupport
import Testing

/// Inputs are never modified, and the same conversion gives the same bytes every time and on any thread count.
@Suite struct InputsAndDeterminismTests {
    /// SHA-256 and size of every file under `path` (a file or a directory).
    static func digests(_ path: String) throws -> [String: String] {
        var out: [String: String] = [:]
        var files = [path]
        if FileIdentity.isDirectory(path) {
            files = (FileManager.default.enumerator(atPath: path)?.allObjects as? [String] ?? [])
                .map { path + "/" + $0 }.filter { !FileIdentity.isDirectory($0) }
        }
        for f in files { out[f] = try SHA256.hex(ofFile: f) }
        return out
    }

    static func convert(_ input: String, to output: String, threads: Int, _ configure: (inout ConvertOptions) -> Void = { _ in }) throws {
        var o = ConvertOptions(output: output)
        o.progress = false
        o.threads = threads
        o.modelName = "m"
        configure(&o)
        _ = try ConvertJob.run(input: input, options: o)
    }

    static let checkpoints = ["gemma3/tiny-kaggle", "gemma3/tiny-hf", "gemma3/tiny-kaggle-vision", "gemma3/tiny-hf-vision",
                              "gemma2/tiny-flat", "gemma2/tiny-nested", "llama-converter/gemma2-tiny"]

    @Test(arguments: checkpoints)
    func checkpointsAreUntouchedAndOutputsIdentical(_ name: String) throws {
        let input = Fixtures.path(name)
        let before = try Self.digests(input)
        let dir = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir) }
        try Self.convert(input, to: dir + "/a.gguf", threads: 1)
        try Self.convert(input, to: dir + "/b.gguf", threads: 2)
        try Self.convert(input, to: dir + "/c.gguf", threads: 2)
        // Inspect-style reads (every tensor's statistics) touch every byte of the source too.
        let source = try SourceOpener.open(input)
        for t in source.tensors { _ = try TensorStats.of(source, t) }
        #expect(try Self.digests(input) == before, "the input changed")
        let a = try SHA256.hex(ofFile: dir + "/a.gguf")
        #expect(try SHA256.hex(ofFile: dir + "/b.gguf") == a, "--threads 1 vs 2")
        #expect(try SHA256.hex(ofFile: dir + "/c.gguf") == a, "the same conversion twice")
        if FileManager.default.fileExists(atPath: dir + "/mmproj-a.gguf") {
            let m = try SHA256.hex(ofFile: dir + "/mmproj-a.gguf")
            #expect(try SHA256.hex(ofFile: dir + "/mmproj-b.gguf") == m)
            #expect(try SHA256.hex(ofFile: dir + "/mmproj-c.gguf") == m)
        }
    }

    @Test func ggufInputsAreUntouchedAndRequantizingIsDeterministic() throws {
        let dir = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir) }
        try Self.convert(Fixtures.path("gemma3/tiny-kaggle"), to: dir + "/in.gguf", threads: 2) { $0.type = "f32" }
        let before = try Self.digests(dir + "/in.gguf")
        for (i, threads) in [1, 2, 2].enumerated() {
            try Self.convert(dir + "/in.gguf", to: dir + "/q\(i).gguf", threads: threads) { $0.type = "Q4_K_M" }
            try Self.convert(dir + "/in.gguf", to: dir + "/r\(i).gguf", threads: threads)
        }
        #expect(try Self.digests(dir + "/in.gguf") == before)
        #expect(Set(try (0 ..< 3).map { try SHA256.hex(ofFile: dir + "/q\($0).gguf") }).count == 1)
        #expect(Set(try (0 ..< 3).map { try SHA256.hex(ofFile: dir + "/r\($0).gguf") }).count == 1)
        #expect(try SHA256.hex(ofFile: dir + "/r0.gguf") == before[dir + "/in.gguf"], "a rewrite is byte-identical")
    }

    /// `convert --checksum` writes sha256sum-format sidecars for the model and the mmproj; they verify, and a
    /// changed byte is detected.
    @Test func checksumSidecars() throws {
        let dir = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir) }
        try Self.convert(Fixtures.path("gemma3/tiny-kaggle-vision"), to: dir + "/v.gguf", threads: 2) { $0.checksum = true }
        for f in ["v.gguf", "mmproj-v.gguf"] {
            let sidecar = try String(contentsOfFile: dir + "/" + f + ".sha256", encoding: .utf8)
            #expect(sidecar == (try SHA256.hex(ofFile: dir + "/" + f)) + "  " + f + "\n")
            #expect(try ChecksumFile.verify(dir + "/" + f).matches)
        }
        let h = try FileHandle(forUpdating: URL(fileURLWithPath: dir + "/v.gguf"))
        try h.seek(toOffset: 100)
        let byte = try h.read(upToCount: 1)!
        try h.seek(toOffset: 100)
        h.write(Data([byte[0] ^ 1]))
        try h.close()
        #expect(try !ChecksumFile.verify(dir + "/v.gguf").matches)
    }
}

/// The real 270M file: requantized on 1 and 2 threads (identical bytes), and left untouched.
@Suite(RealModel.required("RealModelDeterminismTests")) struct RealModelDeterminismTests {
    @Test func requantizeIsDeterministic() throws {
        let input = try RealModel.gemma270m()
        let before = try SHA256.hex(ofFile: input)
        let dir = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir) }
        for threads in [1, 2] {
            try InputsAndDeterminismTests.convert(input, to: dir + "/q\(threads).gguf", threads: threads) { $0.type = "Q8_0"; $0.allowRequantize = true }
        }
        #expect(try SHA256.hex(ofFile: dir + "/q1.gguf") == (try SHA256.hex(ofFile: dir + "/q2.gguf")))
        #expect(try SHA256.hex(ofFile: input) == before)
    }
}
