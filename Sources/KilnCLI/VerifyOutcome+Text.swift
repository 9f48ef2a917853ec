import Foundation
import Verify

extension VerifyOutcome {
    /// The readable report: llama-perplexity's figures for both rows side by side, the chat check, the verdict.
    public var text: String {
        let r = report, w = r.weights
        let rows = Self.rows(w, r.runtime)
        var out = "verify \(r.sourcePath) → \(r.candidatePath)\n"
        out += "candidate class \(r.candidateClass.rawValue); \(r.sequences) sequences, \(r.tokens) tokens, "
            + "\(w.count) scored positions; \(String(format: "%.1f", r.seconds)) s\n"
        out += "time (wall s / CPU s): " + r.phases.map { "\($0.name) " + String(format: "%.1f / %.1f", $0.seconds, $0.cpuSeconds) }
            .joined(separator: ", ")
            + "; output matrices kept in memory: \(r.keptOutputMatrices)\n\n"
        out += TextTable.render(rows, header: ["", "weights (float32 path)", "runtime (llama.cpp numerics)"], rightAligned: [1, 2])
        let c = r.chat
        out += "\nchat check: \(c.prompt)\n"
        out += "  candidate (runtime): \(c.candidateReply.debugDescription)\n"
        out += "  source (float32):    " + (c.sourceReply.map { $0.debugDescription } ?? "(not generated: the source does not fit in memory)") + "\n"
        if let d = c.firstDivergence {
            out += "  first divergence at reply token \(d.index): source prefers \(d.sourcePiece.debugDescription) (p = "
                + String(format: "%.4f", d.sourceProbability) + "), candidate chose \(d.candidatePiece.debugDescription) (source p = "
                + String(format: "%.4f", d.candidateProbability) + ")\n"
        } else {
            out += "  identical: the source's greedy choice agrees at all \(c.candidateTokens.count) reply tokens\n"
        }
        if !images.isEmpty {
            out += "\nimage check: the source's vision tower (float32) vs \(mmproj ?? "the mmproj") (llama.cpp numerics)\n"
            for i in images {
                let a = i.agreement
                out += "  \(i.image): \(a.tokens) soft tokens, per-token cosine min " + String(format: "%.7f", a.minCosine)
                    + " mean " + String(format: "%.7f", a.meanCosine) + ", max |Δ| " + String(format: "%.4g", a.maxAbsDiff)
                    + " (max |source| " + String(format: "%.4g", a.maxAbsReference) + ")\n"
            }
        }
        if let t = imageTurns {
            out += "\nimage turns: \(t.turns) (one per image: the image, \(ImageTurns.question.debugDescription), a fixed answer); "
                + "\(t.weights.count) scored answer positions; source = its tower and text model in float32\n"
            out += TextTable.render(Self.rows(t.weights, t.runtime), header: ["image", "weights (float32 path)", "runtime (llama.cpp numerics)"],
                                    rightAligned: [1, 2])
        }
        out += "\nthresholds (\(r.candidateClass.rawValue) defaults unless given): weights mean KL ≤ \(String(format: "%g", thresholds.maxKL)), "
            + "weights top-1 ≥ \(String(format: "%g", thresholds.minTop1)), runtime mean KL ≤ \(String(format: "%g", thresholds.maxRuntimeKL))"
            + (images.isEmpty ? "" : ", image cosine ≥ \(String(format: "%g", minImageCosine))")
            + (imageTurns == nil ? "" : " (image turns: the same mean KL thresholds)") + ": "
            + (passed ? "PASS" : "FAIL") + "\n"
        return out
    }

    /// llama-perplexity's figures for a weights row and a runtime row side by side (the text table and the image table).
    static func rows(_ w: KLStatistics, _ rt: KLStatistics) -> [[String]] {
        func e(_ x: KLStatistics.Estimate, _ f: String = "%.6f") -> String {
            String(format: f, x.value) + " ± " + String(format: f, x.uncertainty)
        }
        func pct(_ x: KLStatistics.Estimate) -> String { String(format: "%.3f ± %.3f %%", 100 * x.value, 100 * x.uncertainty) }
        func f(_ x: Double, _ fmt: String = "%.6f") -> String { String(format: fmt, x) }
        // KL values span 1e-9 … 1: significant digits, not llama.cpp's fixed six decimals.
        var rows: [[String]] = [
            ["Mean KLD", e(w.meanKLD, "%.4g"), e(rt.meanKLD, "%.4g")],
            ["Maximum KLD", f(w.maxKLD, "%.4g"), f(rt.maxKLD, "%.4g")],
        ]
        for (i, (label, v)) in w.kldPercentiles.enumerated() {
            rows.append([label == "Median" ? "Median KLD" : "\(label) KLD", f(v, "%.4g"), f(rt.kldPercentiles[i].1, "%.4g")])
        }
        rows += [
            ["Minimum KLD", f(w.minKLD, "%.4g"), f(rt.minKLD, "%.4g")],
            ["Same top p", pct(w.sameTop), pct(rt.sameTop)],
            ["Top-5 overlap (of 5)", f(w.top5Overlap, "%.3f"), f(rt.top5Overlap, "%.3f")],
            ["Max |Δlogit|", f(w.maxAbsLogitDiff, "%.4g"), f(rt.maxAbsLogitDiff, "%.4g")],
            ["Mean PPL(candidate)", e(w.pplCandidate), e(rt.pplCandidate)],
            ["Mean PPL(source)", e(w.pplSource), e(rt.pplSource)],
            ["PPL(candidate)/PPL(source)", e(w.pplRatio), e(rt.pplRatio)],
            ["Cor(ln PPL)", f(100 * w.lnPPLCorrelation, "%.2f%%"), f(100 * rt.lnPPLCorrelation, "%.2f%%")],
            ["Mean Δp", pct(w.meanPDiff), pct(rt.meanPDiff)],
            ["RMS Δp", pct(w.rmsPDiff), pct(rt.rmsPDiff)],
            ["Maximum Δp", f(100 * w.maxPDiff, "%.3f%%"), f(100 * rt.maxPDiff, "%.3f%%")],
        ]
        for (i, (label, v)) in w.pDiffPercentiles.enumerated() {
            rows.append([label == "Median" ? "Median Δp" : "\(label) Δp", f(100 * v, "%.3f%%"), f(100 * rt.pDiffPercentiles[i].1, "%.3f%%")])
        }
        rows.append(["Minimum Δp", f(100 * w.minPDiff, "%.3f%%"), f(100 * rt.minPDiff, "%.3f%%")])
        return rows
    }
}
