import CKernels
#if canImport(Glibc)
import Glibc
#endif

/// One vocabulary row's log-softmax summary: what both sides of a comparison need from a row.
struct LogSoftmaxRow {
    /// Index of the largest logit (the first one on ties, as llama-perplexity's scan).
    var argmax: Int
    /// The largest logit.
    var max: Float
    /// log Σ exp(logit) (the max included), in double.
    var logSumExp: Double

    init(_ l: UnsafeBufferPointer<Float>) {
        (argmax, max) = Self.argmax(l)
        logSumExp = Double(max) + log(ck_row_sumexp(l.baseAddress!, Int64(l.count), max, nil))
    }

    init(argmax: Int, max: Float, logSumExp: Double) {
        self.argmax = argmax
        self.max = max
        self.logSumExp = logSumExp
    }

    /// The first index of the largest value, and that value.
    static func argmax(_ l: UnsafeBufferPointer<Float>) -> (Int, Float) {
        var best: Int64 = 0
        var mx: Float = 0
        ck_row_argmax(l.baseAddress!, Int64(l.count), &best, &mx)
        return (Int(best), mx)
    }
}

/// The source side of a position, computed once and compared with any number of candidate rows: its
/// log-softmax summary, the terms exp(l − max) and their sum, and its top 5.
struct SourceRow {
    var logits: UnsafeBufferPointer<Float>
    var summary: LogSoftmaxRow
    /// exp(l_i − max), in caller-owned scratch of `logits.count` doubles.
    var exps: UnsafeMutableBufferPointer<Double>
    /// Σ exps.
    var sumExp: Double
    var top5: [Int]

    /// One pass of `exp` serves both the log-sum-exp and the probabilities (exps / Σ): the exponentials are most of a
    /// comparison's time. `scratch` must hold `l.count` doubles and outlive the row.
    init(_ l: UnsafeBufferPointer<Float>, scratch: UnsafeMutableBufferPointer<Double>) {
        precondition(scratch.count >= l.count, "scratch smaller than the row")
        logits = l
        let (best, m) = LogSoftmaxRow.argmax(l)
        exps = UnsafeMutableBufferPointer(rebasing: scratch[0 ..< l.count])
        sumExp = ck_row_sumexp(l.baseAddress!, Int64(l.count), m, exps.baseAddress!)
        summary = LogSoftmaxRow(argmax: best, max: m, logSumExp: Double(m) + log(sumExp))
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
        let scratch = UnsafeMutableBufferPointer<Double>.allocate(capacity: s.count)
        defer { scratch.deallocate() }
        self.init(source: SourceRow(s, scratch: scratch), candidate: c, target: target)
    }

    init(source row: SourceRow, candidate c: UnsafeBufferPointer<Float>, target: Int) {
        let s = row.logits, rs = row.summary
        precondition(c.count == s.count, "rows of different lengths")
        let (cBest, cMax) = LogSoftmaxRow.argmax(c)
        // KL = Σ p_s (l_s − l_c) − (LSE_s − LSE_c), with p_s = exps / Σ exps.
        var weighted = 0.0, cSum = 0.0, maxDiff = 0.0
        ck_row_kl(row.exps.baseAddress!, s.baseAddress!, c.baseAddress!, Int64(s.count), cMax, &weighted, &cSum, &maxDiff)
        let rc = LogSoftmaxRow(argmax: cBest, max: cMax, logSumExp: Double(cMax) + log(cSum))
        kld = weighted / row.sumExp - (rs.logSumExp - rc.logSumExp)
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
        var best = [Int64](repeating: 0, count: 5)
        let n = best.withUnsafeMutableBufferPointer { ck_row_top5(x.baseAddress!, Int64(x.count), $0.baseAddress!) }
        return best.prefix(Int(n)).map { Int($0) }
    }
}
