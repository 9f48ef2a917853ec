import Foundation
import GGUFWriter
import KilnCore
import KilnTestSupport
import Testing

/// The real Gemma 3 270M file written by llama.cpp (fetched by `make test`): our rewrite is byte-identical.
@Suite(RealModel.required("RealModelRewriteTests"))
struct RealModelRewriteTests {
    @Test func rewriteOfALlamaCppFileIsByteIdentical() throws {
        let path = try RealModel.gemma270m()
        let input = try GGUFFile(path: path)
        #expect(input.tensorInfos.count == 236)
        #expect(input.dataOffset == 6_525_120)
        let dir = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir) }
        let out = dir + "/rewrite.gguf"
        let w = try GGUFStreamWriter(path: out, metadata: input.metadata, tensors: input.tensorInfos, inputs: [path])
        for info in input.tensorInfos { try w.write(input.data(of: info)) }
        try w.finish()
        let copy = try MappedFile(path: out)
        #expect(copy.count == input.mapped.count)
        #expect(memcmp(copy.bytes.baseAddress!, input.mapped.bytes.baseAddress!, copy.count) == 0)
    }

    @Test func refusesToOverwriteItsInput() throws {
        let path = try RealModel.gemma270m()
        let input = try GGUFFile(path: path)
        #expect(throws: KilnError.self) {
            _ = try GGUFStreamWriter(path: path, metadata: input.metadata, tensors: input.tensorInfos, inputs: [path])
        }
    }
}
