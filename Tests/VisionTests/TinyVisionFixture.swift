import Foundation
import KilnCLI
import KilnCore
import KilnTestSupport

/// The tiny SigLIP-bearing fixture converted by Kiln exactly as the goldens scripts convert it
/// (`convert fixtures/gemma3/tiny-kaggle-vision -o tiny.gguf --name gemma3-tiny-vision`): a text GGUF and
/// `mmproj-tiny.gguf` beside it, in a temporary directory the caller removes with `cleanup()`.
struct TinyVisionFixture {
    let directory: String
    var text: String { directory + "/tiny.gguf" }
    var mmproj: String { directory + "/mmproj-tiny.gguf" }

    init() throws {
        directory = Fixtures.tempDirectory()
        var o = ConvertOptions(output: directory + "/tiny.gguf")
        o.progress = false
        o.modelName = "gemma3-tiny-vision"
        _ = try ConvertJob.run(input: Fixtures.path("gemma3/tiny-kaggle-vision"), options: o)
    }

    func cleanup() { Fixtures.cleanup(directory) }
}

/// Per-token agreement of two `[tokens][width]` embeddings.
struct EmbeddingAgreement: CustomStringConvertible {
    var minCosine = 1.0
    var maxAbsDelta: Float = 0
    var maxAbsReference: Float = 0

    init(_ got: [Float], _ want: [Float], width: Int) {
        precondition(got.count == want.count && want.count % width == 0)
        for t in 0 ..< want.count / width {
            var dot = 0.0, a = 0.0, b = 0.0
            for i in t * width ..< (t + 1) * width {
                dot += Double(got[i]) * Double(want[i])
                a += Double(got[i]) * Double(got[i])
                b += Double(want[i]) * Double(want[i])
                maxAbsDelta = max(maxAbsDelta, abs(got[i] - want[i]))
                maxAbsReference = max(maxAbsReference, abs(want[i]))
            }
            minCosine = min(minCosine, dot / (a * b).squareRoot())
        }
    }

    var description: String {
        "min per-token cosine \(minCosine), max |Δ| \(maxAbsDelta) (max |ref| \(maxAbsReference))"
    }
}
