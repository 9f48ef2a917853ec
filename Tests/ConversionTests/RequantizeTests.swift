import Conversion
import Foundation
import GGUFWriter
import KilnCLI
import KilnCore
import KilnTestSupport
import Testing

/// GGUF → GGUF against llama-quantize's own outputs for the real Gemma 3 270M file: the sha256 of every output must
/// equal the digest llama-quantize produced for the same source and type (fixtures/quant/requantize-270m.json,
/// written by scripts/gen_requantize_goldens.py). The F32 and F16 sources are made by Kiln here and are themselves
/// checked against llama-quantize's.
@Suite(RealModel.required("RequantizeTests"), .serialized)
struct RequantizeTests {
    static func digest(from: String, type: String) -> String? {
        let golden = try! Fixtures.json("quant/requantize-270m.json") as! [String: Any]
        return (golden["outputs"] as! [[String: Any]]).first { $0["from"] as? String == from && $0["type"] as? String == type }?["sha256"] as? String
    }

    static func requantize(_ input: String, _ type: String, to output: String, threads: Int = 2, allow: Bool = false) throws {
        var o = ConvertOptions(output: output)
        o.type = type
        o.threads = threads
        o.allowRequantize = allow
        o.progress = false
        _ = try ConvertJob.run(input: input, options: o)
    }

    @Test func fromTheOriginalQ4_K_M() throws {
        let dir = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir) }
        for type in ["Q8_0", "Q4_0"] {
            try Self.requantize(try RealModel.gemma270m(), type, to: dir + "/out.gguf", allow: true)
            #expect(try SHA256.hex(ofFile: dir + "/out.gguf") == Self.digest(from: "Q4_K_M", type: type), "\(type)")
        }
    }

    @Test(arguments: ["F32", "F16"])
    func fromFloatSources(_ source: String) throws {
        let dir = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir) }
        let src = dir + "/270m-\(source).gguf"
        try Self.requantize(try RealModel.gemma270m(), source, to: src, allow: true)
        #expect(try SHA256.hex(ofFile: src) == Self.digest(from: "Q4_K_M", type: source), "Kiln's \(source) file equals llama-quantize's")
        for type in ["Q8_0", "Q4_0", "Q4_K_M"] {
            try Self.requantize(src, type, to: dir + "/out.gguf")
            #expect(try SHA256.hex(ofFile: dir + "/out.gguf") == Self.digest(from: source, type: type), "\(source) → \(type)")
        }
        // Same bytes on one thread.
        try Self.requantize(src, "Q4_K_M", to: dir + "/one.gguf", threads: 1)
        #expect(try SHA256.hex(ofFile: dir + "/one.gguf") == Self.digest(from: source, type: "Q4_K_M"))
    }

    @Test func quantizedSourcesNeedAllowRequantize() throws {
        let dir = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir) }
        let source = try RealModel.gemma270m()
        #expect { try Self.requantize(source, "Q8_0", to: dir + "/out.gguf") } throws: { e in
            (e as? KilnError)?.message.contains("--allow-requantize") == true
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
    }
}

/// Requantization on a small committed file (no real model needed): mixes, pass-through, order, metadata.
@Suite struct SmallRequantizeTests {
    @Test func metadataKeysMoveToTheEndAndTypesFollowTheMix() throws {
        let dir = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir) }
        var o = ConvertOptions(output: dir + "/tiny.gguf")
        o.progress = false
        _ = try ConvertJob.run(input: Fixtures.path("gemma3/tiny-hf"), options: o)
        var r = ConvertOptions(output: dir + "/q8.gguf")
        r.progress = false
        r.type = "q8_0"
        r.allowRequantize = true
        _ = try ConvertJob.run(input: dir + "/tiny.gguf", options: r)
        let g = try GGUFFile(path: r.output)
        #expect(g.metadata.suffix(2).map(\.key) == ["general.quantization_version", "general.file_type"])
        #expect(g.metadata[key: "general.file_type"] == .uint32(7))
        #expect(try g.tensorInfo(named: "blk.0.attn_q.weight").type == .q8_0)
        #expect(try g.tensorInfo(named: "blk.0.attn_norm.weight").type == .f32)
        r.type = "Q9_K"
        #expect(throws: KilnError.self) { _ = try ConvertJob.run(input: dir + "/tiny.gguf", options: r) }
    }
}
