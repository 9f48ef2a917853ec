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

