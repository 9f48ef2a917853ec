import Foundation
import KilnCore
import Verify

/// Everything `verify` (and `convert --verify`) can be asked, independent of argument parsing.
public struct VerifyJobOptions: Sendable {
    public var verify = VerifyOptions()
    /// Overrides of the per-class default thresholds.
    public var maxKL: Double?
    public var minTop1: Double?
    public var maxRuntimeKL: Double?
    public var json = false

    public init() {}
}

/// The outcome: the report, the thresholds applied, and the failing metrics (empty when within).
public struct VerifyOutcome: Sendable {
    public var report: VerifyReport
    public var thresholds: Thresholds
    public var failures: [String]
    public var passed: Bool { failures.isEmpty }
}

/// `verify SOURCE CANDIDATE`: opens the source like every front end, runs `Verifier`, applies the thresholds.
public enum VerifyJob {
    public static func run(source path: String, candidate: String, options: VerifyJobOptions) throws -> VerifyOutcome {
        try run(source: try SourceOpener.open(path), candidate: candidate, options: options)
    }

    public static func run(source: any TensorSource, candidate: String, options o: VerifyJobOptions) throws -> VerifyOutcome {
        let report = try Verifier.run(source: source, candidatePath: candidate, options: o.verify)
        var t = Thresholds.defaults(for: report.candidateClass)
        if let v = o.maxKL { t.maxKL = v }
        if let v = o.minTop1 { t.minTop1 = v }
        if let v = o.maxRuntimeKL { t.maxRuntimeKL = v }
        return VerifyOutcome(report: report, thresholds: t, failures: failures(report, t))
    }

    /// Each threshold the report breaks, named by its option.
    static func failures(_ r: VerifyReport, _ t: Thresholds) -> [String] {
        var out: [String] = []
        func g(_ x: Double) -> String { String(format: "%.6g", x) }
        if !(r.weights.meanKLD.value <= t.maxKL) {
            out.append("weights mean KL \(g(r.weights.meanKLD.value)) exceeds --max-kl \(g(t.maxKL))")
        }
        if !(r.weights.sameTop.value >= t.minTop1) {
            out.append("weights top-1 agreement \(g(r.weights.sameTop.value)) is below --min-top1 \(g(t.minTop1))")
        }
        if !(r.runtime.meanKLD.value <= t.maxRuntimeKL) {
            out.append("runtime mean KL \(g(r.runtime.meanKLD.value)) exceeds --max-runtime-kl \(g(t.maxRuntimeKL))")
        }
        return out
    }

    /// What goes to stdout: the table, or the JSON document.
    public static func render(_ o: VerifyOutcome, json: Bool) -> String {
        json ? o.json.serialized() : o.text
    }
}
