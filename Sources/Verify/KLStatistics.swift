import Foundation

/// The figures `llama-perplexity --kl-divergence` prints, from a list of per-position comparisons, with its exact
/// formulas (tools/perplexity/perplexity.cpp: `mean_and_uncertainty`, `covariance`, `percentile`, the median, the
/// Δp RMS and "same top p" uncertainties), plus Kiln's top-5 overlap and max |Δlogit|.
public struct KLStatistics: Sendable, Equatable {
    /// A value with llama.cpp's ± (standard error of the mean; 0 below 11 samples).
    public struct Estimate: Sendable, Equatable {
        public var value: Double
        public var uncertainty: Double
    }

    public var count: Int
    public var meanKLD: Estimate
    public var maxKLD: Double
    /// KLD at 99.9, 99, 95, 90 %, median, 10, 5, 1, 0.1 % (llama.cpp's order) and the minimum.
    public var kldPercentiles: [(String, Double)]
    public var minKLD: Double
    public var pplCandidate: Estimate
    public var pplSource: Estimate
    /// Correlation of ln PPL(candidate) and ln PPL(source) per position (llama's "Cor(ln(PPL(Q)), ln(PPL(base)))").
    public var lnPPLCorrelation: Double
    public var lnPPLRatio: Estimate
    public var pplRatio: Estimate
    public var pplDifference: Estimate
    public var meanPDiff: Estimate
    public var maxPDiff: Double
    /// Δp at 99.9, 99, 95, 90, 75 %, median, 25, 10, 5, 1, 0.1 %.
    public var pDiffPercentiles: [(String, Double)]
    public var minPDiff: Double
    public var rmsPDiff: Estimate
    /// Fraction of positions whose argmax agrees ("Same top p").
    public var sameTop: Estimate
    /// Mean count (of 5) of the source's top-5 tokens among the candidate's top 5.
    public var top5Overlap: Double
    public var maxAbsLogitDiff: Double

    public static func == (a: KLStatistics, b: KLStatistics) -> Bool {
        a.count == b.count && a.meanKLD == b.meanKLD && a.maxKLD == b.maxKLD && a.minKLD == b.minKLD
            && a.kldPercentiles.map(\.1) == b.kldPercentiles.map(\.1) && a.pDiffPercentiles.map(\.1) == b.pDiffPercentiles.map(\.1)
            && a.pplCandidate == b.pplCandidate && a.pplSource == b.pplSource && a.sameTop == b.sameTop
            && a.top5Overlap == b.top5Overlap && a.maxAbsLogitDiff == b.maxAbsLogitDiff && a.rmsPDiff == b.rmsPDiff
    }

    /// The KLD percentile with llama.cpp's label, e.g. `kld(at: "99.0%")`.
    public func kld(at label: String) -> Double? { kldPercentiles.first { $0.0 == label }?.1 }

    public init(_ positions: [PositionComparison]) {
        let n = positions.count
        var sumNLL = 0.0, sumNLL2 = 0.0, sumBase = 0.0, sumBase2 = 0.0, sumCross = 0.0
        var sumKLD = 0.0, sumKLD2 = 0.0, sumPD = 0.0, sumPD2 = 0.0, sumPD4 = 0.0
        var same = 0, top5 = 0, maxLogit = 0.0
        for p in positions {
            sumNLL += p.nll; sumNLL2 += p.nll * p.nll
            sumBase += p.nllBase; sumBase2 += p.nllBase * p.nllBase
            sumCross += p.nll * p.nllBase
            sumKLD += p.kld; sumKLD2 += p.kld * p.kld
            sumPD += p.pDiff
            let pd2 = p.pDiff * p.pDiff
            sumPD2 += pd2; sumPD4 += pd2 * pd2
            if p.sameTop { same += 1 }
            top5 += p.top5Overlap
            maxLogit = max(maxLogit, p.maxAbsLogitDiff)
        }
        count = n
        let kl = positions.map(\.kld).sorted(), pd = positions.map(\.pDiff).sorted()
        meanKLD = Self.meanAndUncertainty(sumKLD, sumKLD2, n)
        maxKLD = kl.last ?? 0
        minKLD = kl.first ?? 0
        kldPercentiles = [("99.9%", Self.percentile(kl, 0.999)), ("99.0%", Self.percentile(kl, 0.99)),
                          ("95.0%", Self.percentile(kl, 0.95)), ("90.0%", Self.percentile(kl, 0.9)),
                          ("Median", Self.median(kl)), ("10.0%", Self.percentile(kl, 0.1)),
                          ("5.0%", Self.percentile(kl, 0.05)), ("1.0%", Self.percentile(kl, 0.01)),
                          ("0.1%", Self.percentile(kl, 0.001))]
        let logPPL = Self.meanAndUncertainty(sumNLL, sumNLL2, n)
        let logBase = Self.meanAndUncertainty(sumBase, sumBase2, n)
        pplCandidate = Estimate(value: exp(logPPL.value), uncertainty: exp(logPPL.value) * logPPL.uncertainty)
        pplSource = Estimate(value: exp(logBase.value), uncertainty: exp(logBase.value) * logBase.uncertainty)
        let cov = Self.covariance(sumNLL, sumBase, sumCross, n)
        let denom = logPPL.uncertainty * logBase.uncertainty
        lnPPLCorrelation = denom > 0 ? cov / denom : 0
        let ratioUnc = (logPPL.uncertainty * logPPL.uncertainty + logBase.uncertainty * logBase.uncertainty - 2 * cov)
        lnPPLRatio = Estimate(value: logPPL.value - logBase.value, uncertainty: ratioUnc > 0 ? ratioUnc.squareRoot() : 0)
        pplRatio = Estimate(value: exp(lnPPLRatio.value), uncertainty: exp(lnPPLRatio.value) * lnPPLRatio.uncertainty)
        let pplCov = pplCandidate.value * pplSource.value * cov
        let diffUnc = pplCandidate.uncertainty * pplCandidate.uncertainty + pplSource.uncertainty * pplSource.uncertainty - 2 * pplCov
        pplDifference = Estimate(value: pplCandidate.value - pplSource.value, uncertainty: diffUnc > 0 ? diffUnc.squareRoot() : 0)
        meanPDiff = Self.meanAndUncertainty(sumPD, sumPD2, n)
        maxPDiff = pd.last ?? 0
        minPDiff = pd.first ?? 0
        pDiffPercentiles = [("99.9%", Self.percentile(pd, 0.999)), ("99.0%", Self.percentile(pd, 0.99)),
                            ("95.0%", Self.percentile(pd, 0.95)), ("90.0%", Self.percentile(pd, 0.9)),
                            ("75.0%", Self.percentile(pd, 0.75)), ("Median", Self.median(pd)),
                            ("25.0%", Self.percentile(pd, 0.25)), ("10.0%", Self.percentile(pd, 0.1)),
                            ("5.0%", Self.percentile(pd, 0.05)), ("1.0%", Self.percentile(pd, 0.01)),
                            ("0.1%", Self.percentile(pd, 0.001))]
        let mse = Self.meanAndUncertainty(sumPD2, sumPD4, n)
        let rms = mse.value.squareRoot()
        rmsPDiff = Estimate(value: rms, uncertainty: rms > 0 ? 0.5 / rms * mse.uncertainty : 0)
        let top = n > 0 ? Double(same) / Double(n) : 0
        sameTop = Estimate(value: top, uncertainty: n > 1 ? (top * (1 - top) / Double(n - 1)).squareRoot() : 0)
        top5Overlap = n > 0 ? Double(top5) / Double(n) : 0
        maxAbsLogitDiff = maxLogit
    }

    /// llama.cpp: mean, and sqrt(var / (n − 1)) when the variance is positive and n > 10 (else 0).
    static func meanAndUncertainty(_ sum: Double, _ sum2: Double, _ n: Int) -> Estimate {
        guard n >= 1 else { return Estimate(value: 0, uncertainty: 0) }
        let f = sum / Double(n)
        let v = sum2 / Double(n) - f * f
        return Estimate(value: f, uncertainty: v > 0 && n > 10 ? (v / Double(n - 1)).squareRoot() : 0)
    }

    /// llama.cpp: (Σab/n − Σa/n · Σb/n) / (n − 1), 0 below 10 samples.
    static func covariance(_ a: Double, _ b: Double, _ ab: Double, _ n: Int) -> Double {
        guard n >= 10 else { return 0 }
        let nd = Double(n)
        return (ab / nd - (a / nd) * (b / nd)) / (nd - 1)
    }

    /// llama.cpp: linear interpolation at fraction·(n − 1) of the sorted values.
    static func percentile(_ v: [Double], _ fraction: Double) -> Double {
        guard !v.isEmpty else { return 0 }
        if fraction <= 0 { return v[0] }
        if fraction >= 1 { return v[v.count - 1] }
        var p = fraction * Double(v.count - 1)
        let ip = Int(p)
        p -= Double(ip)
        return (1 - p) * v[ip] + p * v[min(ip + 1, v.count - 1)]
    }

    static func median(_ v: [Double]) -> Double {
        guard !v.isEmpty else { return 0 }
        return v.count % 2 == 0 ? 0.5 * (v[v.count / 2] + v[v.count / 2 - 1]) : v[v.count / 2]
    }
}
