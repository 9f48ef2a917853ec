import Foundation
import KilnCLI
import KilnCore
import KilnTestSupport
import Testing
@testable import Verify

/// Issue 13 for Gemma 1 / CodeGemma (llama.cpp `gemma`): the tiny FLAT checkpoints written by gemma-llm 1.0.0
/// (fixtures/gemma1: 2B-style multi-query on the int4 grid, 7B-style fused `qkv_einsum`) → `convert` → `verify`
/// against the checkpoint itself. Bounds as in Gemma2VerifyTests: F32 holds the source's values exactly (only the
/// grouping of products differs); lossless Q4_0 differs by the fp16 rounding of each block's scale.
@Suite(.serialized)
struct Gemma1VerifyTests {
    @Test(arguments: [("tiny-2b", "f32", 1e-9), ("tiny-7b", "f32", 1e-9), ("tiny-2b", "auto", 1e-6)])
    func conversionVerifiesAgainstTheCheckpoint(_ fixture: String, _ type: String, _ maxKL: Double) throws {
        let out = try TinyModels.convertAndVerify(Fixtures.path("gemma1/\(fixture)"), type: type, label: "gemma1 \(fixture) \(type)")
        #expect(out.report.weights.meanKLD.value <= maxKL, "weights KL \(out.report.weights.meanKLD.value)")
        #expect(out.report.weights.sameTop.value == 1)
        #expect(out.passed, "\(out.failures)")
    }
}
