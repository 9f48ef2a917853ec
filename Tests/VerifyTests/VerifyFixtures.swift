import Foundation
import KilnCLI
import KilnTestSupport
import Verify

/// Tiny Gemma 3 GGUFs converted from the committed fixtures, once per test process.
enum TinyModels {
    /// `fixtures/gemma3/tiny-kaggle` converted with `type` ("auto" is lossless Q4_0) into a shared temp directory.
    static func converted(_ fixture: String = "tiny-kaggle", type: String = "auto") throws -> String {
        lock.lock()
        defer { lock.unlock() }
        let path = directory + "/\(fixture)-\(type).gguf"
        if FileManager.default.fileExists(atPath: path) { return path }
        var o = ConvertOptions(output: path)
        o.type = type
        o.progress = false
        o.threads = 2
        _ = try ConvertJob.run(input: Fixtures.path("gemma3/" + fixture), options: o)
        return path
    }

    /// `source` converted with `type` into a temp directory, then verified against it on the tiny prompts (as
    /// FineTuneVerifyTests and Gemma2VerifyTests do); prints the figures the tests bound.
    static func convertAndVerify(_ source: String, type: String = "auto", label: String) throws -> VerifyOutcome {
        let dir = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir) }
        var c = ConvertOptions(output: dir + "/candidate.gguf")
        c.progress = false
        c.threads = 2
        c.type = type
        _ = try ConvertJob.run(input: source, options: c)
        var o = VerifyJobOptions()
        o.verify.threads = 2
        o.verify.progress = false
        o.verify.prompts = .items(prompts)
        o.verify.maxNewTokens = 6
        let out = try VerifyJob.run(source: source, candidate: c.output, options: o)
        print("[\(label)] weights mean KL \(out.report.weights.meanKLD.value), top-1 \(out.report.weights.sameTop.value), "
            + "runtime mean KL \(out.report.runtime.meanKLD.value), class \(out.report.candidateClass)")
        return out
    }

    static let lock = NSLock()
    static let directory: String = Fixtures.tempDirectory()

    /// A few short prompts (the built-in set takes minutes in a debug build on a 400-token vocabulary).
    static let prompts: [Verify.PromptItem] = [
        .raw("The lighthouse stood at the end of a narrow spit of rock."),
        .chat([.init(role: "user", content: "Why does ice float?"), .init(role: "assistant", content: "Because ice is less dense than water.")]),
    ]
}
