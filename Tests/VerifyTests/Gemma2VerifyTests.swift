import Foundation
import KilnCLI
import KilnCore
import KilnTestSupport
import Testing
@testable import Verify

/// Issue 13's "must show" for Gemma 2: the tiny FLAT checkpoint written by the `gemma` library (fixtures/gemma2) →
/// `convert` → `verify` against the checkpoint itself, and the NESTED bfloat16 fine-tune the same way. The source side
/// is the checkpoint's own float32 forward pass (Kiln's engine on the converter's mapping), the candidate the GGUF.
@Suite(.serialized)
struct Gemma2VerifyTests {
    /// F32 and BF16 (the NESTED tree's own values) candidates hold exactly the source's values: only the grouping of
    /// products differs between the two sides (FineTuneVerifyTests' bound). Lossless Q4_0 differs by the fp16 rounding
    /// of each block's scale (≤ 0.00042 relative here): measured weights mean KL 6.5e-8 (F32 and BF16: 0), bounded at
    /// 1e-6 — a wrong window, soft-cap or norm moves it by orders of magnitude more (the window-8 and 4096-window
    /// logits of the same weights differ by up to 1.25 in log-sum-exp).
    @Test(arguments: [("tiny-flat", "f32", 1e-9), ("tiny-nested", "auto", 1e-9), ("tiny-flat", "auto", 1e-6)])
    func conversionVerifiesAgainstTheCheckpoint(_ fixture: String, _ type: String, _ maxKL: Double) throws {
        let out = try TinyModels.convertAndVerify(Fixtures.path("gemma2/\(fixture)"), type: type, label: "gemma2 \(fixture) \(type)")
        #expect(out.report.weights.meanKLD.value <= maxKL)
        #expect(out.report.weights.sameTop.value == 1)
        #expect(out.passed, "\(out.failures)")
    }
}
