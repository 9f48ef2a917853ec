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

    static let lock = NSLock()
    static let directory: String = Fixtures.tempDirectory()

    /// A few short prompts (the built-in set takes minutes in a debug build on a 400-token vocabulary).
    static let prompts: [Verify.PromptItem] = [
        .raw("The lighthouse stood at the end of a narrow spit of rock."),
        .chat([.init(role: "user", content: "Why does ice float?"), .init(role: "assistant", content: "Because ice is less dense than water.")]),
    ]
}
