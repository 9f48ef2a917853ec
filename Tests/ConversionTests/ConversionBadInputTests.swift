import Conversion
import Foundation
import KilnCLI
import KilnCore
import KilnTestSupport
import Testing

/// A source that hides or reshapes tensors of another, to exercise the checks that run before any data is read.
final class AlteredSource: TensorSource, @unchecked Sendable {
    let base: any TensorSource
    let tensors: [TensorInfo]
    var path: String { base.path }
    var formatName: String { base.formatName }

    init(_ base: any TensorSource, drop: String? = nil, reshape: (String, [Int])? = nil) {
        self.base = base
        tensors = base.tensors.compactMap { t in
            if t.name == drop { return nil }
            if let (n, s) = reshape, t.name == n { var c = t; c.shape = s; return c }
            return t
        }
    }

    func withBytes<R>(of tensor: TensorInfo, rows: Range<Int>, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try base.withBytes(of: tensor, rows: rows, body)
    }
}

@Suite struct ConversionBadInputTests {
    static let source = try! SourceOpener.open(Fixtures.path("gemma3/tiny-kaggle"))

    @Test func missingTensorIsNamed() {
        let s = AlteredSource(Self.source, drop: "transformer/layer_3/mlp/linear.w")
        #expect { _ = try Gemma3(source: s, vocabularySize: 400) } throws: { e in
            (e as? KilnError)?.tensor == "transformer/layer_3/mlp/linear.w" && (e as? KilnError)?.kind == .notFound
        }
    }

    /// A layer missing the norm the layer count used to stop at is an error, not a model cut short at that layer.
    @Test func aGapInTheLayersIsNamed() {
        let s = AlteredSource(Self.source, drop: "transformer/layer_2/pre_attention_norm.scale")
        #expect { _ = try Gemma3(source: s, vocabularySize: 400) } throws: { e in
            (e as? KilnError)?.tensor == "transformer/layer_2/pre_attention_norm.scale" && (e as? KilnError)?.kind == .notFound
        }
    }

    @Test func wrongShapeIsNamed() {
        let s = AlteredSource(Self.source, reshape: ("transformer/layer_2/attn/q_einsum.w", [2, 32, 64]))
        #expect { _ = try Gemma3(source: s, vocabularySize: 400) } throws: { e in
            (e as? KilnError)?.tensor == "transformer/layer_2/attn/q_einsum.w"
        }
    }

    @Test func tokenizerLargerThanTheEmbeddingIsRefused() {
        #expect(throws: KilnError.self) { _ = try Gemma3(source: Self.source, vocabularySize: 401) }
    }

    @Test func missingOrCorruptTokenizer() throws {
        let dir = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir) }
        var o = ConvertOptions(output: dir + "/out.gguf")
        o.progress = false
        o.tokenizer = dir + "/missing.model"
        #expect(throws: KilnError.self) { _ = try ConvertJob.run(input: Fixtures.path("gemma3/tiny-kaggle"), options: o) }
        _ = FileManager.default.createFile(atPath: dir + "/bad.model", contents: Data([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]))
        o.tokenizer = dir + "/bad.model"
        #expect { _ = try ConvertJob.run(input: Fixtures.path("gemma3/tiny-kaggle"), options: o) } throws: { e in
            (e as? KilnError)?.file == dir + "/bad.model"
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["bad.model"])
    }

    @Test func outputEqualToAnInputIsRefused() throws {
        let dir = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir) }
        try FileManager.default.copyItem(atPath: Fixtures.path("gemma3/tiny-hf"), toPath: dir + "/hf")
        let before = try Data(contentsOf: URL(fileURLWithPath: dir + "/hf/model.safetensors"))
        var o = ConvertOptions(output: dir + "/hf/model.safetensors")
        o.progress = false
        #expect(throws: KilnError.self) { _ = try ConvertJob.run(input: dir + "/hf", options: o) }
        o.output = dir + "/hf/tokenizer.model"
        #expect(throws: KilnError.self) { _ = try ConvertJob.run(input: dir + "/hf", options: o) }
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/hf/model.safetensors")) == before)
    }

    @Test func unknownTypesAreUsageErrors() {
        var o = ConvertOptions(output: "/tmp/never.gguf")
        o.type = "q9_9"
        #expect(throws: KilnError.self) { _ = try ConvertJob.run(input: Fixtures.path("gemma3/tiny-kaggle"), options: o) }
        o.type = "auto"
        o.tensorTypes = ["ffn=nope"]
        #expect(throws: KilnError.self) { _ = try ConvertJob.run(input: Fixtures.path("gemma3/tiny-kaggle"), options: o) }
    }
}
