import Foundation
import KilnCLI
import KilnCore
import KilnTestSupport
import Testing

/// The mmproj files whose image embeddings llama.cpp's libmtmd recorded (scripts/gen_mmproj_goldens.py,
/// fixtures/gemma3/mmproj-goldens.json): Kiln must still write exactly those bytes, so the recorded embeddings — which
/// the goldens script compared with an independent NumPy SigLIP + projector forward pass — describe Kiln's output.
/// This is a regression lock on the bytes; the evidence that the embeddings are right is in the goldens script, and
/// Kiln's own SigLIP is compared with these embeddings in VisionTests' SigLIPGoldenTests.
@Suite struct MMProjGoldenTests {
    static let goldens = "gemma3/mmproj-goldens.json"

    @Test func mmprojBytesAreTheOnesLibmtmdEncoded() throws {
        let doc = try #require(try Fixtures.json(Self.goldens) as? [String: Any])
        let fixtures = try #require(doc["fixtures"] as? [[String: Any]])
        #expect(fixtures.count == 2)
        for f in fixtures {
            let fixture = try #require(f["fixture"] as? String)
            let dir = Fixtures.tempDirectory()
            defer { Fixtures.cleanup(dir) }
            var o = ConvertOptions(output: dir + "/tiny.gguf")
            o.progress = false
            o.modelName = "gemma3-tiny-vision"  // the script's `--name`
            _ = try ConvertJob.run(input: Fixtures.path(fixture), options: o)
            let mmproj = dir + "/mmproj-tiny.gguf"
            #expect(try SHA256.hex(ofFile: mmproj) == f["mmproj_sha256"] as? String, "\(fixture): the mmproj libmtmd encoded")
            #expect(try SHA256.hex(ofFile: o.output) == f["text_sha256"] as? String, "\(fixture): the text model libmtmd ran with")
            #expect((f["vs_numpy_siglip"] as? [String: Any])?["ok"] as? Bool == true, "\(fixture): libmtmd agreed with the NumPy SigLIP")
        }
    }

    /// The committed goldens are the ones the script wrote: the image and embedding files belong to the JSON.
    @Test func goldenFilesAreConsistent() throws {
        let doc = try #require(try Fixtures.json(Self.goldens) as? [String: Any])
        let image = try #require(doc["image"] as? [String: Any])
        #expect(try SHA256.hex(ofFile: Fixtures.path(try #require(image["file"] as? String))) == image["sha256"] as? String)
        for f in try #require(doc["fixtures"] as? [[String: Any]]) {
            let e = try #require(f["embeddings"] as? [String: Any])
            let shape = try #require(e["shape"] as? [Int])
            let npy = try NpyFile(path: Fixtures.path(try #require(e["file"] as? String)))
            #expect(npy.shape == shape)
            let values = npy.floats
            let mean = values.reduce(0.0) { $0 + Double($1) } / Double(values.count)
            // The JSON holds float64 statistics of the same float32 values: equal up to summation order.
            #expect(abs(mean - (e["mean"] as? Double ?? .nan)) <= 1e-6 * max(1, abs(mean)))
            #expect(Double(values.min() ?? .nan) == e["min"] as? Double)
            #expect(Double(values.max() ?? .nan) == e["max"] as? Double)
        }
    }
}
