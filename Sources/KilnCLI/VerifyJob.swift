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
    /// Images to encode with the source's vision tower and the candidate's mmproj (`--image`), that mmproj when not
    /// beside the candidate (`--mmproj`), and the smallest per-token cosine allowed (`--min-image-cosine`).
    public var images: [String] = []
    public var mmproj: String?
    public var minImageCosine = VerifyJobOptions.defaultMinImageCosine
    public var json = false
    /// The CheckpointManager step of the source (`--step`; nil: the newest committed one).
    public var sourceStep: Int?

    /// 1 − cosine of 1e-3: on the tiny vision fixture the F16 mmproj measures 1 − 7.5e-8 against its float32 source and
    /// a Q8_0 one 1 − 1.2e-6 (VisionTests' VerifyImageTests), so there is room for real towers and quantization while a
    /// broken tower (wrong layout, missing norm) falls orders of magnitude below.
    public static let defaultMinImageCosine = 0.999

    public init() {}
}

/// The outcome: the report, the thresholds applied, and the failing metrics (empty when within).
public struct VerifyOutcome: Sendable {
    public var report: VerifyReport
    public var thresholds: Thresholds
    /// `--image`: each image's soft tokens, candidate mmproj against the source's float32 tower, and the mmproj used.
    public var images: [ImageCheck.Result] = []
    /// `--image`: the image turns' KL statistics (source: its tower and float32 text model; candidate: its mmproj, then
    /// its float32 path and its runtime path).
    public var imageTurns: ImageTurns.Result?
    public var mmproj: String?
    public var minImageCosine = VerifyJobOptions.defaultMinImageCosine
    public var failures: [String]
    public var passed: Bool { failures.isEmpty }
}

/// `verify SOURCE CANDIDATE`: opens the source like every front end, runs `Verifier`, applies the thresholds.
public enum VerifyJob {
    public static func run(source path: String, candidate: String, options: VerifyJobOptions) throws -> VerifyOutcome {
        try run(source: try SourceOpener.open(path, step: options.sourceStep), candidate: candidate, options: options)
    }

    public static func run(source: any TensorSource, candidate: String, options o: VerifyJobOptions) throws -> VerifyOutcome {
        let report = try Verifier.run(source: source, candidatePath: candidate, options: o.verify)
        var t = Thresholds.defaults(for: report.candidateClass)
        if let v = o.maxKL { t.maxKL = v }
        if let v = o.minTop1 { t.minTop1 = v }
        if let v = o.maxRuntimeKL { t.maxRuntimeKL = v }
        var outcome = VerifyOutcome(report: report, thresholds: t, failures: failures(report, t))
        if !o.images.isEmpty {
            let mmproj = try MMProjLocator.require(model: candidate, explicit: o.mmproj)
            outcome.mmproj = mmproj
            outcome.minImageCosine = o.minImageCosine
            (outcome.images, outcome.imageTurns) = try ImageTurns.run(source: source, candidatePath: candidate, mmproj: mmproj,
                                                                      images: o.images, threads: o.verify.threads)
            if let turns = outcome.imageTurns {
                outcome.failures += failures(weightsKL: turns.weights.meanKLD.value, runtimeKL: turns.runtime.meanKLD.value, t, label: "image turns ")
            }
            for r in outcome.images where !(r.agreement.minCosine >= o.minImageCosine) {
                outcome.failures.append("image \(r.image): min per-token cosine \(String(format: "%.6g", r.agreement.minCosine)) "
                                        + "is below --min-image-cosine \(String(format: "%g", o.minImageCosine))")
            }
        }
        return outcome
    }

    /// Each threshold the report breaks, named by its option.
    static func failures(_ r: VerifyReport, _ t: Thresholds) -> [String] {
        func g(_ x: Double) -> String { String(format: "%.6g", x) }
        var out = failures(weightsKL: r.weights.meanKLD.value, runtimeKL: r.runtime.meanKLD.value, t, label: "")
        if !(r.weights.sameTop.value >= t.minTop1) {
            out.append("weights top-1 agreement \(g(r.weights.sameTop.value)) is below --min-top1 \(g(t.minTop1))")
        }
        return out
    }

    /// The mean-KL thresholds on a pair of rows (the text prompt set's, or with `label` "image turns " the image turns').
    static func failures(weightsKL: Double, runtimeKL: Double, _ t: Thresholds, label: String) -> [String] {
        var out: [String] = []
        func g(_ x: Double) -> String { String(format: "%.6g", x) }
        if !(weightsKL <= t.maxKL) { out.append("\(label)weights mean KL \(g(weightsKL)) exceeds --max-kl \(g(t.maxKL))") }
        if !(runtimeKL <= t.maxRuntimeKL) { out.append("\(label)runtime mean KL \(g(runtimeKL)) exceeds --max-runtime-kl \(g(t.maxRuntimeKL))") }
        return out
    }

    /// What goes to stdout: the table, or the JSON document.
    public static func render(_ o: VerifyOutcome, json: Bool) -> String {
        json ? o.json.serialized() : o.text
    }
}
