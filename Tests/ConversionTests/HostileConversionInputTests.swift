import Conversion
import Foundation
import GGUFWriter
import KilnCLI
import KilnCore
import KilnTestSupport
import Testing

/// Conversion inputs that once trapped (regressions of issue 11).
@Suite struct HostileConversionInputTests {
    /// `general.file_type` may be any integer type in a GGUF file; values that do not fit UInt32 trapped a rewrite
    /// (and a requantization with `--type auto`).
    @Test(arguments: [GGUFValue.uint64(1 << 40), .int64(-1), .int32(-7)])
    func fileTypeThatIsNotAUInt32(_ value: GGUFValue) throws {
        let dir = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir) }
        let input = dir + "/in.gguf"
        let w = try GGUFStreamWriter(path: input, metadata: [GGUFMetadataEntry("general.architecture", .string("gemma3")),
                                                            GGUFMetadataEntry("general.file_type", value)],
                                     tensors: [GGUFTensorInfo(name: "t.weight", ne: [32, 2], type: .f32)])
        try [Float](repeating: 0.5, count: 64).withUnsafeBytes { try w.write($0) }
        try w.finish()
        var o = ConvertOptions(output: dir + "/out.gguf")
        o.progress = false
        _ = try ConvertJob.run(input: input, options: o)
        #expect(try SHA256.hex(ofFile: o.output) == (try SHA256.hex(ofFile: input)), "the rewrite keeps the value")
        o.output = dir + "/q.gguf"
        o.embeddingType = "q8_0"   // --type auto with a type option: the preset comes from general.file_type
        _ = try? ConvertJob.run(input: input, options: o)
    }

    /// A checkpoint whose shapes hold no elements but absurd dimensions (safetensors shape [0, 2^33]) must be an
    /// error before any value reaches a UInt32 metadata field.
    @Test func absurdDimensionsInACheckpoint() throws {
        let dir = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir) }
        try FileManager.default.copyItem(atPath: Fixtures.path("gemma3/tiny-hf/tokenizer.model"), toPath: dir + "/tokenizer.model")
        let header = #"{"model.embed_tokens.weight":{"dtype":"F32","shape":[0,8589934592],"data_offsets":[0,0]},"#
            + #""model.layers.0.input_layernorm.weight":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"#
            + #""model.layers.0.self_attn.q_norm.weight":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"#
            + #""model.layers.0.self_attn.q_proj.weight":{"dtype":"F32","shape":[0,8589934592],"data_offsets":[0,0]}}"#
        var bytes = withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { Data($0) }
        bytes.append(Data(header.utf8))
        _ = FileManager.default.createFile(atPath: dir + "/model.safetensors", contents: bytes)
        var o = ConvertOptions(output: dir + "/out.gguf")
        o.progress = false
        #expect(throws: KilnError.self) { try ConvertJob.run(input: dir, options: o) }
    }
}
