import Foundation
import KilnCore
import KilnTestSupport
import RefInference
import Testing

/// mtmd's Gemma 3 preprocessing (letterbox with Pillow's bilinear resampling, normalisation) against Pillow 13's own
/// `Image.resize(BILINEAR)` — the resampler mtmd's `resize_pillow` copies — placed as mtmd places it
/// (scripts/gen_vision_goldens.py). That the result is what libmtmd feeds its encoder is checked end to end by the
/// SigLIP embedding tests on the same images.
@Suite struct MtmdPreprocessingTests {
    @Test func letterboxMatchesPillow() throws {
        let doc = try #require(try Fixtures.json(ImageDecodingTests.goldens) as? [String: Any])
        let size = try #require(doc["image_size"] as? Int)
        var checked = 0
        for entry in try ImageDecodingTests.images() {
            guard let want = entry["pillow_preprocessed"] as? [String: Any] else { continue }
            let file = try #require(entry["file"] as? String)
            let image = try RGBImage.load(path: Fixtures.path(file))
            let p = MtmdPreprocessing.letterboxPlacement(width: image.width, height: image.height, size: size)
            #expect([p.width, p.height] == want["resized"] as? [Int] && [p.x, p.y] == want["offset"] as? [Int], "\(file): \(p)")
            let boxed = MtmdPreprocessing.letterbox(image, size: size)
            #expect(boxed.width == size && boxed.height == size)
            #expect(boxed.pixels.withUnsafeBytes { SHA256.hex($0) } == want["rgb_sha256"] as? String, "\(file): pixels differ from Pillow's")
            checked += 1
        }
        #expect(checked == 2)
    }

    /// An image of the model's size is used as is; values are `(v/255 − mean)/std` per channel, planar.
    @Test func normalisesPlanes() throws {
        let image = try RGBImage(width: 2, height: 1, pixels: [0, 128, 255, 10, 20, 30])
        let square = try RGBImage(width: 1, height: 1, pixels: [0, 128, 255])
        #expect(MtmdPreprocessing.letterbox(square, size: 1) == square)
        let x = MtmdPreprocessing.normalizedPlanes(image, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5])
        let want: [Float] = [0, 10, 128, 20, 255, 30].map { (Float($0) / 255 - 0.5) / 0.5 }
        #expect(x == want)
        #expect(x.allSatisfy { $0 >= -1 && $0 <= 1 })
    }

    /// Padding is black and the resized image sits at mtmd's offset: a 4×2 white image in an 8×8 square fills rows
    /// 2..<6 (offset (8 − 4)/2 = 2), and a 3×8 one columns 2..<5 ((8 − 3)/2 = 2, integer division).
    @Test func placementAndPadding() throws {
        let white = try RGBImage(width: 4, height: 2, pixels: [UInt8](repeating: 255, count: 24))
        let boxed = MtmdPreprocessing.letterbox(white, size: 8)
        for y in 0 ..< 8 {
            let row = boxed.pixels[(y * 8 * 3) ..< ((y + 1) * 8 * 3)]
            #expect(row.allSatisfy { $0 == ((2 ..< 6).contains(y) ? 255 : 0) }, "row \(y)")
        }
        let p = MtmdPreprocessing.letterboxPlacement(width: 3, height: 8, size: 8)
        #expect(p.width == 3 && p.height == 8 && p.x == 2 && p.y == 0)
    }
}
