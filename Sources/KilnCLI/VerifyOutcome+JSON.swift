import KilnCore
import Verify

extension VerifyOutcome {
    /// The `--json` document (keys documented in the README's "verify" section).
    public var json: JSONValue {
        let r = report
        return .object([
            ("source", .string(r.sourcePath)),
            ("candidate", .string(r.candidatePath)),
            ("candidate_class", .string(r.candidateClass.rawValue)),
            ("sequences", .int(r.sequences)),
            ("tokens_run", .int(r.tokens)),
            ("weights", Self.row(r.weights)),
            ("runtime", Self.row(r.runtime)),
            ("chat_check", Self.chat(r.chat)),
            ("images", .array(images.map { i in
                .object([("image", .string(i.image)), ("mmproj", mmproj.map { .string($0) } ?? .null),
                         ("tokens", .int(i.agreement.tokens)), ("min_cosine", .double(i.agreement.minCosine)),
                         ("mean_cosine", .double(i.agreement.meanCosine)), ("max_abs_diff", .double(i.agreement.maxAbsDiff)),
                         ("max_abs_source", .double(i.agreement.maxAbsReference))])
            })),
            ("image", imageTurns.map { t in
                .object([("turns", .int(t.turns)), ("weights", Self.row(t.weights)), ("runtime", Self.row(t.runtime))])
            } ?? .null),
            ("thresholds", .object([("max_kl", .double(thresholds.maxKL)), ("min_top1", .double(thresholds.minTop1)),
                                    ("max_runtime_kl", .double(thresholds.maxRuntimeKL)),
                                    ("min_image_cosine", images.isEmpty ? .null : .double(minImageCosine))])),
            ("pass", .bool(passed)),
            ("failures", .array(failures.map { .string($0) })),
            ("seconds", .double(r.seconds)),
            ("phases", .array(r.phases.map {
                .object([("phase", .string($0.name)), ("seconds", .double($0.seconds)), ("cpu_seconds", .double($0.cpuSeconds))])
            })),
            ("kept_output_matrices", .int(r.keptOutputMatrices)),
        ])
    }

    static func key(_ label: String) -> String {
        switch label {
        case "Median": "median"
        // "99.9%" → p999, "99.0%" → p99, "5.0%" → p5, "0.1%" → p01
        default: "p" + label.replacingOccurrences(of: "%", with: "").replacingOccurrences(of: ".0", with: "").replacingOccurrences(of: ".", with: "")
        }
    }

    static func row(_ s: KLStatistics) -> JSONValue {
        var f: [(String, JSONValue)] = [
            ("tokens", .int(s.count)),
            ("kl_mean", .double(s.meanKLD.value)), ("kl_mean_unc", .double(s.meanKLD.uncertainty)),
            ("kl_max", .double(s.maxKLD)),
        ]
        for (label, v) in s.kldPercentiles { f.append(("kl_" + key(label), .double(v))) }
        f.append(("kl_min", .double(s.minKLD)))
        f += [
            ("top1", .double(s.sameTop.value)), ("top1_unc", .double(s.sameTop.uncertainty)),
            ("top5_overlap", .double(s.top5Overlap)),
            ("max_abs_logit_diff", .double(s.maxAbsLogitDiff)),
            ("ppl_source", .double(s.pplSource.value)), ("ppl_source_unc", .double(s.pplSource.uncertainty)),
            ("ppl_candidate", .double(s.pplCandidate.value)), ("ppl_candidate_unc", .double(s.pplCandidate.uncertainty)),
            ("ppl_ratio", .double(s.pplRatio.value)), ("ppl_ratio_unc", .double(s.pplRatio.uncertainty)),
            ("ln_ppl_correlation", .double(s.lnPPLCorrelation)),
            ("p_diff_mean", .double(s.meanPDiff.value)), ("p_diff_mean_unc", .double(s.meanPDiff.uncertainty)),
            ("p_diff_rms", .double(s.rmsPDiff.value)), ("p_diff_rms_unc", .double(s.rmsPDiff.uncertainty)),
            ("p_diff_max", .double(s.maxPDiff)),
        ]
        for (label, v) in s.pDiffPercentiles { f.append(("p_diff_" + key(label), .double(v))) }
        f.append(("p_diff_min", .double(s.minPDiff)))
        return .object(f)
    }

    static func chat(_ c: ChatCheckResult) -> JSONValue {
        let div: JSONValue = c.firstDivergence.map { d in
            .object([("index", .int(d.index)),
                     ("source_token", .int(Int(d.sourceToken))), ("source_piece", .string(d.sourcePiece)),
                     ("source_probability", .double(d.sourceProbability)),
                     ("candidate_token", .int(Int(d.candidateToken))), ("candidate_piece", .string(d.candidatePiece)),
                     ("candidate_probability", .double(d.candidateProbability))])
        } ?? .null
        return .object([
            ("prompt", .string(c.prompt)),
            ("source_reply", c.sourceReply.map { .string($0) } ?? .null),
            ("candidate_reply", .string(c.candidateReply)),
            ("source_tokens", c.sourceTokens.map { .array($0.map { .int(Int($0)) }) } ?? .null),
            ("candidate_tokens", .array(c.candidateTokens.map { .int(Int($0)) })),
            ("identical_tokens", .bool(c.identicalTokens)),
            ("first_divergence", div),
        ])
    }
}
