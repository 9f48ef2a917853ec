import Foundation
import KilnCLI
import KilnCore
import KilnTestSupport
import Testing
@testable import Verify

/// Issue 13's "must show": a fine-tune saved by Google's `gemma` library (NESTED tree, bfloat16) and a Kauldron trainer
/// checkpoint (fixtures/gemma-lib, written by those libraries) → `convert` with `--type auto` (BF16, the checkpoint's
/// own values) → `verify` against the checkpoint itself: the weights row is zero up to float summation order.
@Suite(.serialized)
struct FineTuneVerifyTests {
    /// The candidate holds exactly the source's values, so both sides run identical float32 weights; the only
    /// difference is how products are grouped into batches on the two sides (see RealModelVerifyTests: a GGUF against
    /// itself measured KL 1.2e-12), hence ≤ 1e-9 rather than 0.
    static let maxKL = 1e-9

    @Test(arguments: ["tiny-nested", "tiny-kauldron"])
    func bf16ConversionOfAFineTuneVerifiesAsExact(_ name: String) throws {
        let out = try TinyModels.convertAndVerify(Fixtures.path("gemma-lib/\(name)"), label: name)
        #expect(out.report.candidateClass == .float)
        #expect(out.report.weights.meanKLD.value <= Self.maxKL)
        #expect(out.report.weights.sameTop.value == 1)
        #expect(out.passed, "\(out.failures)")
    }
}
