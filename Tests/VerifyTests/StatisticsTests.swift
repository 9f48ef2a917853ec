import Foundation
import KilnTestSupport
import Testing
@testable import Verify

/// The statistics against numpy: fixtures/verify/stats-golden.json was computed from the logit pairs in
/// stats-logits.npy by scripts/gen_verify_stats_golden.py (numpy 2.4.6, float64), independently of this code.
struct StatisticsTests {
    @Test func matchesNumpy() throws {
        let npy = try NpyFile(path: Fixtures.path("verify/stats-logits.npy"))
        let golden = try Fixtures.json("verify/stats-golden.json") as! [String: Any]
        let n = npy.shape[0], V = npy.shape[2]
        let logits = npy.floats
        let targets = golden["targets"] as! [Int]
        let rows = (0 ..< n).map { i in
            logits.withUnsafeBufferPointer { b in
                PositionComparison(source: UnsafeBufferPointer(rebasing: b[(2 * i) * V ..< (2 * i + 1) * V]),
                                   candidate: UnsafeBufferPointer(rebasing: b[(2 * i + 1) * V ..< (2 * i + 2) * V]),
                                   target: targets[i])
            }
        }
        let s = KLStatistics(rows)
        // Both sides sum the same float32 values in float64; only summation order differs, so 1e-9 relative
        // (plus 1e-12 absolute for values near zero) is far above rounding and far below any formula mistake.
        func close(_ a: Double, _ key: String, _ sub: String? = nil) {
            let g = sub.map { (golden[key] as! [String: Double])[$0]! } ?? (golden[key] as! Double)
            #expect(abs(a - g) <= 1e-9 * abs(g) + 1e-12, "\(key) \(sub ?? ""): \(a) vs numpy \(g)")
        }
        #expect(s.count == golden["count"] as! Int)
        close(s.meanKLD.value, "kl_mean"); close(s.meanKLD.uncertainty, "kl_mean_unc")
        close(s.maxKLD, "kl_max"); close(s.minKLD, "kl_min")
        for (label, v) in s.kldPercentiles { close(v, "kl_percentiles", label) }
        close(s.pplCandidate.value, "ppl_candidate"); close(s.pplCandidate.uncertainty, "ppl_candidate_unc")
        close(s.pplSource.value, "ppl_source"); close(s.pplSource.uncertainty, "ppl_source_unc")
        close(s.lnPPLCorrelation, "ln_ppl_correlation")
        close(s.lnPPLRatio.value, "ln_ppl_ratio"); close(s.lnPPLRatio.uncertainty, "ln_ppl_ratio_unc")
        close(s.pplRatio.value, "ppl_ratio")
        close(s.meanPDiff.value, "p_diff_mean"); close(s.meanPDiff.uncertainty, "p_diff_mean_unc")
        close(s.maxPDiff, "p_diff_max"); close(s.minPDiff, "p_diff_min")
        for (label, v) in s.pDiffPercentiles { close(v, "p_diff_percentiles", label) }
        close(s.rmsPDiff.value, "rms_p_diff"); close(s.rmsPDiff.uncertainty, "rms_p_diff_unc")
        close(s.sameTop.value, "same_top"); close(s.sameTop.uncertainty, "same_top_unc")
        close(s.top5Overlap, "top5_overlap")
        close(s.maxAbsLogitDiff, "max_abs_logit_diff")
    }

    /// Identical rows: zero KL, full agreement, ratio 1.
    @Test func identicalRowsAgreeExactly() {
        let row: [Float] = (0 ..< 300).map { Float(($0 * 37) % 101) / 7 }
        let p = row.withUnsafeBufferPointer { PositionComparison(source: $0, candidate: $0, target: 5) }
        #expect(abs(p.kld) < 1e-12)
        #expect(p.sameTop && p.top5Overlap == 5 && p.maxAbsLogitDiff == 0 && p.pDiff == 0)
        let s = KLStatistics(Array(repeating: p, count: 20))
        #expect(s.sameTop.value == 1 && s.pplRatio.value == 1)
    }

    /// ggml's nearest_int rounds half to even, like rintf.
    @Test func nearestIntIsGgmls() {
        for (f, i) in [(0.5, 0), (1.5, 2), (2.5, 2), (65534.6, 65535), (3.49, 3)] as [(Float, Int32)] {
            #expect(KLBaseFile.nearestInt(f) == i, "\(f)")
        }
    }
}
