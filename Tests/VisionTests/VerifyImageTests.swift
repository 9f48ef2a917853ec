import Foundation
import KilnCLI
import KilnCore
import KilnTestSupport
import Testing
import Verify

/// `verify SOURCE CANDIDATE --image FILE` on the tiny vision fixture: the source's float32 tower against the mmproj
/// Kiln wrote beside the candidate (found by name), F16 (the default) and Q8_0; and a threshold that fails names it.
@Suite struct VerifyImageTests {
    static func options(_ images: [String]) -> VerifyJobOptions {
        var o = VerifyJobOptions()
        o.verify.threads = 2
        o.verify.progress = false
        o.verify.prompts = .items([.raw("the capital of france is paris .")])
        o.verify.maxNewTokens = 2
        o.images = images
        return o
    }

    static func convert(_ type: String?, into dir: String) throws -> String {
        var o = ConvertOptions(output: dir + "/tiny.gguf")
        o.progress = false
        if let type { o.type = type }
        _ = try ConvertJob.run(input: Fixtures.path("gemma3/tiny-kaggle-vision"), options: o)
        return o.output
    }

    @Test(arguments: [nil, "q8_0"])
    func imageCheckPassesForF16AndQ8_0(type: String?) throws {
        let dir = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir) }
        let candidate = try Self.convert(type, into: dir)
        let images = ["gemma3/vision-wide.png", "gemma3/vision-tall-grey.png"].map(Fixtures.path)
        let out = try VerifyJob.run(source: Fixtures.path("gemma3/tiny-kaggle-vision"), candidate: candidate, options: Self.options(images))
        #expect(out.mmproj == dir + "/mmproj-tiny.gguf")
        #expect(out.images.count == 2)
        for i in out.images {
            print("verify --image \(type ?? "f16") \(i.image): \(i.agreement)")
            #expect(i.agreement.tokens == 256 && i.agreement.minCosine >= 0.999, "\(i.agreement)")
        }
        // The image turns: one per image, the answer's positions scored on both candidate paths.
        let turns = try #require(out.imageTurns)
        print("verify --image \(type ?? "f16") image turns: weights mean KL \(turns.weights.meanKLD.value), max \(turns.weights.maxKLD), "
              + "top-1 \(turns.weights.sameTop.value); runtime mean KL \(turns.runtime.meanKLD.value), max \(turns.runtime.maxKLD), "
              + "top-1 \(turns.runtime.sameTop.value), max |Δlogit| \(turns.runtime.maxAbsLogitDiff)")
        #expect(turns.turns == 2 && turns.weights.count == turns.runtime.count && turns.weights.count >= 20)
        #expect(out.passed, "\(out.failures)")
        #expect(out.text.contains("image check:") && out.text.contains("image cosine ≥ 0.999") && out.text.contains("image turns: 2"))
        let json = out.json.serialized()
        #expect(json.contains("\"min_image_cosine\": 0.999") && json.contains("\"image\": {"))

        var strict = Self.options(images)
        strict.minImageCosine = 1.000001
        strict.maxRuntimeKL = 1e-12  // the image turns' runtime row is held to the same threshold as the text rows
        let failed = try VerifyJob.run(source: Fixtures.path("gemma3/tiny-kaggle-vision"), candidate: candidate, options: strict)
        #expect(!failed.passed && failed.failures.contains { $0.contains("--min-image-cosine") })
        #expect(failed.failures.contains { $0.hasPrefix("image turns runtime mean KL") && $0.contains("--max-runtime-kl") }, "\(failed.failures)")
    }

    /// A source without a vision tower cannot check images.
    @Test func sourceWithoutVisionTower() throws {
        let dir = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir) }
        _ = try Self.convert(nil, into: dir)
        let textOnly = try SourceOpener.open(Fixtures.path("gemma3/tiny-kaggle"))
        do {
            _ = try ImageCheck.run(source: textOnly, mmproj: dir + "/mmproj-tiny.gguf", images: [Fixtures.path("gemma3/vision-small.png")], threads: 1)
            Issue.record("a text-only source checked images")
        } catch let e as KilnError {
            #expect(e.kind == .notFound && e.message.contains("vision tower"), "\(e)")
        }
    }
}
