#if canImport(Glibc)
import Glibc
#endif

/// One vocabulary row's log-softmax summary: what both sides of a comparison need from a row.
struct LogSoftmaxRow {
    /// Index of the largest logit (the first one on ties, as llama-perplexity's scan).
    var argmax: Int
    /// log Σ exp(logit) (the max included), in double.
    var logSumExp: Double

    init(_ l: UnsafeBufferPointer<Float>) {
        let (best, m) = Self.argmax(l)
        var sum = 0.0
        for v in l { sum += exp(Double(v) - m) }
        argmax = best
        logSumExp = m + log(sum)
    }

    init(argmax: Int, logSumExp: Double) {
        self.argmax = argmax
        self.logSumExp = logSumExp
    }

    /// The first index of the largest value, and that value.
    static func argmax(_ l: UnsafeBufferPointer<Float>) -> (Int, Double) {
        var best = 0
        var mx = l[0]
        for i in 1 ..< l.count where l[i] > mx { mx = l[i]; best = i }
        return (best, Double(mx))
    }
}

/// The source side of a position, computed once and compared with any number of candidate rows: its
/// log-softmax summary, probabilities and top 5.
struct SourceRow {
    var logits: UnsafeBufferPointer<Float>
    var summary: LogSoftmaxRow
    var probabilities: [Double]
    var top5: [Int]

    /// One pass of `exp` serves both the log-sum-exp (summed in the same order as `LogSoftmaxRow`) and the
    /// probabilities (exp(l − max) / Σ, within an ulp of exp(l − LSE)): the exponentials are most of a comparison's time.
    init(_ l: UnsafeBufferPointer<Float>) {
        logits = l
        let (best, m) = LogSoftmaxRow.argmax(l)
        var p = [Double](repeating: 0, count: l.count)
        var sum = 0.0
        for i in 0 ..< l.count {
            p[i] = exp(Double(l[i]) - m)
            sum += p[i]
        }
        let inv = 1 / sum
        for i in 0 ..< p.count { p[i] *= inv }
        summary = LogSoftmaxRow(argmax: best, logSumExp: m + log(sum))
        probabilities = p
        top5 = PositionComparison.top5(l)
    }
}

/// The figures of one scored position, comparing the candidate's logits with the source's (the "base" in
/// llama-perplexity's `--kl-divergence` mode): per position exactly what its `log_softmax(..., kld)` computes,
/// but from full-precision log-probabilities (llama.cpp reads the base back from 16-bit codes and skips base
/// log-probabilities below −16), plus top-5 overlap and the largest logit difference.
public struct PositionComparison: Sendable, Equatable {
    /// KL(source ‖ candidate) = Σ p_source · (log p_source − log p_candidate).
    public var kld: Double
    /// −log p_candidate(next token).
    public var nll: Double
    /// −log p_source(next token).
    public var nllBase: Double
    /// p_candidate(next) − p_source(next).
    public var pDiff: Double
    /// Both argmaxes are the same token.
    public var sameTop: Bool
    /// How many of the source's five most likely tokens are among the candidate's five.
    public var top5Overlap: Int
    /// max over the vocabulary of |logit_candidate − logit_source|.
    public var maxAbsLogitDiff: Double
    /// The argmaxes (source, candidate).
    public var sourceTop: Int
    public var candidateTop: Int

    /// Compares two logit rows of the same length for the position whose next token is `target`.
    public init(source s: UnsafeBufferPointer<Float>, candidate c: UnsafeBufferPointer<Float>, target: Int) {
        self.init(source: SourceRow(s), candidate: c, target: target)
    }

    init(source row: SourceRow, candidate c: UnsafeBufferPointer<Float>, target: Int) {
        let s = row.logits, rs = row.summary, rc = LogSoftmaxRow(c)
        // KL = Σ p_s (l_s − l_c) − (LSE_s − LSE_c).
        var weighted = 0.0, maxDiff = 0.0
        row.probabilities.withUnsafeBufferPointer { p in
            for i in 0 ..< s.count {
                let d = Double(s[i]) - Double(c[i])
                weighted += p[i] * d
                maxDiff = max(maxDiff, abs(d))
            }
        }
        kld = weighted - (rs.logSumExp - rc.logSumExp)
        nll = rc.logSumExp - Double(c[target])
        nllBase = rs.logSumExp - Double(s[target])
        pDiff = exp(-nll) - exp(-nllBase)
        sourceTop = rs.argmax
        candidateTop = rc.argmax
        sameTop = rs.argmax == rc.argmax
        maxAbsLogitDiff = maxDiff
        let tc = Self.top5(c)
        top5Overlap = row.top5.filter { tc.contains($0) }.count
    }

    /// The five largest indices (ties to the lower index).
    static func top5(_ x: UnsafeBufferPointer<Float>) -> [Int] {
        var best: [Int] = []
        best.reserveCapacity(6)
        for i in 0 ..< x.count {
            if best.count == 5, x[i] <= x[best[4]] { continue }
            var j = best.count
            while j > 0, x[best[j - 1]] < x[i] { j -= 1 }
            best.insert(i, at: j)
            if best.count > 5 { best.removeLast() }
        }
        return best
    }
}
